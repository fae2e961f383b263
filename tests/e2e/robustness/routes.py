"""Every route of every route table the running cloud serves, read from its WSGI app
(so a new route is fuzzed without being listed here), with its path parameters filled
from the seeded cloud."""

from __future__ import annotations

from dataclasses import dataclass

from support.fuzz_cloud import FuzzCloud
from virtfleet.api.wsgi import PrefixDispatcher, Router

SEEDED = {
    "flavor_id": "flavor_id",
    "server_id": "victim_id",
    "image_id": "image_id",
    "uuid": "fuzz_provider",
    "hypervisor_id": "provider_uuid",
}
FIXED = {
    "key": "hw:cpu_policy",
    "migration_id": "1",
    "consumer_uuid": "9b3a4e1c-8f3e-4c55-9d7e-2f8b8f0e6a01",
    "name": "CUSTOM_FUZZ",
    "resource_class": "VCPU",
}


class _WithDefault(dict[str, str]):
    """Path parameters without a seeded object get a well-formed id of nothing."""

    def __missing__(self, key: str) -> str:
        return "00000000-0000-4000-8000-000000000000"


@dataclass(frozen=True)
class RouteRow:
    api: str  # the mount prefix: compute, image, placement, identity
    method: str
    template: str  # as mounted, e.g. /compute/v2.1/servers/{server_id}
    streaming: bool  # the handler reads its body itself (image data)

    def path(self, cloud: FuzzCloud, **given: str) -> str:
        values = {name: str(getattr(cloud, attr)) for name, attr in SEEDED.items()}
        values.update(FIXED)
        values.update(given)
        return self.template.format_map(_WithDefault(values))

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


def routers(app: PrefixDispatcher) -> dict[str, Router]:
    """The Router of each mounted API."""
    found = {}
    for prefix, api in app.apps.items():
        router = api if isinstance(api, Router) else getattr(api, "router", None)
        assert isinstance(router, Router), f"/{prefix} has no route table"
        found[prefix] = router
    return found


def route_rows(cloud: FuzzCloud) -> list[RouteRow]:
    assert cloud.embedded.control is not None
    app = cloud.embedded.control.apis
    rows = []
    for prefix, router in routers(app).items():
        for route in router.routes:
            rows.append(
                RouteRow(
                    prefix,
                    route.method,
                    f"/{prefix}{route.template}".rstrip("/") or f"/{prefix}",
                    route.template in router.streaming,
                )
            )
    return rows
