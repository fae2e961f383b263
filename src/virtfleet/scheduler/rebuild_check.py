"""Whether a server's own host can run it rebuilt from another image.

A rebuild stays on its host (Nova refuses one that would need another), so the
scheduler's image rules are checked against that one host and nothing is claimed:
the traits the guest request requires on the host's root provider (its
architectures, native or emulated; the image's device properties; the maxphysaddr
mode) and the per-host image filters (``arch``: the host runs the architecture and
offers its machine type; ``maxphysaddr``: enough address bits).
"""

from __future__ import annotations

from collections.abc import Collection

from virtfleet.db.hosts import HostRecord
from virtfleet.scheduler.filters import FILTERS
from virtfleet.scheduler.prefilters import (
    IMAGE_PROPERTY_TRAIT_PREFIXES,
    MAXPHYSADDR_TRAITS,
    arch_traits,
    trait_for_property,
)
from virtfleet.scheduler.resource_request import RequestSpec

#: The host filters that read the guest request or the image.
IMAGE_FILTERS = ("arch", "maxphysaddr")


def required_traits(spec: RequestSpec) -> list[str]:
    """The root-provider traits ``spec``'s guest request and image require."""
    traits = arch_traits(spec.guest) + [
        trait_for_property(prop, value)
        for prop in IMAGE_PROPERTY_TRAIT_PREFIXES
        if (value := spec.image_property(prop)) is not None
    ]
    if spec.guest.maxphysaddr is not None:
        traits.append(MAXPHYSADDR_TRAITS[spec.guest.maxphysaddr.mode])
    return traits


def host_refusal(host: HostRecord, host_traits: Collection[str], spec: RequestSpec) -> str | None:
    """Why ``host`` (with ``host_traits`` on its root provider) cannot run ``spec``'s
    guest; None when it can."""
    missing = sorted(set(required_traits(spec)) - set(host_traits))
    if missing:
        return f"its host {host.host} lacks the trait(s) {', '.join(missing)} it needs"
    for name in IMAGE_FILTERS:
        check = FILTERS[name].prepare(spec)
        if check is None:
            continue
        status = check(host)
        if not status.ok:
            return f"its host {host.host} fails the {name} filter (hosts that {status.reason})"
    return None
