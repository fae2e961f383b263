"""The interoperable image import (Glance v2.6+): /v2/info/import and /v2/info/stores,
glance-direct (stage, then import) and web-download from an allowed host only, with
Glance's status codes and messages on the error paths. The web-download source is an
HTTP server on 127.0.0.1 started by the test; nothing is fetched off the machine."""

from __future__ import annotations

import hashlib
import pathlib
from typing import Any

import pytest

from support.api_apps import Apps, Client, make_apps
from support.image_source import DATA
from virtfleet.api.policy.enforcer import Authorizer, with_authorizer
from virtfleet.conf import make_conf
from virtfleet.image.quota import UploadLimits
from virtfleet.image.web_download import WebDownload

RAW = {"disk_format": "raw", "container_format": "bare"}


@pytest.fixture
def web_apps(tmp_path: pathlib.Path) -> Apps:
    apps = make_apps(tmp_path)
    apps.images.web = WebDownload(("127.0.0.1",), timeout=10)
    return apps


def create(c: Client, **body: Any) -> str:
    reply = c.post("/v2/images", {**RAW, **body})
    assert reply.status == 201, reply.body
    image_id: str = reply.json["id"]
    return image_id


def stage(c: Client, image_id: str, data: bytes) -> Any:
    return c.request(
        "PUT", f"/v2/images/{image_id}/stage", raw=data, content_type="application/octet-stream"
    )


def do_import(c: Client, image_id: str, method: dict[str, Any], **extra: Any) -> Any:
    return c.post(f"/v2/images/{image_id}/import", {"method": method, **extra})


def test_info_lists_web_download_only_when_hosts_are_allowed(apps: Apps) -> None:
    c = apps.image()
    methods = c.get("/v2/info/import").json["import-methods"]
    assert methods == {
        "description": "Import methods available.",
        "type": "array",
        "value": ["glance-direct"],
    }
    created = c.post("/v2/images", {"name": "x", **RAW})
    assert created.headers["OpenStack-image-import-methods"] == "glance-direct"
    apps.images.web = WebDownload(("images.example.org",))
    assert c.get("/v2/info/import").json["import-methods"]["value"] == [
        "glance-direct",
        "web-download",
    ]
    created = c.post("/v2/images", {"name": "y", **RAW})
    assert created.headers["OpenStack-image-import-methods"] == "glance-direct,web-download"
    stores = c.get("/v2/info/stores").json["stores"]
    assert [(s["id"], s["default"]) for s in stores] == [("file", True)]


def test_glance_direct_stages_then_imports(apps: Apps) -> None:
    c = apps.image()
    image_id = create(c, name="direct")
    assert stage(c, image_id, DATA).status == 204
    staged = c.get(f"/v2/images/{image_id}").json
    assert staged["status"] == "uploading" and staged["size"] == len(DATA)
    assert c.get(f"/v2/images/{image_id}/file").status == 204  # no data before import
    reply = do_import(c, image_id, {"name": "glance-direct"}, all_stores_must_succeed=False)
    assert reply.status == 202, reply.body
    shown = c.get(f"/v2/images/{image_id}").json
    assert shown["status"] == "active"
    assert shown["os_hash_value"] == hashlib.sha512(DATA).hexdigest()
    assert c.get(f"/v2/images/{image_id}/file").body == DATA
    again = do_import(c, image_id, {"name": "glance-direct"})
    assert again.status == 409
    assert again.json["message"] == "Image with status active cannot be target for import"


def test_glance_direct_errors(apps: Apps) -> None:
    c = apps.image()
    image_id = create(c, name="direct")
    unstaged = do_import(c, image_id, {"name": "glance-direct"})
    assert unstaged.status == 409
    assert unstaged.json["message"] == (
        "Image needs to be staged before 'glance-direct' method can be used"
    )
    bodies: list[tuple[Any, str]] = [
        ({}, "Import request requires a 'method' field."),
        ({"method": {}}, "Import request requires a 'name' field."),
        ({"method": {"name": "copy-image"}}, "Unknown import method name 'copy-image'."),
        ({"method": {"name": "web-download"}}, "Unknown import method name 'web-download'."),
        (
            {"method": {"name": "glance-direct"}, "all_stores": "yes"},
            "'all_stores' must be boolean value only",
        ),
    ]
    for body, message in bodies:
        reply = c.post(f"/v2/images/{image_id}/import", body)
        assert reply.status == 400, (body, reply.body)
        assert reply.json["message"].startswith(message), reply.json
    elsewhere = do_import(c, image_id, {"name": "glance-direct"}, stores=["ceph"])
    assert elsewhere.status == 409 and "one store, 'file'" in elsewhere.json["message"]
    assert do_import(c, "no-such-image", {"name": "glance-direct"}).status == 404
    formatless = c.post("/v2/images", {"name": "bare"}).json["id"]
    assert stage(c, formatless, b"data").status == 204
    refused = do_import(c, formatless, {"name": "glance-direct"})
    assert refused.status == 409
    assert refused.json["message"] == "'container_format' needs to be set before import"
    assert stage(c, formatless, b"again").status == 409  # staged already


