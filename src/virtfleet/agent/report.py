"""Agent side of host reporting: discovered host facts + configuration -> HostReport.

The root provider offers VCPU, MEMORY_MB and DISK_GB with the configured allocation
ratios and reserved amounts (a class the host has none of is left out, and a host whose
resources are all carved into slices reports none); nested providers (GPUs, slices)
come from discovery with their own inventories and traits.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from oslo_config import cfg

from virtfleet.objects.host_report import (
    HostCPUInfo,
    HostReport,
    ReportedInventory,
    ReportedProvider,
)
from virtfleet.virt.types import HostInfo


class NestedProviderInfo(Protocol):
    """A child provider as discovery describes it (slices, GPUs); an inventory is a
    total, a mapping of placement fields, or an object with those attributes."""

    @property
    def name(self) -> str: ...
    @property
    def parent_name(self) -> str | None: ...
    @property
    def inventories(self) -> Mapping[str, object]: ...
    @property
    def traits(self) -> Iterable[str]: ...


def version_int(version: object) -> int:
    """libvirt's integer encoding (major * 1,000,000 + minor * 1,000 + micro) of
    ``"8.2.0"``, ``(8, 2, 0)`` or an int that is already encoded."""
    if isinstance(version, int):
        return version
    parts: Iterable[Any] = version.split(".") if isinstance(version, str) else version  # type: ignore[assignment]  # a version tuple
    numbers = [*(int(p) for p in parts), 0, 0, 0]
    return numbers[0] * 1_000_000 + numbers[1] * 1_000 + numbers[2]


def version_str(version: object) -> str:
    """``"major.minor.micro"`` of any form :func:`version_int` accepts."""
    value = version_int(version)
    return f"{value // 1_000_000}.{value // 1_000 % 1_000}.{value % 1_000}"


def _inventory(
    total: int, reserved: int = 0, ratio: float = 1.0, max_unit: int | None = None
) -> ReportedInventory:
    return ReportedInventory(
        total=total,
        reserved=min(reserved, total),
        min_unit=1,
        max_unit=max_unit if max_unit is not None else total,
        step_size=1,
        allocation_ratio=ratio,
    )


def root_inventories(
    conf: cfg.ConfigOpts, vcpus: int, memory_mb: int, disk_gb: int
) -> dict[str, ReportedInventory]:
    """VCPU / MEMORY_MB / DISK_GB with ratios and reservations from ``conf``."""
    table = (
        ("VCPU", vcpus, conf.reserved_host_cpus, conf.cpu_allocation_ratio),
        ("MEMORY_MB", memory_mb, conf.reserved_host_memory_mb, conf.ram_allocation_ratio),
        (
            "DISK_GB",
            disk_gb,
            math.ceil(conf.reserved_host_disk_mb / 1024),
            conf.disk_allocation_ratio,
        ),
    )
    return {
        rc: _inventory(total, reserved, ratio) for rc, total, reserved, ratio in table if total > 0
    }


def nested_inventory(value: Any) -> ReportedInventory:
    """A nested provider's inventory: a total, a mapping of placement fields, or an
    object with those attributes."""
    if isinstance(value, int):
        return _inventory(value)

    def get(key: str, default: Any = None) -> Any:
        if isinstance(value, Mapping):
            return value.get(key, default)
        return getattr(value, key, default)

    total = int(get("total"))
    return ReportedInventory(
        total=total,
        reserved=int(get("reserved", 0) or 0),
        min_unit=int(get("min_unit", 1) or 1),
        max_unit=int(get("max_unit", total) or total),
        step_size=int(get("step_size", 1) or 1),
        allocation_ratio=float(get("allocation_ratio", 1.0) or 1.0),
    )


def _nested(children: Sequence[NestedProviderInfo], root_name: str) -> list[ReportedProvider]:
    return [
        ReportedProvider(
            name=child.name,
            uuid=None,
            parent_name=child.parent_name or root_name,
            inventories={rc: nested_inventory(v) for rc, v in child.inventories.items()},
            traits=set(child.traits),
        )
        for child in children
    ]


def cpu_info(info: HostInfo) -> HostCPUInfo:
    """The architecture/address-bits/version summary the scheduler filters on."""
    return HostCPUInfo(
        arch=info.arch,
        native_arches=sorted(info.native_arches),
        emulated_arches=sorted(info.emulated_arches),
        maxphysaddr_bits=info.maxphysaddr_bits,
        cpu_mode=info.cpu_mode,
        cpu_model=info.cpu_model,
        libvirt_version=version_str(info.libvirt_version),
        qemu_version=version_str(info.qemu_version),
        machine_types={arch: list(names) for arch, names in info.machine_types.items()},
    )


def build_report(
    conf: cfg.ConfigOpts,
    host: str,
    info: HostInfo,
    nested: Sequence[NestedProviderInfo] = (),
    root_resources: bool = True,
) -> HostReport:
    """The report of ``host`` from its discovered ``info``; ``nested`` are child
    providers (GPUs, slices); ``root_resources`` False leaves the root without
    VCPU/MEMORY_MB/DISK_GB (a host carved into slices)."""
    inventories = (
        root_inventories(conf, info.vcpus, info.memory_mb, info.disk_gb) if root_resources else {}
    )
    root = ReportedProvider(
        name=host, uuid=None, parent_name=None, inventories=inventories, traits=set(info.traits)
    )
    return HostReport(
        host=host,
        hypervisor_hostname=info.hostname,
        hypervisor_type=info.hypervisor_type,
        hypervisor_version=info.qemu_version,
        vcpus=info.vcpus,
        memory_mb=info.memory_mb,
        local_gb=info.disk_gb,
        cpu_info=cpu_info(info),
        providers=[root, *_nested(nested, host)],
        tunnel_address=conf.network.tunnel_address,
    )
