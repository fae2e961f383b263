"""Schemas for ``POST /servers/{id}/action``: the envelope and each action's argument."""

from __future__ import annotations

import copy
from typing import Any

from virtfleet.api.compute.schemas import Versioned, console, server_rebuild, shelve
from virtfleet.api.compute.schemas.fields import (
    BOOLEAN_STRING,
    boolean,
    integer,
    nullable,
    string,
    unknown_message,
)

_ONE_ACTION = "Invalid action body: expected an object with exactly one action name as its key."
# The envelope: one action name (the dispatcher answers for names it does not know).
ACTION_V2_1: dict[str, Any] = {
    "type": "object",
    "minProperties": 1,
    "maxProperties": 1,
    "x-messages": {"type": _ONE_ACTION, "minProperties": _ONE_ACTION, "maxProperties": _ONE_ACTION},
}
ACTION: Versioned = (("2.1", ACTION_V2_1),)

# os-stop, os-start: the argument (null in Nova's clients) is not looked at.
STOP_V2_1: dict[str, Any] = {}
STOP: Versioned = (("2.1", STOP_V2_1),)
START_V2_1: dict[str, Any] = {}
START: Versioned = (("2.1", START_V2_1),)

_REBOOT_TYPE = "Invalid input for reboot: type {value!r} must be HARD or SOFT."
_NO_REBOOT_TYPE = "Invalid input for reboot: type None must be HARD or SOFT."
REBOOT_V2_1: dict[str, Any] = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {
            "type": "string",
            "pattern": "(?i)^(HARD|SOFT)\\Z",
            "x-messages": {"type": _REBOOT_TYPE, "pattern": _REBOOT_TYPE},
        }
    },
    "x-messages": {"type": _NO_REBOOT_TYPE, "required": _NO_REBOOT_TYPE},
}
REBOOT: Versioned = (("2.1", REBOOT_V2_1),)

CONSOLE_OUTPUT_V2_1: dict[str, Any] = {
    "type": ["object", "null"],
    "properties": {"length": integer("length", -1, null=True)},
    "x-messages": {"type": "Invalid input for os-getConsoleOutput: expected an object."},
}
CONSOLE_OUTPUT: Versioned = (("2.1", CONSOLE_OUTPUT_V2_1),)

_MIGRATE = "os-migrateLive"
_AUTO_TOO_EARLY = (
    "Invalid input for field/attribute block_migration: 'auto' needs microversion 2.25 or later."
)


def _required(name: str) -> dict[str, Any]:
    return {
        "required": [name],
        "x-messages": {
            "required": f"Invalid input for {_MIGRATE}: {{names}} is a required property."
        },
    }


# 2.1: host (null: the scheduler picks), block_migration, disk_over_commit (ignored).
MIGRATE_LIVE_V2_1: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "allOf": [_required("host"), _required("block_migration")],
    "properties": {
        "host": nullable(string("host")),
        "block_migration": {
            "allOf": [
                {
                    "not": {"type": "string", "pattern": "(?i)^auto\\Z"},
                    "x-messages": {"not": _AUTO_TOO_EARLY},
                },
                boolean("block_migration"),
            ]
        },
        "disk_over_commit": {},
    },
    "x-messages": {
        "type": f"Invalid input for {_MIGRATE}: expected an object.",
        "additionalProperties": unknown_message(_MIGRATE),
    },
}

# 2.25: block_migration may be "auto" (exactly); disk_over_commit is gone.
MIGRATE_LIVE_V2_25 = copy.deepcopy(MIGRATE_LIVE_V2_1)
del MIGRATE_LIVE_V2_25["properties"]["disk_over_commit"]
_BLOCK = MIGRATE_LIVE_V2_25["properties"]["block_migration"]["allOf"]
_BLOCK[0]["not"]["not"] = {"enum": ["auto"]}
_BLOCK[1]["pattern"] = f"{BOOLEAN_STRING}|^auto\\Z"

# 2.30: force (needs a host: the handler checks that pair).
MIGRATE_LIVE_V2_30 = copy.deepcopy(MIGRATE_LIVE_V2_25)
MIGRATE_LIVE_V2_30["properties"]["force"] = boolean("force")

# 2.68: force is gone again (forced live migration is no longer offered).
MIGRATE_LIVE_V2_68 = copy.deepcopy(MIGRATE_LIVE_V2_25)

MIGRATE_LIVE: Versioned = (
    ("2.68", MIGRATE_LIVE_V2_68),
    ("2.30", MIGRATE_LIVE_V2_30),
    ("2.25", MIGRATE_LIVE_V2_25),
    ("2.1", MIGRATE_LIVE_V2_1),
)

# POST /servers/{id}/migrations/{mid}/action (2.22): {"force_complete": null}.
_FORCE_COMPLETE = 'Invalid input: the body must be {{"force_complete": null}}.'
FORCE_COMPLETE_V2_22: dict[str, Any] = {
    "type": "object",
    "required": ["force_complete"],
    "properties": {"force_complete": {}},
    "additionalProperties": False,
    "x-messages": {
        "type": _FORCE_COMPLETE,
        "required": _FORCE_COMPLETE,
        "additionalProperties": _FORCE_COMPLETE,
    },
}
FORCE_COMPLETE: Versioned = (("2.22", FORCE_COMPLETE_V2_22),)

# pause, unpause, suspend, resume, unlock, shelve, shelveOffload: the
# argument (null in Nova's clients) is not looked at.
NO_ARGUMENT: Versioned = (("2.1", {}),)

