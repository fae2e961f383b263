"""What an agent tells the control plane about its host (RPC ``conductor.report_host``).

A :class:`HostReport` carries the compute-node facts (for the compute nodes table and
``os-hypervisors``), the CPU/architecture summary the scheduler filters on, and the
host's resource provider tree: the root provider first, then nested providers (GPUs,
slices), each naming its parent, with inventories and the exact set of traits.
"""

from __future__ import annotations

from typing import Any

from oslo_versionedobjects import fields

from virtfleet import errors
from virtfleet.objects.base import register
from virtfleet.objects.defaults import DefaultedObject


@register
class ReportedInventory(DefaultedObject):
    """One resource class's inventory on one provider (placement's fields)."""

    # Version 1.0: initial version
    VERSION = "1.0"

    fields = {
        "total": fields.NonNegativeIntegerField(),
        "reserved": fields.NonNegativeIntegerField(default=0),
        "min_unit": fields.NonNegativeIntegerField(default=1),
        "max_unit": fields.NonNegativeIntegerField(),
        "step_size": fields.NonNegativeIntegerField(default=1),
        "allocation_ratio": fields.NonNegativeFloatField(default=1.0),
    }

    total: int
    reserved: int
    min_unit: int
    max_unit: int
    step_size: int
    allocation_ratio: float


@register
class ReportedProvider(DefaultedObject):
    """One resource provider of the host's tree. The root has no ``parent_name``."""

    # Version 1.0: initial version
    VERSION = "1.0"

    fields = {
        "name": fields.StringField(),
        "uuid": fields.UUIDField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
        "parent_name": fields.StringField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
        "inventories": fields.Field(fields.Dict(fields.Object("ReportedInventory")), default={}),
        "traits": fields.SetOfStringsField(default=set()),
    }

    name: str
    uuid: str | None
    parent_name: str | None
    inventories: dict[str, ReportedInventory]
    traits: set[str]


@register
class HostCPUInfo(DefaultedObject):
    """What the host can run: architectures, address bits, versions, machine types."""

    # Version 1.0: initial version
    VERSION = "1.0"

    fields = {
        "arch": fields.StringField(),
        "native_arches": fields.ListOfStringsField(default=[]),
        "emulated_arches": fields.ListOfStringsField(default=[]),
        "maxphysaddr_bits": fields.IntegerField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
        "cpu_mode": fields.StringField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
        "cpu_model": fields.StringField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
        "libvirt_version": fields.StringField(),
        "qemu_version": fields.StringField(),
        "machine_types": fields.DictOfListOfStringsField(default={}),
    }

    arch: str
    native_arches: list[str]
    emulated_arches: list[str]
    maxphysaddr_bits: int | None
    cpu_mode: str | None
    cpu_model: str | None
    libvirt_version: str
    qemu_version: str
    machine_types: dict[str, list[str]]


@register
class HostReport(DefaultedObject):
    """A host's facts and provider tree, sent at agent start and on every refresh
    (``tunnel_address``: the host's VXLAN endpoint, None without one)."""

    # Version 1.0: initial version
    # Version 1.1: tunnel_address
    VERSION = "1.1"

    fields = {
        "host": fields.StringField(),
        "hypervisor_hostname": fields.StringField(),
        "hypervisor_type": fields.StringField(),
        "hypervisor_version": fields.IntegerField(),
        "vcpus": fields.NonNegativeIntegerField(),
        "memory_mb": fields.NonNegativeIntegerField(),
        "local_gb": fields.NonNegativeIntegerField(),
        "cpu_info": fields.ObjectField("HostCPUInfo"),
        "providers": fields.ListOfObjectsField("ReportedProvider"),
        "tunnel_address": fields.StringField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
    }

    host: str
    hypervisor_hostname: str
    hypervisor_type: str
    hypervisor_version: int
    vcpus: int
    memory_mb: int
    local_gb: int
    cpu_info: HostCPUInfo
    providers: list[ReportedProvider]
    tunnel_address: str | None

    def obj_make_compatible(self, primitive: dict[str, Any], target_version: str) -> None:
        super().obj_make_compatible(primitive, target_version)
        if tuple(int(part) for part in target_version.split(".")) < (1, 1):
            primitive.pop("tunnel_address", None)

    @property
    def root(self) -> ReportedProvider:
        """The root provider (the compute node itself)."""
        roots = [p for p in self.providers if p.parent_name is None]
        if len(roots) != 1:
            raise errors.InvalidInput(
                f"host report of {self.host!r} must have exactly one root provider, "
                f"has {len(roots)}"
            )
        return roots[0]
