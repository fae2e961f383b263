"""The contract between a host's metadata proxy and the metadata service: which
instance a request to 169.254.169.254 comes from, and the proof of it.

The proxy (on the guest's network, ``agent/network/metadata_proxy.py``) knows the
guest by the port the request came from (its network and source address) and adds, as
Neutron's metadata proxy does:

- ``X-Instance-ID``: the server's uuid (the port's device id);
- ``X-Tenant-ID``: the server's project id;
- ``X-Instance-ID-Signature``: HMAC-SHA256 of the instance id under
  ``[metadata] shared_secret``, as lowercase hex;
- ``X-Forwarded-For``: the guest's address on that network.

Whatever the guest sent under these names is dropped first (:func:`strip`). The
service (:func:`identify`) trusts the instance id only when the signature matches; a
missing header, an empty secret or a wrong signature is :class:`NotIdentified`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from virtfleet import errors

INSTANCE_ID = "X-Instance-ID"
TENANT_ID = "X-Tenant-ID"
SIGNATURE = "X-Instance-ID-Signature"
FORWARDED_FOR = "X-Forwarded-For"
HEADERS = (INSTANCE_ID, TENANT_ID, SIGNATURE, FORWARDED_FOR)

#: The address guests ask, and the port the proxy listens on there.
METADATA_ADDRESS = "169.254.169.254"
METADATA_PORT = 80


class NotIdentified(errors.VirtfleetError):
    """A metadata request without a valid proof of its instance (the service answers
    403, or 400 for a missing header), naming what is wrong."""


@dataclass(frozen=True)
class Identity:
    """The guest a metadata request comes from."""

    instance_id: str
    project_id: str
    address: str


def _secret_bytes(secret: str) -> bytes:
    if not secret:
        raise NotIdentified(
            "[metadata] shared_secret is empty: set the same secret on the control plane "
            "and every host"
        )
    return secret.encode()


def sign(secret: str, instance_id: str) -> str:
    """The signature of ``instance_id`` (hex HMAC-SHA256 under ``secret``)."""
    return hmac.new(_secret_bytes(secret), instance_id.encode(), hashlib.sha256).hexdigest()


def headers(secret: str, identity: Identity) -> dict[str, str]:
    """The headers the proxy adds to a guest's request."""
    return {
        INSTANCE_ID: identity.instance_id,
        TENANT_ID: identity.project_id,
        SIGNATURE: sign(secret, identity.instance_id),
        FORWARDED_FOR: identity.address,
    }


def strip(received: Mapping[str, str]) -> dict[str, str]:
    """``received`` without the identity headers (a guest cannot send its own)."""
    names = {name.lower() for name in HEADERS}
    return {k: v for k, v in received.items() if k.lower() not in names}


def _get(received: Mapping[str, str], name: str) -> str:
    for key, value in received.items():
        if key.lower() == name.lower():
            return value
    raise NotIdentified(f"metadata request without the {name} header")


def identify(secret: str, received: Mapping[str, str]) -> Identity:
    """The identity a request proves (header names in any case), or NotIdentified."""
    instance_id = _get(received, INSTANCE_ID)
    signature = _get(received, SIGNATURE)
    if not hmac.compare_digest(sign(secret, instance_id), signature.strip().lower()):
        raise NotIdentified(f"metadata request for instance {instance_id}: bad {SIGNATURE}")
    return Identity(
        instance_id=instance_id,
        project_id=_get(received, TENANT_ID),
        address=_get(received, FORWARDED_FOR).split(",")[0].strip(),
    )


def from_environ(environ: Mapping[str, object]) -> dict[str, str]:
    """The identity headers of a WSGI environ (``HTTP_X_INSTANCE_ID`` ...), by name."""
    found = {}
    for name in HEADERS:
        value = environ.get("HTTP_" + name.upper().replace("-", "_"))
        if isinstance(value, str):
            found[name] = value
    return found
