"""Key pairs over the Compute API (``/os-keypairs``): import, generate, list, show,
delete, per user and per microversion, and every refusal."""

from __future__ import annotations

import hashlib
import subprocess
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from support.api_apps import Apps, Client
from virtfleet.db import keypairs

#: An ed25519 key and its fingerprint as ``ssh-keygen -l -E md5`` prints it.
ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA7LiGCTGo+LF1ojcjb9ap5Fimw+tftCBRNubCuYWAL8 test@vf"
ED25519_MD5 = "76:3a:70:b6:1e:f8:bb:e8:16:2c:a6:54:f3:e1:99:9a"
KP = "/v2.1/os-keypairs"


def user(apps: Apps, name: str, version: str = "latest", admin: bool = False) -> Client:
    c = apps.compute(version)
    c.default_headers.update(
        {"X-User-Id": name, "X-Project-Id": "p1", "X-Roles": "admin" if admin else "member"}
    )
    return c


def create(c: Client, **keypair: Any) -> dict[str, Any]:
    reply = c.post(KP, {"keypair": keypair})
    assert reply.status in (200, 201), reply.body
    created: dict[str, Any] = reply.json["keypair"]
    return created


def message(reply: Any) -> str:
    return str(next(iter(reply.json.values()))["message"])


def test_import_ssh_key_with_nova_fingerprint(apps: Apps) -> None:
    c = user(apps, "alice")
    reply = c.post(KP, {"keypair": {"name": "k1", "public_key": ED25519}})
    assert reply.status == 201
    created = reply.json["keypair"]
    assert created == {
        "name": "k1",
        "public_key": ED25519,
        "fingerprint": ED25519_MD5,
        "type": "ssh",
        "user_id": "alice",
    }
    shown = c.get(f"{KP}/k1").json["keypair"]
    assert shown["user_id"] == "alice" and shown["fingerprint"] == ED25519_MD5
    assert shown["deleted"] is False and isinstance(shown["id"], int)
    assert c.get(KP).json == {
        "keypairs": [
            {
                "keypair": {
                    "name": "k1",
                    "public_key": ED25519,
                    "fingerprint": ED25519_MD5,
                    "type": "ssh",
                }
            }
        ]
    }


def test_generated_ssh_key_works_with_ssh_keygen(apps: Apps, tmp_path: Any) -> None:
    created = create(user(apps, "alice", "2.91"), name="gen")
    private = tmp_path / "id"
    private.write_text(created["private_key"])
    private.chmod(0o600)
    derived = subprocess.run(
        ["ssh-keygen", "-y", "-f", str(private)], check=True, capture_output=True, text=True
    ).stdout.split()
    assert derived[:2] == created["public_key"].split()[:2]
    blob = serialization.load_ssh_public_key(created["public_key"].encode())
    assert blob is not None
    assert "private_key" not in user(apps, "alice").get(f"{KP}/gen").json["keypair"]


def test_x509_generated_and_imported(apps: Apps) -> None:
    c = user(apps, "alice", "2.91")
    created = create(c, name="cert", type="x509")
    cert = x509.load_pem_x509_certificate(created["public_key"].encode())
    expected = ":".join(f"{b:02x}" for b in cert.fingerprint(hashes.SHA1()))
    assert created["type"] == "x509" and created["fingerprint"] == expected
    again = create(c, name="cert2", type="x509", public_key=created["public_key"])
    assert again["fingerprint"] == expected and "private_key" not in again


def test_generation_ends_at_2_92(apps: Apps) -> None:
    reply = user(apps, "alice", "2.92").post(KP, {"keypair": {"name": "gen"}})
    assert reply.status == 400 and "public_key" in message(reply)


def test_status_codes_before_2_2(apps: Apps) -> None:
    c = user(apps, "alice", "2.1")
    reply = c.post(KP, {"keypair": {"name": "k", "public_key": ED25519}})
    assert reply.status == 200 and "type" not in reply.json["keypair"]
    assert c.delete(f"{KP}/k").status == 202
    c2 = user(apps, "alice", "2.2")
    create(c2, name="k", public_key=ED25519)
    assert c2.delete(f"{KP}/k").status == 204
    assert c2.get(f"{KP}/k").status == 404


