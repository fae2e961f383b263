"""Guest requests for tests, resolved by the real resolution from the image properties
and extra specs a test names (as the Compute API does at boot)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from virtfleet.objects.guest_request import GuestRequest
from virtfleet.objects.guest_resolution import BootPair, resolve_guest_request
from virtfleet.scheduler.resource_request import RequestSpec
from virtfleet.virt import arch as virt_arch
from virtfleet.virt.types import GuestSpec


def guest_request(
    image_properties: Mapping[str, object] | None = None,
    extra_specs: Mapping[str, str] | None = None,
    memory_mb: int = 1024,
) -> GuestRequest:
    """What the Compute API would resolve for these image properties and extra specs."""
    pair = BootPair(
        flavor_name="test-flavor",
        memory_mb=memory_mb,
        extra_specs=dict(extra_specs or {}),
        image_id="test-image",
        image_properties=dict(image_properties or {}),
    )
    return resolve_guest_request(pair, virt_arch.canonicalize)


def with_guest(spec: GuestSpec) -> GuestSpec:
    """``spec`` with the guest request its image properties and extra specs resolve to
    (what the agent receives for a server booted through the Compute API)."""
    resolved = guest_request(spec.image_properties, spec.extra_specs, spec.memory_mb)
    return dataclasses.replace(spec, guest=resolved)


def with_guest_request(spec: RequestSpec) -> RequestSpec:
    """``spec`` with the guest request its image properties and flavor resolve to."""
    flavor = spec.flavor
    resolved = guest_request(spec.image_properties, flavor.extra_specs, flavor.memory_mb)
    return dataclasses.replace(spec, guest=resolved)
