"""Plain value types shared by the driver and its callers: the host and the guest."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from virtfleet.objects.guest_request import GuestRequest


@dataclass(frozen=True)
class NumaCell:
    """One host NUMA cell: its id, CPU ids and memory."""

    id: int
    cpus: tuple[int, ...]
    memory_mb: int


@dataclass(frozen=True)
class HostInfo:
    """Everything discovered about one hypervisor host.

    ``native_arches`` run without emulation (KVM when ``virt_type`` is kvm and
    ``kvm_arches`` offers it); ``emulated_arches`` run under QEMU TCG. Both are
    canonical arch names; together they are :attr:`runnable_arches`.
    """

    hostname: str
    arch: str
    vcpus: int
    memory_mb: int
    disk_gb: int
    numa_cells: tuple[NumaCell, ...]
    libvirt_version: int  # libvirt's encoding: major * 1_000_000 + minor * 1_000 + micro
    qemu_version: int  # same encoding
    hypervisor_type: str  # getType(), e.g. "QEMU"
    cpu_model: str | None
    cpu_vendor: str | None
    virt_type: str  # kvm | qemu ([libvirt] virt_type)
    cpu_mode: str  # CPU mode in force for native KVM guests
    cpu_models: tuple[str, ...]  # named models for cpu_mode == custom
    maxphysaddr_bits: int | None
    native_arches: tuple[str, ...]
    emulated_arches: tuple[str, ...]
    kvm_arches: tuple[str, ...]  # arches for which libvirt offers domain type kvm
    machine_types: Mapping[str, tuple[str, ...]]  # arch -> names and canonical names
    emulators: Mapping[str, str]  # arch -> emulator path
    uefi_arches: tuple[str, ...]  # arches with UEFI firmware on this host
    traits: frozenset[str]
    nested_providers: tuple[str, ...] = ()  # reserved for slices and mdev parents

    @property
    def runnable_arches(self) -> tuple[str, ...]:
        """Every arch this host runs, natively or emulated, sorted."""
        return tuple(sorted({*self.native_arches, *self.emulated_arches}))


@dataclass(frozen=True)
class GuestInterface:
    """One guest NIC on a host bridge: ``<interface type='bridge'>`` with the port's
    MAC, the host-side device ``tap`` and the network's ``mtu``."""

    port_id: str
    mac_address: str
    bridge: str
    tap: str
    mtu: int = 1500


@dataclass(frozen=True)
class GuestSpec:
    """What the agent asks the driver to boot: flavor, image and files, already resolved.

    ``guest`` holds the guest facts (arch, machine type, firmware, maxphysaddr, ...) as
    the Compute API resolved them; ``extra_specs`` are the flavor's and
    ``image_properties`` the image's (string values), read for the device models and
    handed to slice templates.
    ``image_path`` is a local qcow2/raw file (``image_format``); ``kernel_path`` with an
    optional ``ramdisk_path`` and ``cmdline`` asks for direct kernel boot. ``instance_dir``
    and ``console_log_path`` default to ``<instances_path>/<uuid>`` and a file in it.
    ``mdev_uuids`` are mediated devices already created for this guest; ``interfaces``
    its NICs, in order, on bridges the agent has plugged.
    """

    instance_uuid: str
    name: str
    vcpus: int
    memory_mb: int
    root_gb: int = 0
    flavor_name: str = ""
    extra_specs: Mapping[str, str] = field(default_factory=dict)
    image_id: str = ""
    image_properties: Mapping[str, str] = field(default_factory=dict)
    image_path: str | None = None
    image_format: str = "qcow2"
    kernel_path: str | None = None
    ramdisk_path: str | None = None
    cmdline: str | None = None
    instance_dir: str | None = None
    console_log_path: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    mdev_uuids: tuple[str, ...] = ()
    guest: GuestRequest = field(default_factory=GuestRequest)
    interfaces: tuple[GuestInterface, ...] = ()
    config_drive_path: str | None = None  # the config drive ISO, attached as a CD-ROM
    # a moved guest's root disk (cold migration, resize, revert): copied, not made anew
    disk_source: str | None = None
    # the root disk is already in the instance directory (an evacuation on shared
    # storage): used as it is, never made anew, and kept when the spawn fails
    disk_in_place: bool = False