@pytest.mark.parametrize(
    ("keypair", "version", "fragment"),
    [
        ({"name": "k", "public_key": "ssh-rsa notbase64!!"}, "latest", "not an OpenSSH"),
        ({"name": "k", "public_key": "hello"}, "latest", "not an OpenSSH"),
        ({"name": "k", "public_key": ED25519 + "\n" + ED25519}, "latest", "one OpenSSH"),
        ({"name": "k", "public_key": ED25519, "type": "x509"}, "latest", "not a PEM X.509"),
        ({"name": "k", "public_key": ED25519, "type": "rsa"}, "latest", "'ssh' or 'x509'"),
        ({"name": "k/1", "public_key": ED25519}, "latest", "may hold only"),
        ({"name": "a@b.c", "public_key": ED25519}, "2.91", "may hold only"),
        ({"name": " k", "public_key": ED25519}, "latest", "leading or trailing"),
        ({"name": "", "public_key": ED25519}, "latest", "name"),
        ({"name": "k" * 256, "public_key": ED25519}, "latest", "longer than 255"),
        ({"public_key": ED25519}, "latest", "name"),
        ({"name": "k", "public_key": ED25519, "colour": "red"}, "latest", "'colour'"),
        ({"name": "k", "public_key": ED25519, "type": "ssh"}, "2.1", "'type'"),
        ({"name": "k", "public_key": ED25519, "user_id": "bob"}, "2.9", "'user_id'"),
    ],
)
def test_create_rejects(apps: Apps, keypair: dict[str, Any], version: str, fragment: str) -> None:
    reply = user(apps, "alice", version).post(KP, {"keypair": keypair})
    assert reply.status == 400, reply.body
    assert fragment in message(reply)
    assert keypairs.list_for(apps.db, "alice") == []


def test_names_with_at_and_dot_from_2_92(apps: Apps) -> None:
    created = create(user(apps, "alice", "2.92"), name="me@host.example", public_key=ED25519)
    assert created["name"] == "me@host.example"


def test_duplicate_name_is_409_per_user(apps: Apps) -> None:
    create(user(apps, "alice"), name="k", public_key=ED25519)
    reply = user(apps, "alice").post(KP, {"keypair": {"name": "k", "public_key": ED25519}})
    assert reply.status == 409 and "already exists" in message(reply)
    create(user(apps, "bob"), name="k", public_key=ED25519)  # another user's namespace
    assert [k.user_id for k in keypairs.list_for(apps.db, "bob")] == ["bob"]


def test_users_see_only_their_own(apps: Apps) -> None:
    create(user(apps, "alice"), name="a", public_key=ED25519)
    bob = user(apps, "bob")
    assert bob.get(KP).json["keypairs"] == []
    assert bob.get(f"{KP}/a").status == 404
    assert bob.delete(f"{KP}/a").status == 404
    assert bob.get(f"{KP}?user_id=alice").status == 403
    assert (
        bob.post(KP, {"keypair": {"name": "x", "public_key": ED25519, "user_id": "alice"}}).status
        == 403
    )


def test_admin_acts_for_another_user_from_2_10(apps: Apps) -> None:
    admin = user(apps, "root", admin=True)
    created = create(admin, name="for-alice", public_key=ED25519, user_id="alice")
    assert created["user_id"] == "alice"
    assert [k["keypair"]["name"] for k in admin.get(f"{KP}?user_id=alice").json["keypairs"]] == [
        "for-alice"
    ]
    assert admin.get(f"{KP}/for-alice?user_id=alice").json["keypair"]["user_id"] == "alice"
    assert admin.get(f"{KP}/for-alice").status == 404  # the admin's own namespace
    old = user(apps, "root", "2.9", admin=True)
    assert old.get(f"{KP}?user_id=alice").status == 400
    assert admin.delete(f"{KP}/for-alice?user_id=alice").status == 204
    assert keypairs.list_for(apps.db, "alice") == []


def test_paging_from_2_35(apps: Apps) -> None:
    c = user(apps, "alice")
    for name in ("c", "a", "b"):
        create(c, name=name, public_key=ED25519)
    page = c.get(f"{KP}?limit=2").json
    assert [k["keypair"]["name"] for k in page["keypairs"]] == ["a", "b"]
    assert page["keypairs_links"][0]["href"].endswith("limit=2&marker=b")
    rest = c.get(f"{KP}?limit=2&marker=b").json
    assert [k["keypair"]["name"] for k in rest["keypairs"]] == ["c"]
    assert "keypairs_links" not in rest
    assert c.get(f"{KP}?marker=zz").status == 400
    assert c.get(f"{KP}?limit=-1").status == 400
    old = user(apps, "alice", "2.34").get(f"{KP}?limit=1").json
    assert len(old["keypairs"]) == 3  # no paging before 2.35


def test_md5_fingerprint_matches_the_key_blob() -> None:
    import base64

    blob = base64.b64decode(ED25519.split()[1])
    assert ":".join(f"{b:02x}" for b in hashlib.md5(blob).digest()) == ED25519_MD5
