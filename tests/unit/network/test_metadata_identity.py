"""The metadata proxy/service header contract: what the proxy adds is what the service
accepts, and nothing a guest forges is."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from virtfleet.network import metadata_identity as mi

GUEST = mi.Identity("6f4c2a1e-0000-4000-8000-000000000001", "proj-1", "192.0.2.21")


def test_signature_is_hex_hmac_sha256_of_the_instance_id() -> None:
    expected = hmac.new(b"s3cret", GUEST.instance_id.encode(), hashlib.sha256).hexdigest()
    assert mi.sign("s3cret", GUEST.instance_id) == expected


def test_what_the_proxy_adds_the_service_accepts() -> None:
    sent = mi.headers("s3cret", GUEST)
    assert set(sent) == {
        "X-Instance-ID", "X-Tenant-ID", "X-Instance-ID-Signature", "X-Forwarded-For"
    }  # fmt: skip
    assert mi.identify("s3cret", sent) == GUEST
    lowered = {k.lower(): v for k, v in sent.items()}
    assert mi.identify("s3cret", lowered) == GUEST


def test_wsgi_environ_names() -> None:
    environ = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in mi.headers("k", GUEST).items()}
    assert mi.identify("k", mi.from_environ(environ)) == GUEST


def test_a_forged_or_other_instance_id_is_refused() -> None:
    sent = mi.headers("s3cret", GUEST)
    sent["X-Instance-ID"] = "6f4c2a1e-0000-4000-8000-000000000002"
    with pytest.raises(mi.NotIdentified, match="bad X-Instance-ID-Signature"):
        mi.identify("s3cret", sent)
    with pytest.raises(mi.NotIdentified, match="bad X-Instance-ID-Signature"):
        mi.identify("other", mi.headers("s3cret", GUEST))


def test_missing_header_and_empty_secret_are_named() -> None:
    sent = mi.headers("s3cret", GUEST)
    del sent["X-Tenant-ID"]
    with pytest.raises(mi.NotIdentified, match="without the X-Tenant-ID header"):
        mi.identify("s3cret", sent)
    with pytest.raises(mi.NotIdentified, match="shared_secret is empty"):
        mi.sign("", GUEST.instance_id)


def test_strip_drops_what_a_guest_sent_under_the_identity_names() -> None:
    forged = {"x-instance-id": "x", "X-Tenant-Id": "y", "Accept": "text/plain"}
    assert mi.strip(forged) == {"Accept": "text/plain"}
