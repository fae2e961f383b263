"""The one WSGI application: `/compute`, `/image`, `/networking` and `/placement` on one
listener."""

from __future__ import annotations

from virtfleet.api import versions
from virtfleet.api.compute import make_compute_app
from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.image import make_image_app
from virtfleet.api.network import make_network_app
from virtfleet.api.placement import make_app as make_placement_app
from virtfleet.api.wsgi import PrefixDispatcher
from virtfleet.network.service import NetworkService


def make_app(deps: ComputeDeps, networks: NetworkService) -> PrefixDispatcher:
    """Mount the APIs of one control plane (its services in ``deps`` and
    ``networks``) under their devstack-style prefixes."""
    return PrefixDispatcher(
        {
            "compute": make_compute_app(deps),
            "image": make_image_app(deps),
            "networking": make_network_app(networks),
            "placement": make_placement_app(deps.placement),
            "identity": versions.make_identity_stub_app(),
        },
        root=versions.make_root_app(),
    )
