"""The one WSGI application: `/compute`, `/image`, `/networking` and `/placement` on one
listener."""

from __future__ import annotations

from typing import TYPE_CHECKING

from virtfleet.api import versions
from virtfleet.api.compute import make_compute_app
from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.image import make_image_app
from virtfleet.api.network import make_network_app
from virtfleet.api.placement import make_app as make_placement_app
from virtfleet.api.wsgi import PrefixDispatcher

if TYPE_CHECKING:
    from virtfleet.control_plane import ControlPlane


def make_app(control: ControlPlane) -> PrefixDispatcher:
    """Mount the APIs of one control plane under their devstack-style prefixes."""
    deps = ComputeDeps(
        db=control.db,
        placement=control.placement,
        conductor=control.conductor,
        images=control.images,
        conf=control.conf,
        scheduler=control.scheduler,
        owner=control.conductor.name,
    )
    return PrefixDispatcher(
        {
            "compute": make_compute_app(deps),
            "image": make_image_app(deps),
            "networking": make_network_app(control.networks),
            "placement": make_placement_app(control.placement),
            "identity": versions.make_identity_stub_app(),
        },
        root=versions.make_root_app(),
    )
