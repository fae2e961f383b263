"""Checks of single field values in Compute API requests (integers in range, strings,
booleans, references): a 400 naming the field and the value otherwise."""

from __future__ import annotations

from typing import Any

from virtfleet.api.wsgi import HTTPError

#: Upper bound of an integer field without one of its own (a signed 64-bit column).
INT64_MAX = 2**63 - 1
#: Nova's bound for flavor sizes (ram, vcpus, disk, ephemeral, swap).
MAX_INT = 2**31 - 1


def integer(name: str, value: Any, minimum: int, maximum: int | None = None) -> int:
    """An integer (or decimal string) in range; 400 naming the field otherwise.
    Without ``maximum`` the bound is :data:`INT64_MAX` (what the database holds)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise HTTPError(
            400, f"Invalid input for field/attribute {name}. Value: {value!r}. Expected an integer."
        )
    try:
        number = int(value)
    except ValueError:
        raise HTTPError(
            400, f"Invalid input for field/attribute {name}. Value: {value!r}. Expected an integer."
        ) from None
    if number < minimum or number > (INT64_MAX if maximum is None else maximum):
        bound = f"in {minimum}..{INT64_MAX if maximum is None else maximum}"
        raise HTTPError(
            400,
            f"Invalid input for field/attribute {name}. Value: {value!r}. "
            f"Expected an integer {bound}.",
        )
    return number


def string(name: str, value: Any, max_length: int = 255, allow_empty: bool = False) -> str:
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        raise HTTPError(
            400,
            f"Invalid input for field/attribute {name}. Value: {value!r}. "
            "Expected a non-empty string.",
        )
    if len(value) > max_length:
        raise HTTPError(
            400, f"Invalid input for field/attribute {name}: longer than {max_length} characters."
        )
    return value


def boolean(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.lower() in ("true", "1", "yes")
    raise HTTPError(
        400, f"Invalid input for field/attribute {name}. Value: {value!r}. Expected a boolean."
    )


def ref_id(value: str) -> str:
    """The id at the end of a reference that may be a URL (flavorRef, imageRef)."""
    return value.rstrip("/").rsplit("/", 1)[-1]