def test_stage_over_the_size_cap_leaves_the_image_queued(apps: Apps) -> None:
    c = apps.image()
    apps.images.limits = UploadLimits(size_cap=1000)
    image_id = create(c, name="big")
    reply = stage(c, image_id, b"x" * 1001)
    assert reply.status == 413 and "image_size_cap" in reply.json["message"]
    assert c.get(f"/v2/images/{image_id}").json["status"] == "queued"


def test_web_download_fetches_an_allowed_url(
    web_apps: Apps, source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A proxy in the environment is not used: the data comes from the allowed host.
    monkeypatch.setenv("http_proxy", "http://192.0.2.1:3128")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    c = web_apps.image()
    image_id = create(c, name="fetched")
    reply = do_import(c, image_id, {"name": "web-download", "uri": f"{source}/disk.img"})
    assert reply.status == 202, reply.body
    shown = c.get(f"/v2/images/{image_id}").json
    assert shown["status"] == "active" and shown["size"] == len(DATA)
    assert shown["checksum"] == hashlib.md5(DATA).hexdigest()
    assert c.get(f"/v2/images/{image_id}/file").body == DATA
    again = do_import(c, image_id, {"name": "web-download", "uri": f"{source}/disk.img"})
    assert again.status == 409


def test_web_download_refusals_and_failures_leave_the_image_queued(
    web_apps: Apps, source: str
) -> None:
    c = web_apps.image()
    image_id = create(c, name="fetched")
    port = source.rsplit(":", 1)[1]
    refused = {
        None: "a web-download import needs method.uri",
        f"ftp://127.0.0.1:{port}/disk.img": "scheme must be one of http, https",
        f"http://localhost:{port}/disk.img": "host localhost is not in [image] "
        "web_download_allowed_hosts",
        "http://192.0.2.1/disk.img": "host 192.0.2.1 is not in",
        "http://127.0.0.1:port/disk.img": "Port could not be cast",
    }
    for uri, reason in refused.items():
        reply = do_import(c, image_id, {"name": "web-download", "uri": uri})
        assert reply.status == 400, (uri, reply.body)
        message = reply.json["message"]
        assert message.startswith(f"URI for web-download does not pass filtering: {uri}")
        assert reason in message, message
    failed = {
        f"{source}/missing.img": "HTTP 404",
        f"{source}/moved": "HTTP 302",  # a redirect's target was never checked
    }
    for uri, reason in failed.items():
        reply = do_import(c, image_id, {"name": "web-download", "uri": uri})
        assert reply.status == 400, (uri, reply.body)
        assert reply.json["message"].startswith(f"web-download of {uri} failed: {reason}")
    web_apps.images.limits = UploadLimits(size_cap=1000)
    too_big = do_import(c, image_id, {"name": "web-download", "uri": f"{source}/disk.img"})
    assert too_big.status == 413 and "image_size_cap" in too_big.json["message"]
    shown = c.get(f"/v2/images/{image_id}").json
    assert shown["status"] == "queued" and shown["size"] is None
    assert not any((web_apps.images.store.root).glob(f"{image_id}*"))


def test_web_download_to_an_unreachable_allowed_host_fails_with_400(web_apps: Apps) -> None:
    c = web_apps.image()
    image_id = create(c, name="fetched")
    reply = do_import(c, image_id, {"name": "web-download", "uri": "http://127.0.0.1:9/x.img"})
    assert reply.status == 400
    assert reply.json["message"].startswith("web-download of http://127.0.0.1:9/x.img failed:")
    assert c.get(f"/v2/images/{image_id}").json["status"] == "queued"


def test_import_stage_and_info_are_under_policy(apps: Apps) -> None:
    conf = make_conf(api__auth_strategy="noauth")
    app = with_authorizer(apps.image_app, Authorizer(conf))

    def client(roles: str, project: str) -> Client:
        return Client(app, "/image", {"X-Roles": roles, "X-Project-Id": project})

    owner = client("member", "owner")
    image_id = create(owner, name="community-one", visibility="community")
    reader = client("reader", "owner")
    assert stage(reader, image_id, b"x").status == 403
    assert do_import(reader, image_id, {"name": "glance-direct"}).status == 403
    other = client("member", "other")
    assert stage(other, image_id, b"x").status == 403
    assert do_import(other, image_id, {"name": "glance-direct"}).status == 403
    assert reader.get("/v2/info/import").status == 200
    assert reader.get("/v2/info/stores").status == 200
    assert stage(owner, image_id, b"x").status == 204
    assert do_import(owner, image_id, {"name": "glance-direct"}).status == 202
