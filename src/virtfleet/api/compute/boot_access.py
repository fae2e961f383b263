"""What a boot gives the guest to get in, checked when the Compute API accepts it:
the key pair (``key_name``), the user data (``user_data``, base64), the hostname
(``hostname`` from 2.90, else derived from the name), the config drive
(``config_drive``) and the admin password (``adminPass``, generated when not given).

Every refusal is a 400 naming the field and what is wrong with it.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import string
from dataclasses import dataclass
from typing import Any

from virtfleet import errors
from virtfleet.api.compute import access, field_checks
from virtfleet.api.compute.versions import at_least
from virtfleet.api.wsgi import HTTPError, Request
from virtfleet.db import keypairs
from virtfleet.db.engine import Database
from virtfleet.db.servers import GuestAccess

#: Nova's limit: the base64 text of ``user_data`` may have at most this many characters.
MAX_USER_DATA = 65535
HOSTNAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\Z")
MAX_HOSTNAME = 63
#: The longest fully qualified hostname (2.94).
MAX_FQDN = 255
PASSWORD_LENGTH = 12
_PASSWORD_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class BootAccess:
    """The checked guest-access fields of one boot."""

    access: GuestAccess
    config_drive: bool
    admin_pass: str


def boot_access(db: Database, req: Request, body: dict[str, Any]) -> BootAccess:
    """The guest-access fields of the server create ``body``; 400 naming the field."""
    key_name, key_data = _key(db, req, body.get("key_name"))
    access = GuestAccess(
        key_name=key_name,
        key_data=key_data,
        user_data=_user_data(body.get("user_data")),
        hostname=_hostname(req, body.get("hostname"), body["name"]),
    )
    return BootAccess(
        access=access,
        config_drive=_config_drive(body.get("config_drive")),
        admin_pass=_admin_pass(body.get("adminPass")),
    )


def _key(db: Database, req: Request, name: Any) -> tuple[str | None, str | None]:
    if name is None:
        return None, None
    user = access.user_id(req)
    try:
        found = keypairs.get(db, user, name)
    except errors.NotFound:
        raise HTTPError(
            400, f"Invalid key_name provided: user {user} has no key pair named {name!r}."
        ) from None
    return found.name, found.public_key


def _user_data(value: Any) -> str | None:
    """The user data as given (base64 text), checked: at most :data:`MAX_USER_DATA`
    characters that decode as base64."""
    if value is None or value == "":
        return None
    if len(value) > MAX_USER_DATA:
        raise HTTPError(
            400,
            f"Invalid input for field/attribute user_data: {len(value)} characters of base64; "
            f"at most {MAX_USER_DATA} are allowed.",
        )
    try:
        base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeError):
        raise HTTPError(
            400,
            "Invalid input for field/attribute user_data: it is not valid base64 "
            "(user data must be base64-encoded, e.g. openstack server create --user-data "
            "encodes the file for you).",
        ) from None
    return str(value)


def decoded_user_data(access: GuestAccess) -> bytes | None:
    """The user data's bytes (checked at boot)."""
    return None if access.user_data is None else base64.b64decode(access.user_data)


def _hostname(req: Request, value: Any, name: str) -> str:
    if value is None or value == "":
        return sanitize_hostname(name)
    return checked_hostname(req, value)


def checked_hostname(req: Request, value: Any) -> str:
    """A ``hostname`` given at create or update (2.90): one label of at most 63
    letters, digits and '-'; from 2.94 a fully qualified name (labels joined by '.',
    at most 255 characters)."""
    if not at_least(req, "2.90"):
        raise HTTPError(400, "hostname needs microversion 2.90 or later.")
    fqdn = at_least(req, "2.94")
    text = value if isinstance(value, str) else ""
    labels = text.split(".") if fqdn else [text]
    if not (text and len(text) <= MAX_FQDN and all(HOSTNAME.match(label) for label in labels)):
        expected = (
            f"a name of at most {MAX_FQDN} characters: labels of 1 to {MAX_HOSTNAME} letters, "
            "digits and '-' joined by '.'"
            if fqdn
            else f"1 to {MAX_HOSTNAME} letters, digits and '-'"
        )
        raise HTTPError(
            400,
            f"Invalid input for field/attribute hostname. Value: {value!r}. Expected "
            f"{expected}, not starting or ending with '-'.",
        )
    return text


def sanitize_hostname(name: str) -> str:
    """A hostname made from a server name, as Nova makes it: lowercase, spaces and
    '_' as '-', other characters dropped, at most 63, no leading or trailing '-' or
    '.'; 'server' when nothing is left."""
    lowered = name.lower().replace(" ", "-").replace("_", "-")
    kept = re.sub(r"[^a-z0-9.-]", "", lowered)
    kept = kept[:MAX_HOSTNAME].strip(".-")
    return kept or "server"


def _config_drive(value: Any) -> bool:
    if value in (None, ""):
        return False
    return field_checks.boolean("config_drive", value)


def _admin_pass(value: Any) -> str:
    if value is None or value == "":
        return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))
    return field_checks.string("adminPass", value, allow_empty=False)


# The checks a rebuild shares with a boot (same fields, same 400s).
def checked_key(db: Database, req: Request, name: Any) -> tuple[str | None, str | None]:
    """The caller's key pair ``name`` (name, public key); (None, None) for None."""
    return _key(db, req, name)


def checked_user_data(value: Any) -> str | None:
    """The user data as given (base64 text), checked as a boot checks it."""
    return _user_data(value)


def checked_admin_pass(value: Any) -> str:
    """The admin password given, or a generated one."""
    return _admin_pass(value)