# lock: 2.73 adds an optional locked_reason.
_LOCK = "Invalid input for lock: expected null or an object."
LOCK_V2_73: dict[str, Any] = {
    "type": ["object", "null"],
    "properties": {"locked_reason": string("locked_reason", 255)},
    "additionalProperties": False,
    "x-messages": {"type": _LOCK, "additionalProperties": unknown_message("lock")},
}
LOCK: Versioned = (("2.73", LOCK_V2_73), ("2.1", {}))

# createImage: a name and optional metadata (string values).
_CREATE_IMAGE = "Invalid input for createImage: expected an object with a 'name'."
CREATE_IMAGE_V2_1: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": string("name", 255),
        "metadata": {
            "type": "object",
            "additionalProperties": {
                "type": "string",
                "maxLength": 255,
                "x-messages": {"type": "Invalid input for metadata: values must be strings."},
            },
            "x-messages": {"type": "Invalid input for metadata: expected an object."},
        },
    },
    "additionalProperties": False,
    "x-messages": {
        "type": _CREATE_IMAGE,
        "required": _CREATE_IMAGE,
        "additionalProperties": unknown_message("createImage"),
    },
}
CREATE_IMAGE: Versioned = (("2.1", CREATE_IMAGE_V2_1),)

# migrate: null (2.1), or an object with an optional host (2.56).
_MIGRATE_COLD = "Invalid input for migrate: expected null or an object with a 'host'."
MIGRATE_V2_56: dict[str, Any] = {
    "type": ["object", "null"],
    "properties": {"host": nullable(string("host", 255))},
    "additionalProperties": False,
    "x-messages": {"type": _MIGRATE_COLD, "additionalProperties": unknown_message("migrate")},
}
MIGRATE_V2_1: dict[str, Any] = {
    "type": ["object", "null"],
    "x-messages": {"type": _MIGRATE_COLD},
}
MIGRATE: Versioned = (("2.56", MIGRATE_V2_56), ("2.1", MIGRATE_V2_1))

# resize: the new flavor (OS-DCF:diskConfig accepted as Nova's clients send it).
_RESIZE = "Invalid input for resize: expected an object with a 'flavorRef'."
RESIZE_V2_1: dict[str, Any] = {
    "type": "object",
    "required": ["flavorRef"],
    "properties": {
        "flavorRef": {
            "type": ["string", "integer"],
            "minLength": 1,
            "x-messages": {
                "type": "Invalid input for field/attribute flavorRef: expected a string.",
                "minLength": "Invalid input for field/attribute flavorRef: empty.",
            },
        },
        "OS-DCF:diskConfig": {
            "type": "string",
            "enum": ["AUTO", "MANUAL"],
            "x-messages": {
                "type": "Invalid input for OS-DCF:diskConfig: AUTO or MANUAL.",
                "enum": "Invalid input for OS-DCF:diskConfig: AUTO or MANUAL.",
            },
        },
    },
    "additionalProperties": False,
    "x-messages": {
        "type": _RESIZE,
        "required": _RESIZE,
        "additionalProperties": unknown_message("resize"),
    },
}
RESIZE: Versioned = (("2.1", RESIZE_V2_1),)

# rescue: null, or an object with an optional adminPass and rescue_image_ref.
_RESCUE = "Invalid input for rescue: expected null or an object."
RESCUE_V2_1: dict[str, Any] = {
    "type": ["object", "null"],
    "properties": {
        "adminPass": string("adminPass", 255),
        "rescue_image_ref": string("rescue_image_ref", 255),
    },
    "additionalProperties": False,
    "x-messages": {"type": _RESCUE, "additionalProperties": unknown_message("rescue")},
}
RESCUE: Versioned = (("2.1", RESCUE_V2_1),)

# unrescue: null (as Nova's clients send it) or an empty object.
_UNRESCUE = "Invalid input for unrescue: expected null."
UNRESCUE_V2_1: dict[str, Any] = {
    "type": ["object", "null"],
    "additionalProperties": False,
    "x-messages": {"type": _UNRESCUE, "additionalProperties": unknown_message("unrescue")},
}
UNRESCUE: Versioned = (("2.1", UNRESCUE_V2_1),)

#: Each server action's argument schemas, by the action's body key.
ACTIONS: dict[str, Versioned] = {
    "os-stop": STOP,
    "os-start": START,
    "reboot": REBOOT,
    "os-getConsoleOutput": CONSOLE_OUTPUT,
    "os-migrateLive": MIGRATE_LIVE,
    "os-getVNCConsole": console.VNC_CONSOLE,
    "os-getSerialConsole": console.SERIAL_CONSOLE,
    "pause": NO_ARGUMENT,
    "unpause": NO_ARGUMENT,
    "suspend": NO_ARGUMENT,
    "resume": NO_ARGUMENT,
    "lock": LOCK,
    "unlock": NO_ARGUMENT,
    "createImage": CREATE_IMAGE,
    "changePassword": console.CHANGE_PASSWORD,
    "migrate": MIGRATE,
    "resize": RESIZE,
    "confirmResize": NO_ARGUMENT,
    "revertResize": NO_ARGUMENT,
    "evacuate": server_rebuild.EVACUATE,
    "rebuild": server_rebuild.REBUILD,
    "shelve": NO_ARGUMENT,
    "shelveOffload": NO_ARGUMENT,
    "unshelve": shelve.UNSHELVE,
    "rescue": RESCUE,
    "unrescue": UNRESCUE,
}
