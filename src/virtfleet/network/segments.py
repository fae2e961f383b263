"""A network's segment: its type, physical network and segmentation id, checked
against ``[network] physical_networks``; project networks get the lowest free VNI."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from virtfleet.db.models.network import NO_PHYSNET
from virtfleet.network import errors

TYPES = ("flat", "vlan", "vxlan")
VLAN_MIN, VLAN_MAX = 1, 4094
VNI_MIN, VNI_MAX = 1, 2**24 - 1
PROVIDER_KEYS = (
    "provider:network_type",
    "provider:physical_network",
    "provider:segmentation_id",
)


@dataclass(frozen=True)
class Segment:
    network_type: str
    physical_network: str  # NO_PHYSNET for vxlan
    segmentation_id: int  # 0 for flat


def requested(body: Mapping[str, Any]) -> bool:
    return any(body.get(key) is not None for key in PROVIDER_KEYS)


def provider_segment(body: Mapping[str, Any], physnets: Collection[str]) -> Segment | None:
    """The segment the provider attributes ask for; None when vxlan without an id
    (the service picks one). 400 naming the bad attribute."""
    kind = body.get("provider:network_type")
    physnet = body.get("provider:physical_network")
    seg_id = body.get("provider:segmentation_id")
    if kind not in TYPES:
        raise errors.InvalidInput(
            f"Invalid input for operation: provider:network_type {kind!r} is not one of "
            f"{', '.join(TYPES)}."
        )
    if seg_id is not None:
        if isinstance(seg_id, str) and seg_id.isdigit():
            seg_id = int(seg_id)
        if not isinstance(seg_id, int) or isinstance(seg_id, bool):
            raise errors.InvalidInput(
                f"Invalid input for operation: provider:segmentation_id {seg_id!r} is not "
                "an integer."
            )
    if kind == "vxlan":
        if physnet is not None:
            raise errors.InvalidInput(
                "Invalid input for operation: provider:physical_network specified for "
                "vxlan network."
            )
        if seg_id is None:
            return None
        _check_range(seg_id, VNI_MIN, VNI_MAX, "VXLAN VNI")
        return Segment("vxlan", NO_PHYSNET, seg_id)
    if physnet is None:
        raise errors.InvalidInput(
            f"Invalid input for operation: provider:physical_network is required for a "
            f"{kind} network."
        )
    if physnet not in physnets:
        known = ", ".join(sorted(physnets)) or "none configured ([network] physical_networks)"
        raise errors.InvalidInput(
            f"Invalid input for operation: physical network {physnet!r} is unknown; known: {known}."
        )
    if kind == "flat":
        if seg_id is not None:
            raise errors.InvalidInput(
                "Invalid input for operation: provider:segmentation_id specified for flat network."
            )
        return Segment("flat", physnet, 0)
    if seg_id is None:
        raise errors.InvalidInput(
            "Invalid input for operation: provider:segmentation_id is required for a "
            "vlan network on this cloud."
        )
    _check_range(seg_id, VLAN_MIN, VLAN_MAX, "VLAN id")
    return Segment("vlan", physnet, seg_id)


def _check_range(value: int, low: int, high: int, what: str) -> None:
    if not low <= value <= high:
        raise errors.InvalidInput(
            f"Invalid input for operation: segmentation_id {value} is out of range: a "
            f"{what} is between {low} and {high}."
        )


def lowest_free_vni(used: Collection[int]) -> Segment:
    for vni in range(VNI_MIN, VNI_MAX + 1):
        if vni not in used:
            return Segment("vxlan", NO_PHYSNET, vni)
    raise errors.InvalidInput("No VXLAN VNI is left for a project network.")  # pragma: no cover
