"""Helpers of the scheduler tests: a fleet of host records plus a real PlacementService
over SQLite, and boot requests."""

from __future__ import annotations

import dataclasses
import importlib
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from support.guest import guest_request
from virtfleet.db import hosts as host_db
from virtfleet.db.base import Base
from virtfleet.db.engine import Database
from virtfleet.placement.service import PlacementService
from virtfleet.placement.types import Inventory
from virtfleet.scheduler.manager import Scheduler
from virtfleet.scheduler.resource_request import FlavorSpec, RequestSpec

ARCH_CPU: dict[str, dict[str, Any]] = {
    "x86_64": {
        "arch": "x86_64",
        "native_arches": ["x86_64", "i686"],
        "emulated_arches": ["aarch64", "riscv64", "s390x"],
        "machine_types": {
            "x86_64": ["pc", "q35"],
            "i686": ["pc", "q35"],
            "aarch64": ["virt"],
            "riscv64": ["virt"],
            "s390x": ["s390-ccw-virtio"],
        },
        "maxphysaddr_bits": 46,
    },
    "aarch64": {
        "arch": "aarch64",
        "native_arches": ["aarch64"],
        "emulated_arches": ["x86_64"],
        "machine_types": {"aarch64": ["virt"], "x86_64": ["q35"]},
        "maxphysaddr_bits": None,
    },
}
ARCH_TRAITS = {"x86_64": "HW_ARCH_X86_64", "aarch64": "HW_ARCH_AARCH64"}


def uid(name: str) -> str:
    """A stable uuid for a test name (placement consumers must be uuids)."""
    return str(uuid.uuid5(uuid.NAMESPACE_OID, name))


@dataclasses.dataclass
class HostReport:
    host: str
    hypervisor_hostname: str
    hypervisor_type: str = "QEMU"
    hypervisor_version: int = 8002000
    vcpus: int = 16
    memory_mb: int = 65536
    local_gb: int = 500


def create_schema(db: Database) -> None:
    for area in ("hosts", "placement", "compute", "image"):
        try:
            importlib.import_module(f"virtfleet.db.models.{area}")
        except ImportError:
            continue
    Base.metadata.create_all(db.engine)


class Fleet:
    """Adds hosts to the compute nodes table and to placement, like an agent would."""

    def __init__(self, db: Database, placement: PlacementService) -> None:
        self.db = db
        self.placement = placement

    def add(
        self,
        name: str,
        arch: str = "x86_64",
        vcpus: int = 16,
        memory_mb: int = 65536,
        disk_gb: int = 500,
        traits: Iterable[str] = (),
        emulates: Iterable[str] | None = None,
        cpu: Mapping[str, Any] | None = None,
        extra_inventory: Mapping[str, int] | None = None,
    ) -> str:
        """Add a host; returns its uuid (= root provider uuid)."""
        cpu_info = {**ARCH_CPU[arch], **(cpu or {})}
        if emulates is not None:
            cpu_info["emulated_arches"] = list(emulates)
        report = HostReport(name, name, vcpus=vcpus, memory_mb=memory_mb, local_gb=disk_gb)
        record = host_db.upsert_host(self.db, report, cpu_info)
        runnable = [*cpu_info["native_arches"], *cpu_info["emulated_arches"]]
        all_traits = {ARCH_TRAITS[arch], *(f"COMPUTE_ARCH_{a.upper()}" for a in runnable)}
        all_traits.discard("COMPUTE_ARCH_I686")
        all_traits.update(traits)
        inventory = {"VCPU": vcpus, "MEMORY_MB": memory_mb, "DISK_GB": disk_gb}
        inventory.update(extra_inventory or {})
        self.provider(record.uuid, name, inventory, all_traits)
        return record.uuid

    def provider(
        self,
        uuid: str,
        name: str,
        inventory: Mapping[str, int],
        traits: Iterable[str] = (),
        parent_uuid: str | None = None,
    ) -> None:
        """Create a provider with ``inventory`` (totals) and ``traits``."""
        self.placement.create_provider(name, uuid=uuid, parent_uuid=parent_uuid)
        for rc in inventory:
            if rc.startswith("CUSTOM_"):
                self.placement.ensure_resource_class(rc)
        generation = self.placement.set_inventories(
            uuid, 0, {rc: Inventory(total=n) for rc, n in inventory.items() if n}
        )
        for trait in traits:
            if trait.startswith("CUSTOM_"):
                self.placement.ensure_trait(trait)
        self.placement.set_provider_traits(uuid, generation, set(traits))

    def use(self, host_uuid: str, consumer: str, **resources: int) -> None:
        """Let another consumer take ``resources`` on ``host_uuid``."""
        self.placement.replace_allocations(
            uid(consumer), {host_uuid: resources}, "other", "other", consumer_generation=None
        )


def boot_request(
    instance: str = "inst-1",
    vcpus: int = 2,
    memory_mb: int = 2048,
    root_gb: int = 10,
    image: Mapping[str, object] | None = None,
    **kwargs: Any,
) -> RequestSpec:
    """A boot request for ``instance`` (``extra_specs=`` for the flavor), with the
    guest request the Compute API would resolve."""
    extra_specs = kwargs.pop("extra_specs", {})
    flavor = FlavorSpec(vcpus, memory_mb, root_gb, extra_specs=extra_specs)
    kwargs.setdefault("guest", guest_request(image, extra_specs, memory_mb))
    return RequestSpec(uid(instance), "project", "user", flavor, dict(image or {}), **kwargs)


SchedulerFactory = Callable[..., Scheduler]
BootFactory = Callable[..., RequestSpec]
