"""A tiny JSON client for virtfleet's own HTTP APIs (the demo and the CLI use it)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

COMPUTE_VERSION = "compute 2.60"


class APIError(Exception):
    """An HTTP error answer, with the API's own message."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


class Client:
    """Compute, Image and Placement calls against one endpoint (``http://host:port``);
    ``token`` gives the Keystone token each request carries (none: unauthenticated)."""

    def __init__(
        self,
        endpoint: str,
        timeout: float = 30.0,
        token: Callable[[], str] | None = None,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.timeout = timeout
        self.token = token

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Any:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.endpoint + path, data=data, method=method)  # noqa: S310 (our own http endpoint)
        req.add_header("Accept", "application/json")
        if body is not None:
            req.add_header("Content-Type", "application/json")
        if self.token is not None:
            req.add_header("X-Auth-Token", self.token())
        for key, value in (headers or {}).items():
            req.add_header(key, value)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                payload = resp.read()
        except urllib.error.HTTPError as exc:
            raise APIError(exc.code, exc.read().decode(errors="replace")) from None
        return json.loads(payload) if payload else None

    # -- compute
    def compute(self, method: str, path: str, body: Any = None) -> Any:
        return self.request(
            method, "/compute/v2.1" + path, body, {"OpenStack-API-Version": COMPUTE_VERSION}
        )

    def create_flavor(self, name: str, vcpus: int, ram: int, disk: int) -> dict[str, Any]:
        body = {"flavor": {"name": name, "vcpus": vcpus, "ram": ram, "disk": disk}}
        flavor: dict[str, Any] = self.compute("POST", "/flavors", body)["flavor"]
        return flavor

    def set_extra_specs(self, flavor_id: str, specs: dict[str, str]) -> None:
        self.compute("POST", f"/flavors/{flavor_id}/os-extra_specs", {"extra_specs": specs})

    def boot(self, name: str, flavor_id: str, image_id: str) -> str:
        body = {
            "server": {
                "name": name,
                "flavorRef": flavor_id,
                "imageRef": image_id,
                "networks": "none",
            }
        }
        server_id: str = self.compute("POST", "/servers", body)["server"]["id"]
        return server_id

    def server(self, server_id: str) -> dict[str, Any]:
        server: dict[str, Any] = self.compute("GET", f"/servers/{server_id}")["server"]
        return server

    def wait_server(self, server_id: str, timeout: float = 60.0) -> dict[str, Any]:
        """Poll until the server leaves BUILD (or ``timeout`` seconds pass)."""
        deadline = time.monotonic() + timeout
        while True:
            server = self.server(server_id)
            if server["status"] not in ("BUILD",) or time.monotonic() > deadline:
                return server
            time.sleep(0.1)

    def hypervisors(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.compute("GET", "/os-hypervisors/detail")["hypervisors"]
        return result

    # -- image
    def create_image(self, name: str, data: bytes, properties: dict[str, str]) -> str:
        body = {"name": name, "disk_format": "raw", "container_format": "bare", **properties}
        image_id: str = self.request("POST", "/image/v2/images", body)["id"]
        self.request(
            "PUT",
            f"/image/v2/images/{image_id}/file",
            raw=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        return image_id
