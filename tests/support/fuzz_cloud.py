"""One embedded cloud on a two-host simulated fleet, driven in-process through its
WSGI app (``webob.Request.blank``), with a flavor, an image and an ACTIVE server to
aim bad requests at."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import webob

from support.clouds import EmbeddedView, Recipe

FLEET = """
defaults: {arch: x86_64, virt_type: kvm, cpus: 8, memory_mb: 16384, disk_gb: 100}
hosts:
  - {name: fuzz-a}
  - {name: fuzz-b}
"""
HOSTS = ("fuzz-a", "fuzz-b")
RECIPE = Recipe(fleet=FLEET, source="robustness-fleet.yaml")
DEFAULT_HEADERS = {
    "compute": {"OpenStack-API-Version": "compute latest"},
    "placement": {"OpenStack-API-Version": "placement latest"},
}


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FuzzCloud(EmbeddedView):
    """The running cloud and the ids of what :func:`seed` gave it."""

    flavor_id: str = ""
    image_id: str = ""
    server_id: str = ""  # ACTIVE, left alone (known-bad requests aim at it)
    victim_id: str = ""  # ACTIVE at first; fuzzed actions may change its state
    provider_uuid: str = ""  # a host's compute node provider (read only)
    fuzz_provider: str = ""  # a provider of its own that fuzzed writes may change

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        content_type: str | None = "application/json",
    ) -> Reply:
        """``method path`` against the whole WSGI app (all three APIs)."""
        req = webob.Request.blank(path, method=method)
        for key, value in (headers or {}).items():
            req.headers[key] = value
        if raw is not None or body is not None:
            req.body = raw if raw is not None else json.dumps(body).encode()
            if content_type is not None:
                req.content_type = content_type
        for key, value in DEFAULT_HEADERS.get(path.lstrip("/").split("/")[0], {}).items():
            req.headers.setdefault(key, value)
        resp = req.get_response(self.control.app)
        return Reply(resp.status_int, dict(resp.headers), resp.body)


def seed(cloud: FuzzCloud) -> None:
    """A flavor, an image with data, two ACTIVE servers and a provider of its own."""
    flavor = cloud.call(
        "POST",
        "/compute/v2.1/flavors",
        {"flavor": {"name": "fuzz", "ram": 512, "vcpus": 1, "disk": 1}},
    )
    assert flavor.status == 200, flavor.body
    cloud.flavor_id = flavor.json()["flavor"]["id"]
    image = cloud.call(
        "POST",
        "/image/v2/images",
        {"name": "fuzz", "disk_format": "raw", "container_format": "bare"},
    )
    assert image.status == 201, image.body
    cloud.image_id = image.json()["id"]
    upload = cloud.call(
        "PUT",
        f"/image/v2/images/{cloud.image_id}/file",
        raw=b"x" * 512,
        content_type="application/octet-stream",
    )
    assert upload.status == 204, upload.body
    cloud.server_id = _boot(cloud, "fuzz")
    cloud.victim_id = _boot(cloud, "victim")
    providers = cloud.call("GET", "/placement/resource_providers?name=fuzz-a")
    cloud.provider_uuid = providers.json()["resource_providers"][0]["uuid"]
    created = cloud.call("POST", "/placement/resource_providers", {"name": "fuzz-provider"})
    assert created.status == 200, created.body
    cloud.fuzz_provider = created.json()["uuid"]


def _boot(cloud: FuzzCloud, name: str) -> str:
    """The id of a new server once it is ACTIVE."""
    body = {"server": {"name": name, "flavorRef": cloud.flavor_id, "imageRef": cloud.image_id}}
    server = cloud.call("POST", "/compute/v2.1/servers", body)
    assert server.status == 202, server.body
    server_id: str = server.json()["server"]["id"]
    deadline = time.monotonic() + 30
    while True:
        shown = cloud.call("GET", f"/compute/v2.1/servers/{server_id}")
        if shown.json()["server"]["status"] == "ACTIVE":
            return server_id
        assert time.monotonic() < deadline, shown.body
        time.sleep(0.05)
