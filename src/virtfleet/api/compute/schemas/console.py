"""Schemas of the console requests: ``POST /servers/{id}/remote-consoles`` (2.6+) and
the older ``os-getVNCConsole`` / ``os-getSerialConsole`` actions, and
``changePassword``."""

from __future__ import annotations

from typing import Any

from virtfleet.api.compute.schemas import Versioned
from virtfleet.api.compute.schemas.fields import unknown_message, wrapped

#: The protocols and types Nova's API knows (2.6; mks/webmks from 2.8). virtfleet
#: serves vnc/novnc and serial/serial; the others are valid input it answers 400 to.
PROTOCOLS_V2_6 = ("vnc", "spice", "rdp", "serial")
PROTOCOLS_V2_8 = (*PROTOCOLS_V2_6, "mks")
TYPES_V2_6 = ("novnc", "xvpvnc", "rdp-html5", "spice-html5", "serial")
TYPES_V2_8 = (*TYPES_V2_6, "webmks")


def _enum(name: str, values: tuple[str, ...]) -> dict[str, Any]:
    message = f"Invalid input for field/attribute {name}. Value: {{value!r}}. " + (
        f"It must be one of: {', '.join(values)}."
    )
    return {
        "type": "string",
        "enum": list(values),
        "x-messages": {"type": message, "enum": message},
    }


def _remote_console(protocols: tuple[str, ...], types: tuple[str, ...]) -> dict[str, Any]:
    required = "Invalid input for remote_console: {names} is a required property."
    body: dict[str, Any] = wrapped(
        "remote_console",
        {
            "type": "object",
            "required": ["protocol", "type"],
            "additionalProperties": False,
            "properties": {"protocol": _enum("protocol", protocols), "type": _enum("type", types)},
            "x-messages": {
                "required": required,
                "additionalProperties": unknown_message("remote_console"),
            },
        },
    )
    return body


REMOTE_CONSOLE_V2_6 = _remote_console(PROTOCOLS_V2_6, TYPES_V2_6)
REMOTE_CONSOLE_V2_8 = _remote_console(PROTOCOLS_V2_8, TYPES_V2_8)
REMOTE_CONSOLE: Versioned = (("2.8", REMOTE_CONSOLE_V2_8), ("2.6", REMOTE_CONSOLE_V2_6))


def _action(action: str, types: tuple[str, ...]) -> dict[str, Any]:
    no_type = f"Invalid input for {action}: type is a required property."
    return {
        "type": "object",
        "required": ["type"],
        "additionalProperties": False,
        "properties": {"type": _enum("type", types)},
        "x-messages": {
            "type": f"Invalid input for {action}: expected an object.",
            "required": no_type,
            "additionalProperties": unknown_message(action),
        },
    }


VNC_CONSOLE_V2_1 = _action("os-getVNCConsole", ("novnc", "xvpvnc"))
VNC_CONSOLE: Versioned = (("2.1", VNC_CONSOLE_V2_1),)
SERIAL_CONSOLE_V2_1 = _action("os-getSerialConsole", ("serial",))
SERIAL_CONSOLE: Versioned = (("2.1", SERIAL_CONSOLE_V2_1),)

_NOT_A_STRING = "Invalid input for changePassword: adminPass must be a string."
CHANGE_PASSWORD_V2_1: dict[str, Any] = {
    "type": "object",
    "required": ["adminPass"],
    "additionalProperties": False,
    "properties": {
        "adminPass": {
            "type": "string",
            "maxLength": 255,
            "x-messages": {
                "type": _NOT_A_STRING,
                "maxLength": "Invalid input for changePassword: adminPass is longer than "
                "255 characters.",
            },
        }
    },
    "x-messages": {
        "type": "Invalid input for changePassword: expected an object.",
        "required": "Invalid input for changePassword: adminPass is a required property.",
        "additionalProperties": unknown_message("changePassword"),
    },
}
CHANGE_PASSWORD: Versioned = (("2.1", CHANGE_PASSWORD_V2_1),)
