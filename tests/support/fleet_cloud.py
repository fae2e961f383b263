"""An in-process embedded cloud (``EmbeddedCloud``: control plane, one agent per
simulated host, HTTP listener) on a fleet built to tell maxphysaddr hosts apart, with
helpers that speak the Compute and Image APIs (WSGI calls into the real app) and the
real ``openstack`` CLI (over HTTP, temporary clouds.yaml)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from webob import Request

from support.clouds import EmbeddedView, Recipe
from support.fleets import kvm_fleet
from support.guest import with_guest_request
from support.openstack_cli import CLI
from virtfleet.scheduler import FlavorSpec, RequestSpec

# x86_64 hosts that differ in one thing each: physical address bits (39 / 46 / 52 /
# none reported), an old libvirt (8.5.0: no <maxphysaddr>), the guest CPU mode.
FLEET = kvm_fleet(
    defaults="  memory_mb: 1572864  # 1.5 TiB: room for one 1 TiB guest\n",
    hosts="""\
  - {name: bits39, maxphysaddr_bits: 39}
  - {name: bits46, maxphysaddr_bits: 46}
  - {name: bits52, maxphysaddr_bits: 52}
  - {name: old-libvirt, maxphysaddr_bits: 52, libvirt_version: "8.5.0"}
  - {name: passthrough, maxphysaddr_bits: 46, cpu_mode: host-passthrough}
  - {name: no-bits, maxphysaddr_bits: null}
""",
)

HOSTS = ("bits39", "bits46", "bits52", "old-libvirt", "passthrough", "no-bits")
RECIPE = Recipe(fleet=FLEET, source="maxphysaddr-fleet.yaml")
JSON_PATCH = "application/openstack-images-v2.1-json-patch"


@dataclass
class Reply:
    status: int
    body: Any

    @property
    def message(self) -> str:
        """The error message of a Compute (``{"badRequest": {...}}``) or Image reply."""
        if isinstance(self.body, dict) and "message" in self.body:
            return str(self.body["message"])
        if isinstance(self.body, dict) and len(self.body) == 1:
            inner = next(iter(self.body.values()))
            if isinstance(inner, dict) and "message" in inner:
                return str(inner["message"])
        return str(self.body)


@dataclass
class FleetCloud(EmbeddedView):
    """An embedded cloud spoken to through its WSGI app and the ``openstack`` CLI."""

    @property
    def cli(self) -> CLI:
        return CLI(self.clouds_yaml, [])

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        content_type: str = "application/json",
        raw: bytes | None = None,
        microversion: str | None = None,
    ) -> Reply:
        """One request to the real WSGI app (``/compute/v2.1/...``, ``/image/v2/...``)."""
        req = Request.blank(path, method=method)
        if microversion is not None:
            req.headers["OpenStack-API-Version"] = f"compute {microversion}"
        if raw is not None:
            req.body = raw
            req.content_type = "application/octet-stream"
        elif body is not None:
            req.body = json.dumps(body).encode()
            req.content_type = content_type
        resp = req.get_response(self.control.app)
        text = resp.body.decode() if resp.body else ""
        try:
            parsed: Any = json.loads(text) if text else None
        except ValueError:
            parsed = text
        return Reply(resp.status_int, parsed)

    def flavor(
        self, name: str, ram: int = 1024, specs: dict[str, str] | None = None, vcpus: int = 1
    ) -> Reply:
        """Create flavor ``name`` (id = name) and set ``specs`` on it; the extra specs
        reply (or the create reply when that failed)."""
        created = self.call(
            "POST",
            "/compute/v2.1/flavors",
            {"flavor": {"name": name, "id": name, "ram": ram, "vcpus": vcpus, "disk": 1}},
        )
        if created.status != 200 or not specs:
            return created
        return self.set_specs(name, specs)

    def set_specs(self, flavor: str, specs: dict[str, str]) -> Reply:
        return self.call(
            "POST", f"/compute/v2.1/flavors/{flavor}/os-extra_specs", {"extra_specs": specs}
        )

    def image(self, name: str, **properties: str) -> str:
        """A new image with data and ``properties``; its id."""
        created = self.call(
            "POST",
            "/image/v2/images",
            {"name": name, "disk_format": "raw", "container_format": "bare", **properties},
        )
        assert created.status == 201, created.body
        image_id = str(created.body["id"])
        uploaded = self.call("PUT", f"/image/v2/images/{image_id}/file", raw=b"\0" * 4096)
        assert uploaded.status == 204, uploaded.body
        return image_id

    def set_image_properties(self, image_id: str, **properties: str) -> Reply:
        patch = [{"op": "add", "path": f"/{k}", "value": v} for k, v in properties.items()]
        return self.call("PATCH", f"/image/v2/images/{image_id}", patch, content_type=JSON_PATCH)

    def create_server(self, name: str, flavor: str, image_id: str) -> Reply:
        return self.call(
            "POST",
            "/compute/v2.1/servers",
            {"server": {"name": name, "flavorRef": flavor, "imageRef": image_id}},
        )

    def boot(self, name: str, flavor: str, image_id: str, timeout: float = 30) -> dict[str, Any]:
        """Create a server and wait until it leaves BUILD; its final body."""
        created = self.create_server(name, flavor, image_id)
        assert created.status == 202, created.body
        uuid = created.body["server"]["id"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = self.call("GET", f"/compute/v2.1/servers/{uuid}")
            assert shown.status == 200, shown.body
            body = dict(shown.body["server"])
            # The conductor writes ERROR and the fault in two transactions today (see
            # E's round-2 report): wait for both.
            if body["status"] != "BUILD" and (body["status"] != "ERROR" or "fault" in body):
                return body
            time.sleep(0.02)
        raise AssertionError(f"server {name} still building after {timeout} s")

    def delete_server(self, uuid: str) -> None:
        assert self.call("DELETE", f"/compute/v2.1/servers/{uuid}").status == 204
        deadline = time.monotonic() + 30
        while self.call("GET", f"/compute/v2.1/servers/{uuid}").status != 404:
            assert time.monotonic() < deadline, f"server {uuid} not deleted"
            time.sleep(0.02)

    def domain_xml(self, uuid: str) -> str:
        reply = self.call("GET", f"/compute/v2.1/servers/{uuid}/os-domain-xml")
        assert reply.status == 200, reply.body
        return str(reply.body["domain_xml"])

    def hosts_that_fit(
        self, specs: dict[str, str], image: dict[str, str] | None = None, ram: int = 1024
    ) -> set[str]:
        """Every host the real scheduler lets a request through to (unlimited pass)."""
        spec = with_guest_request(
            RequestSpec(
                instance_uuid="",
                project_id="p",
                user_id="u",
                flavor=FlavorSpec(vcpus=1, memory_mb=ram, root_gb=1, extra_specs=specs),
                image_properties=dict(image or {}),
            )
        )
        attempt = self.control.scheduler.attempt(spec, unlimited=True)
        return {candidate.host.host for _, candidate in attempt.ranked}

    def rejections(self, specs: dict[str, str]) -> dict[str, str]:
        """Host -> the filter reason that turned it down (placement's candidates only)."""
        spec = with_guest_request(
            RequestSpec(
                instance_uuid="",
                project_id="p",
                user_id="u",
                flavor=FlavorSpec(vcpus=1, memory_mb=1024, root_gb=1, extra_specs=specs),
            )
        )
        attempt = self.control.scheduler.attempt(spec, unlimited=True)
        return {r.host: r.reason for r in attempt.rejections}
