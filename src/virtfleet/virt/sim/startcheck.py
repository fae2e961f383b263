"""Checks real libvirt/QEMU make only when a domain starts (not at define time).

Probed on libvirt 9.0 + QEMU 7.2: CPU modes under TCG, ``<cpu>`` for arches without a
CPU driver, memory QEMU cannot allocate, host devices that are missing or busy, console
log files in directories that do not exist.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import libvirt

from virtfleet.virt.sim import capabilities
from virtfleet.virt.sim.domxml import DomainDef
from virtfleet.virt.sim.errors import libvirt_error
from virtfleet.virt.sim.nodedev import NodeDevices
from virtfleet.virt.sim.profile import HostProfile

# Guest arches libvirt's CPU driver knows; <cpu> for any other arch fails at start.
CPU_DRIVER_ARCHES = frozenset(
    {"x86_64", "i686", "aarch64", "armv7l", "armv6l", "ppc64", "ppc64le", "s390x"}
)


def check_start(
    definition: DomainDef,
    host: HostProfile,
    devices: NodeDevices,
    running: Iterable[DomainDef],
) -> None:
    """Raise the ``libvirtError`` starting ``definition`` on ``host`` would raise."""
    running = [other for other in running if other.uuid != definition.uuid]
    _check_cpu(definition, host)
    _check_firmware(definition, host)
    _check_log_files(definition)
    _check_mdevs(definition, devices, running)  # host devices are prepared before QEMU runs
    _check_pci(definition, devices, running)
    _check_resources(definition, host, running)


def _check_cpu(definition: DomainDef, host: HostProfile) -> None:
    if definition.cpu_mode is None:
        return
    if definition.arch not in CPU_DRIVER_ARCHES:
        raise libvirt_error(
            libvirt.VIR_ERR_NO_SUPPORT,
            f"'{definition.arch}' architecture is not supported by CPU driver",
            libvirt.VIR_FROM_CPU,
        )
    host_mode = definition.cpu_mode in ("host-passthrough", "host-model")
    tcg_refuses = definition.cpu_mode == "host-passthrough" or not host.is_native(definition.arch)
    if host_mode and definition.domain_type == "qemu" and tcg_refuses:
        raise libvirt_error(
            libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
            f"CPU mode '{definition.cpu_mode}' for {definition.arch} qemu domain on "
            f"{host.arch} host is not supported by hypervisor",
        )
    bits = definition.maxphysaddr.bits if definition.maxphysaddr else None
    if (
        bits is not None
        and definition.domain_type == "kvm"
        and host.maxphysaddr_bits is not None
        and bits > host.maxphysaddr_bits
    ):
        raise libvirt_error(
            libvirt.VIR_ERR_INTERNAL_ERROR,
            f"qemu unexpectedly closed the monitor: qemu-system-{definition.arch}: "
            f"phys-bits={bits} exceeds the host's {host.maxphysaddr_bits} physical address "
            f"bits",
        )


def _check_log_files(definition: DomainDef) -> None:
    """libvirt opens file-backed consoles before QEMU runs: their directory must exist
    (simulated hosts share this machine's filesystem, as the driver writes there)."""
    for path in definition.log_files:
        if not os.path.isdir(os.path.dirname(path) or "/"):
            raise libvirt_error(
                libvirt.VIR_ERR_SYSTEM_ERROR,
                f"Unable to open file: {path}: No such file or directory",
                libvirt.VIR_FROM_NONE,
                prefix=False,
            )


def _check_firmware(definition: DomainDef, host: HostProfile) -> None:
    wanted = definition.firmware
    if wanted and wanted not in capabilities.firmwares(definition.arch):
        raise libvirt_error(
            libvirt.VIR_ERR_OPERATION_FAILED, f"Unable to find any firmware to satisfy '{wanted}'"
        )


def _check_resources(definition: DomainDef, host: HostProfile, running: list[DomainDef]) -> None:
    if definition.domain_type == "kvm" and definition.vcpus > host.cpus:
        raise libvirt_error(
            libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
            f"Number of vCPUs ({definition.vcpus}) exceeds the host's {host.cpus} CPUs",
        )
    missing_nodes = sorted(node for node in definition.numa_nodes if node >= len(host.numa))
    if missing_nodes:
        raise libvirt_error(
            libvirt.VIR_ERR_CONFIG_UNSUPPORTED, f"NUMA node {missing_nodes[0]} is unavailable"
        )
    outside = sorted(cpu for cpu in definition.pinned_cpus if cpu >= host.cpus)
    if outside:
        raise libvirt_error(
            libvirt.VIR_ERR_SYSTEM_ERROR,
            f"cannot set CPU affinity on process: host CPU {outside[0]} does not exist "
            f"(host has CPUs 0-{host.cpus - 1}): Invalid argument",
        )
    used_kib = sum(other.memory_kib for other in running)
    if used_kib + definition.memory_kib > host.memory_mb * 1024:
        raise libvirt_error(
            libvirt.VIR_ERR_INTERNAL_ERROR,
            f"qemu unexpectedly closed the monitor: qemu-system-{definition.arch}: cannot "
            f"set up guest memory 'pc.ram': Cannot allocate memory",
        )


def _check_mdevs(definition: DomainDef, devices: NodeDevices, running: list[DomainDef]) -> None:
    for uuid in definition.mdev_uuids:
        if devices.active_mdev(uuid) is None:
            raise libvirt_error(
                libvirt.VIR_ERR_SYSTEM_ERROR,
                f"failed to access '/sys/bus/mdev/devices/{uuid}': No such file or directory",
            )
        user = next((other for other in running if uuid in other.mdev_uuids), None)
        if user is not None:
            raise libvirt_error(
                libvirt.VIR_ERR_OPERATION_INVALID,
                f"mediated device /sys/bus/mdev/devices/{uuid} is in use by driver QEMU, "
                f"domain {user.name}",
            )


def _check_pci(definition: DomainDef, devices: NodeDevices, running: list[DomainDef]) -> None:
    addresses = {gpu.address for gpu in devices.gpus.values()}
    for address in definition.pci_addresses:
        if address not in addresses:
            raise libvirt_error(
                libvirt.VIR_ERR_SYSTEM_ERROR,
                f"Device {address} not found: could not access "
                f"/sys/bus/pci/devices/{address}/config: No such file or directory",
            )
        user = next((other for other in running if address in other.pci_addresses), None)
        if user is not None:
            raise libvirt_error(
                libvirt.VIR_ERR_OPERATION_INVALID,
                f"PCI device {address} is in use by driver QEMU, domain {user.name}",
            )
