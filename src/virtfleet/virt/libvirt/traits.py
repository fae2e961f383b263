"""Host capability -> os-traits trait: every mapping is a table row."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import os_traits

from virtfleet.objects.extra_specs import MAXPHYSADDR_GUEST_ARCHES
from virtfleet.virt import arch

MIN_LIBVIRT_MAXPHYSADDR = 8_007_000  # libvirt 8.7.0 added <maxphysaddr>
MIN_QEMU_MAXPHYSADDR = 2_007_000  # QEMU 2.7.0: phys-bits / host-phys-bits

DISK_BUS_TRAITS: dict[str, str] = {
    "fdc": os_traits.COMPUTE_STORAGE_BUS_FDC,
    "ide": os_traits.COMPUTE_STORAGE_BUS_IDE,
    "sata": os_traits.COMPUTE_STORAGE_BUS_SATA,
    "scsi": os_traits.COMPUTE_STORAGE_BUS_SCSI,
    "usb": os_traits.COMPUTE_STORAGE_BUS_USB,
    "virtio": os_traits.COMPUTE_STORAGE_BUS_VIRTIO,
}

VIDEO_MODEL_TRAITS: dict[str, str] = {
    "bochs": os_traits.COMPUTE_GRAPHICS_MODEL_BOCHS,
    "cirrus": os_traits.COMPUTE_GRAPHICS_MODEL_CIRRUS,
    "none": os_traits.COMPUTE_GRAPHICS_MODEL_NONE,
    "qxl": os_traits.COMPUTE_GRAPHICS_MODEL_QXL,
    "vga": os_traits.COMPUTE_GRAPHICS_MODEL_VGA,
    "virtio": os_traits.COMPUTE_GRAPHICS_MODEL_VIRTIO,
    "vmvga": os_traits.COMPUTE_GRAPHICS_MODEL_VMVGA,
}

VIF_MODEL_TRAITS: dict[str, str] = {
    "e1000": os_traits.COMPUTE_NET_VIF_MODEL_E1000,
    "e1000e": os_traits.COMPUTE_NET_VIF_MODEL_E1000E,
    "lan9118": os_traits.COMPUTE_NET_VIF_MODEL_LAN9118,
    "ne2k_pci": os_traits.COMPUTE_NET_VIF_MODEL_NE2K_PCI,
    "pcnet": os_traits.COMPUTE_NET_VIF_MODEL_PCNET,
    "rtl8139": os_traits.COMPUTE_NET_VIF_MODEL_RTL8139,
    "spapr-vlan": os_traits.COMPUTE_NET_VIF_MODEL_SPAPR_VLAN,
    "virtio": os_traits.COMPUTE_NET_VIF_MODEL_VIRTIO,
}


@dataclass(frozen=True)
class TraitFacts:
    """The discovered facts traits are derived from."""

    host_arch: str
    runnable_arches: tuple[str, ...]
    hypervisor_type: str
    libvirt_version: int
    qemu_version: int
    cpu_mode: str
    disk_buses: tuple[str, ...]
    video_models: tuple[str, ...]
    vif_models: tuple[str, ...]
    bios: bool
    uefi: bool
    native_arches: tuple[str, ...] = ()  # runnable without emulation (x86_64: + i686)
    virt_type: str = "kvm"  # domain type of native guests (kvm | qemu)

    @property
    def supports_maxphysaddr(self) -> bool:
        """libvirt >= 8.7.0 driving QEMU >= 2.7.0."""
        return (
            self.hypervisor_type.upper() == "QEMU"
            and self.libvirt_version >= MIN_LIBVIRT_MAXPHYSADDR
            and self.qemu_version >= MIN_QEMU_MAXPHYSADDR
            # a KVM guest without a <cpu> element has nowhere to put <maxphysaddr>
            and not (self.virt_type == "kvm" and self.cpu_mode == "none")
        )


FLAG_TRAITS: tuple[tuple[str, Callable[[TraitFacts], bool]], ...] = (
    (os_traits.COMPUTE_NODE, lambda f: True),
    (os_traits.COMPUTE_ADDRESS_SPACE_EMULATED, lambda f: f.supports_maxphysaddr),
    (
        # host-passthrough guests are of the host's own arch: only x86_64 ones take it
        os_traits.COMPUTE_ADDRESS_SPACE_PASSTHROUGH,
        lambda f: (
            f.supports_maxphysaddr
            and f.virt_type == "kvm"
            and f.cpu_mode == "host-passthrough"
            and f.host_arch in MAXPHYSADDR_GUEST_ARCHES
        ),
    ),
    (os_traits.COMPUTE_FIRMWARE_BIOS, lambda f: f.bios),
    (os_traits.COMPUTE_FIRMWARE_UEFI, lambda f: f.uefi),
)
"""Traits that hold when a predicate over the facts does."""


def _mapped(values: Iterable[str], table: dict[str, str]) -> set[str]:
    return {table[v] for v in values if v in table}


def host_traits(facts: TraitFacts) -> frozenset[str]:
    """Every trait the facts imply: arch, address space, firmware, buses, models.

    ``HW_ARCH_<X>`` for the host arch and every arch its CPU runs natively (an x86_64
    host is also an i686 one: ``hw_architecture=i686`` guests run there under KVM);
    ``COMPUTE_ARCH_<X>`` for every arch it runs at all, natively or under TCG.
    """
    traits = {trait for trait, holds in FLAG_TRAITS if holds(facts)}
    native = {facts.host_arch, *facts.native_arches}
    traits.update(t for a in native if (t := arch.hw_arch_trait(a)))
    traits.update(t for a in facts.runnable_arches if (t := arch.compute_arch_trait(a)))
    traits |= _mapped(facts.disk_buses, DISK_BUS_TRAITS)
    traits |= _mapped(facts.video_models, VIDEO_MODEL_TRAITS)
    traits |= _mapped(facts.vif_models, VIF_MODEL_TRAITS)
    return frozenset(traits)
