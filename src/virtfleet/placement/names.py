"""Trait and resource class names: standard sets and validators."""

from __future__ import annotations

import re

import os_resource_classes
import os_traits

from virtfleet.placement.exceptions import InvalidInput

CUSTOM_PREFIX = "CUSTOM_"
_CUSTOM_NAME = re.compile(r"^CUSTOM_[A-Z0-9_]+$")
MAX_NAME_LENGTH = 255

STANDARD_TRAITS: frozenset[str] = frozenset(os_traits.get_traits())
STANDARD_RESOURCE_CLASSES: tuple[str, ...] = tuple(os_resource_classes.STANDARDS)
_STANDARD_RC_SET = frozenset(STANDARD_RESOURCE_CLASSES)


def is_custom(name: str) -> bool:
    return name.startswith(CUSTOM_PREFIX)


def is_standard_trait(name: str) -> bool:
    return name in STANDARD_TRAITS


def is_standard_resource_class(name: str) -> bool:
    return name in _STANDARD_RC_SET


def validate_custom_name(name: str, what: str) -> str:
    """``name`` must be ``CUSTOM_`` + upper-case letters, digits and underscores."""
    if not _CUSTOM_NAME.match(name) or len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(
            f"Invalid {what} name {name!r}: a custom {what} must match "
            "'^CUSTOM_[A-Z0-9_]+$' (at most 255 characters)"
        )
    return name


def validate_trait_syntax(name: str) -> str:
    """A name that could be a trait (standard, or well-formed custom)."""
    if is_standard_trait(name):
        return name
    if is_custom(name):
        return validate_custom_name(name, "trait")
    raise InvalidInput(f"Invalid trait name {name!r}: not a standard trait and not CUSTOM_*")


def validate_resource_class_syntax(name: str) -> str:
    """A name that could be a resource class (standard, or well-formed custom)."""
    if is_standard_resource_class(name):
        return name
    if is_custom(name):
        return validate_custom_name(name, "resource class")
    raise InvalidInput(
        f"Invalid resource class name {name!r}: not a standard class and not CUSTOM_*"
    )
