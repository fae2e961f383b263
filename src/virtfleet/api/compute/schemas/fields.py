"""Schema fragments for the Compute API's field kinds, with the handlers' messages."""

from __future__ import annotations

from typing import Any

#: Upper bound of an integer field without one of its own (a signed 64-bit column).
INT64_MAX = 2**63 - 1
#: Nova's bound for flavor sizes (ram, vcpus, disk, ephemeral, swap).
MAX_INT = 2**31 - 1
#: A flavor id or extra spec key: 1-255 letters, digits, '_', '-', '.', ':', spaces.
SPEC_KEY_PATTERN = r"^[\w.:\- ]{1,255}\Z"
BOOLEAN_STRING = r"(?i)^(true|false|1|0|yes|no)\Z"


def invalid(name: str, expected: str) -> str:
    """Nova's message for a refused value of ``name`` (formatted with ``value``)."""
    return f"Invalid input for field/attribute {name}. Value: {{value!r}}. {expected}"


def integer(name: str, minimum: int, maximum: int = INT64_MAX, *, null: bool = False) -> Any:
    """An integer (or a decimal string, converted by the handler) in range."""
    bound = invalid(name, f"Expected an integer in {minimum}..{maximum}.")
    return {
        "type": ["integer", "string", "null"] if null else ["integer", "string"],
        "minimum": minimum,
        "maximum": maximum,
        "x-messages": {
            "type": invalid(name, "Expected an integer."),
            "minimum": bound,
            "maximum": bound,
        },
    }


def string(name: str, max_length: int = 255, *, allow_empty: bool = False) -> Any:
    """A string (non-blank unless ``allow_empty``) of at most ``max_length`` characters."""
    not_string = invalid(name, "Expected a non-empty string.")
    schema: dict[str, Any] = {
        "type": "string",
        "maxLength": max_length,
        "x-messages": {
            "type": not_string,
            "pattern": not_string,
            "maxLength": (
                f"Invalid input for field/attribute {name}: longer than {max_length} characters."
            ),
        },
    }
    if not allow_empty:
        schema["pattern"] = r"\S"
    return schema


def nullable(schema: Any) -> Any:
    """``schema``, or null."""
    types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    return {**schema, "type": [*types, "null"]}


def boolean(name: str) -> Any:
    """A boolean, or one of the strings true/false/1/0/yes/no (any case)."""
    message = invalid(name, "Expected a boolean.")
    return {
        "type": ["boolean", "string"],
        "pattern": BOOLEAN_STRING,
        "x-messages": {"type": message, "pattern": message},
    }


def wrapped(root: str, inner: Any) -> Any:
    """``{root: inner}``: a body that must be an object with a ``root`` object."""
    message = f"Invalid input: the body must be an object with a '{root}' object."
    return {
        "type": "object",
        "required": [root],
        "properties": {root: {**inner, "x-messages": {"type": message, **inner["x-messages"]}}},
        "x-messages": {"type": message, "required": message},
    }


def unknown_message(name: str) -> str:
    """The message for properties of ``name`` that are not allowed."""
    return (
        f"Invalid input for {name}: additional properties are not allowed ({{names}} unexpected)."
    )


def required_string(name: str) -> Any:
    """``name`` must be present (its message: the value None is not a string)."""
    return {
        "required": [name],
        "x-messages": {
            "required": invalid(name, "Expected a non-empty string.").format(value=None)
        },
    }
