"""Every route of the three APIs that takes a JSON body, with the ids of the seeded
cloud filled in, and the media type it takes."""

from __future__ import annotations

from dataclasses import dataclass

from support.fuzz_cloud import FuzzCloud

JSON = "application/json"
JSON_PATCH = "application/openstack-images-v2.1-json-patch"


@dataclass(frozen=True)
class Endpoint:
    method: str
    template: str
    content_type: str = JSON

    def path(self, cloud: FuzzCloud) -> str:
        return self.template.format(
            flavor=cloud.flavor_id,
            image=cloud.image_id,
            server=cloud.victim_id,
            rp=cloud.fuzz_provider,
        )

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


C = "/compute/v2.1"
RP = "/placement/resource_providers/{rp}"
BODY_ENDPOINTS = (
    Endpoint("POST", f"{C}/servers"),
    Endpoint("POST", f"{C}/servers/{{server}}/action"),
    Endpoint("POST", f"{C}/servers/{{server}}/migrations/1/action"),
    Endpoint("POST", f"{C}/flavors"),
    Endpoint("PUT", f"{C}/flavors/{{flavor}}"),
    Endpoint("POST", f"{C}/flavors/{{flavor}}/os-extra_specs"),
    Endpoint("PUT", f"{C}/flavors/{{flavor}}/os-extra_specs/hw:cpu_policy"),
    Endpoint("POST", f"{C}/os-scheduler-explain"),
    Endpoint("POST", "/image/v2/images"),
    Endpoint("PATCH", "/image/v2/images/{image}", JSON_PATCH),
    Endpoint("POST", "/placement/resource_providers"),
    Endpoint("PUT", RP),
    Endpoint("PUT", f"{RP}/inventories"),
    Endpoint("POST", f"{RP}/inventories"),
    Endpoint("PUT", f"{RP}/inventories/VCPU"),
    Endpoint("PUT", f"{RP}/aggregates"),
    Endpoint("PUT", f"{RP}/traits"),
    Endpoint("POST", "/placement/resource_classes"),
    Endpoint("PUT", "/placement/allocations/9b3a4e1c-8f3e-4c55-9d7e-2f8b8f0e6a01"),
    Endpoint("POST", "/placement/allocations"),
)
