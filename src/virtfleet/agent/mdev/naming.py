"""Names derived from mdev types and GPUs: traits, provider names and uuids."""

from __future__ import annotations

import re
import uuid as uuid_lib

from virtfleet.db.hosts import host_uuid

VGPU = "VGPU"
TRAIT_PREFIX = "CUSTOM_MDEV_"  # os-traits has no standard trait per mdev type


def type_trait(type_id: str) -> str:
    """``nvidia-222`` -> ``CUSTOM_MDEV_NVIDIA_222`` (placement's custom trait alphabet)."""
    return TRAIT_PREFIX + re.sub(r"[^A-Z0-9_]", "_", type_id.upper())


def gpu_provider_name(host: str, device: str) -> str:
    """``<host>_pci_0000_3b_00_0``: the GPU's node device name under its host."""
    return f"{host}_{device}"


def gpu_provider_uuid(host: str, device: str) -> str:
    """The stable uuid of the GPU provider (uuid5 of the compute node uuid and name),
    as the conductor derives it from the reported name."""
    return str(uuid_lib.uuid5(uuid_lib.UUID(host_uuid(host)), gpu_provider_name(host, device)))
