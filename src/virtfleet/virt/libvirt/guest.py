"""Guest builders: guest request + host -> one policy decision -> domain XML objects.

:func:`resolve` makes every host-dependent choice once (domain type, the machine and
firmware the guest request leaves open, CPU, buses, console) into a
:class:`ResolvedGuest`; :func:`build_domain` maps that
decision onto :mod:`virtfleet.virt.libvirt.config` objects without deciding anything.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

from oslo_config import cfg

from virtfleet import __version__, errors
from virtfleet.objects.guest_request import MaxPhysAddr
from virtfleet.virt import arch
from virtfleet.virt.libvirt import config, device_properties
from virtfleet.virt.libvirt.host import instances_path
from virtfleet.virt.types import GuestInterface, GuestSpec, HostInfo

DOMAIN_NAME_PREFIX = "vf-"
CONSOLE_LOG = "console.log"
DISK_FILE = "disk"
IMAGE_FORMATS = ("qcow2", "raw")
X86_ARCHES = ("x86_64", "i686")
DISK_DEV_PREFIX = {
    "virtio": "vd",
    "scsi": "sd",
    "sata": "sd",
    "usb": "sd",
    "ide": "hd",
    "fdc": "fd",
}
RNG_MODELS = ("virtio",)
#: The SMBIOS system a guest sees, as Nova writes it: cloud-init's OpenStack datasource
#: (and ds-identify) runs only where the product is "OpenStack Nova" (or "OpenStack
#: Compute"), and reads the instance uuid from the serial.
SMBIOS_MANUFACTURER = "OpenStack Foundation"
SMBIOS_PRODUCT = "OpenStack Nova"
SMBIOS_FAMILY = "Virtual Machine"


def domain_name(instance_uuid: str) -> str:
    """The libvirt domain name of an instance (unique per host)."""
    return f"{DOMAIN_NAME_PREFIX}{instance_uuid}"


@dataclass(frozen=True)
class CpuChoice:
    """The guest CPU; ``mode`` None means no ``<cpu>`` element at all."""

    mode: str | None
    model: str | None = None
    maxphysaddr: MaxPhysAddr | None = None


@dataclass(frozen=True)
class ResolvedGuest:
    """Every decision about one guest, made once; the XML follows from it."""

    spec: GuestSpec
    arch: str
    emulated: bool
    domain_type: str
    machine: str
    emulator: str | None
    cpu: CpuChoice
    firmware: str | None  # "efi", or None for the machine's default (BIOS / bare)
    disk_bus: str
    vif_model: str
    cdrom_bus: str | None  # None: the arch has no CD-ROM bus
    video_model: str | None
    input_bus: str | None
    console_target: str
    vnc_listen: str | None  # None: no graphical console (no video device)
    guest_agent: bool  # the QEMU guest agent's virtio-serial channel
    features: tuple[str, ...]
    timers: tuple[tuple[str, str, str], ...]
    smbios: bool
    rng_model: str | None
    kernel_cmdline: str | None
    instance_dir: str
    disk_path: str | None
    console_log_path: str
    created: str

    @property
    def name(self) -> str:
        return domain_name(self.spec.instance_uuid)


def resolve(
    spec: GuestSpec,
    host: HostInfo,
    conf: cfg.ConfigOpts,
    now: datetime.datetime | None = None,
) -> ResolvedGuest:
    """Decide everything about ``spec`` on ``host``; InvalidInput names what is wrong."""
    if spec.image_path and spec.image_format not in IMAGE_FORMATS:
        raise errors.InvalidInput(
            f"image format {spec.image_format!r} is not one of: {', '.join(IMAGE_FORMATS)}"
        )
    guest_arch = _guest_arch(spec, host)
    row = arch.get(guest_arch)
    emulated = not arch.runs_natively(host.arch, guest_arch)
    domain_type = (
        "kvm"
        if not emulated and host.virt_type == "kvm" and guest_arch in host.kvm_arches
        else "qemu"
    )
    machine = _machine(spec, host, guest_arch)
    firmware = _firmware(spec, host, guest_arch)
    disk_bus = (
        device_properties.choice(spec, "hw_disk_bus", row.disk_buses, guest_arch)
        or row.disk_buses[0]
    )
    video = device_properties.choice(spec, "hw_video_model", row.video_models, guest_arch)
    video_model = None if video in (None, "none") else video
    tables = not row.tables_need_uefi or firmware == "efi"
    instance_dir = spec.instance_dir or os.path.join(instances_path(conf), spec.instance_uuid)
    return ResolvedGuest(
        spec=spec,
        arch=guest_arch,
        emulated=emulated,
        domain_type=domain_type,
        machine=machine,
        emulator=host.emulators.get(guest_arch),
        cpu=_cpu(spec, host, row, domain_type),
        firmware=firmware,
        disk_bus=disk_bus,
        vif_model=device_properties.choice(spec, "hw_vif_model", row.vif_models, guest_arch)
        or row.vif_models[0],
        cdrom_bus=_cdrom_bus(row, machine),
        video_model=video_model,
        input_bus=row.input_bus if video_model else None,
        console_target=row.console_target,
        vnc_listen=str(conf.console.vnc_listen) if video_model else None,
        guest_agent=_guest_agent(spec),
        features=tuple(f for f in row.features if f != "acpi" or tables),
        timers=row.timers,
        smbios=row.smbios and tables,
        rng_model=device_properties.choice(spec, "hw_rng_model", RNG_MODELS),
        kernel_cmdline=_cmdline(spec, row),
        instance_dir=instance_dir,
        disk_path=os.path.join(instance_dir, DISK_FILE) if spec.image_path else None,
        console_log_path=spec.console_log_path or os.path.join(instance_dir, CONSOLE_LOG),
        created=(now or datetime.datetime.now(datetime.UTC)).isoformat(timespec="seconds"),
    )


def _guest_arch(spec: GuestSpec, host: HostInfo) -> str:
    """The guest request's arch, else the host's."""
    guest_arch = spec.guest.arch or host.arch
    if guest_arch not in host.runnable_arches:
        raise errors.InvalidInput(
            f"host {host.hostname} cannot run {guest_arch} guests; it runs: "
            f"{', '.join(host.runnable_arches)}"
        )
    return guest_arch


def _machine(spec: GuestSpec, host: HostInfo, guest_arch: str) -> str:
    """The requested machine type, else the arch default; either must be offered for
    the arch."""
    machine = spec.guest.machine_type or arch.get(guest_arch).machine
    offered = host.machine_types.get(guest_arch, ())
    if machine not in offered:
        raise errors.InvalidInput(
            f"machine type {machine!r} is not available for {guest_arch} on host "
            f"{host.hostname}; valid: {', '.join(offered) or 'none'}"
        )
    return machine


def _firmware(spec: GuestSpec, host: HostInfo, guest_arch: str) -> str | None:
    """UEFI when asked for, or by default for arches that prefer it (not for kernel boot)."""
    requested = spec.guest.firmware
    has_uefi = guest_arch in host.uefi_arches
    if requested == "uefi":
        if not has_uefi:
            raise errors.InvalidInput(
                f"hw_firmware_type=uefi: host {host.hostname} has no UEFI firmware for {guest_arch}"
            )
        return "efi"
    if requested is None and has_uefi and arch.get(guest_arch).uefi_preferred:
        return None if spec.kernel_path else "efi"
    return None


def _cdrom_bus(row: arch.ArchInfo, machine: str) -> str | None:
    """SATA on q35, IDE on the i440fx 'pc' machines, else the arch's table value."""
    if row.name in X86_ARCHES and "q35" not in machine:
        return "ide"
    return row.cdrom_bus


def _guest_agent(spec: GuestSpec) -> bool:
    """Image property ``hw_qemu_guest_agent`` (yes/no, true/false)."""
    value = spec.image_properties.get("hw_qemu_guest_agent")
    if value is None:
        return False
    if value.lower() in ("yes", "true", "1", "on"):
        return True
    if value.lower() in ("no", "false", "0", "off"):
        return False
    raise errors.InvalidInput(
        f"image property hw_qemu_guest_agent={value!r} is not a boolean (yes or no)"
    )


def _cmdline(spec: GuestSpec, row: arch.ArchInfo) -> str | None:
    """The kernel command line: as given, else the arch's console for kernel boot."""
    if not spec.kernel_path:
        return None
    return spec.cmdline if spec.cmdline is not None else f"console={row.kernel_console}"


def _cpu(spec: GuestSpec, host: HostInfo, row: arch.ArchInfo, domain_type: str) -> CpuChoice:
    """Host CPU mode for KVM guests, the arch's safe model under TCG; maxphysaddr."""
    phys = spec.guest.maxphysaddr
    if domain_type == "kvm":
        mode = None if host.cpu_mode == "none" else host.cpu_mode
        model = None
        if mode == "custom":
            model = host.cpu_models[0] if host.cpu_models else row.tcg_cpu_model
    else:
        mode = row.tcg_cpu_mode if row.cpu_supported else None
        model = row.tcg_cpu_model if mode == "custom" else None
    if phys is not None:
        _check_maxphysaddr(phys, spec, host, row, domain_type, mode)
    return CpuChoice(mode=mode, model=model, maxphysaddr=phys)


def _check_maxphysaddr(
    phys: MaxPhysAddr,
    spec: GuestSpec,
    host: HostInfo,
    row: arch.ArchInfo,
    domain_type: str,
    cpu_mode: str | None,
) -> None:
    """libvirt only takes maxphysaddr for x86_64 guests with a <cpu> (QEMU refuses
    phys-bits for i686); passthrough needs KVM."""
    if row.name != "x86_64" or cpu_mode is None:
        raise errors.InvalidInput(
            f"hw:maxphysaddr_mode is only supported for x86_64 guests, not {row.name}"
        )
    if phys.mode == "passthrough" and (domain_type != "kvm" or cpu_mode != "host-passthrough"):
        raise errors.InvalidInput(
            "hw:maxphysaddr_mode=passthrough needs a KVM guest with CPU mode "
            f"host-passthrough; host {host.hostname} uses {domain_type}/{cpu_mode}"
        )
    if phys.bits is None:
        return
    needed = device_properties.bits_needed_for_ram(spec.memory_mb)
    if phys.bits < needed:
        raise errors.InvalidInput(
            f"hw:maxphysaddr_bits={phys.bits} cannot address {spec.memory_mb} MiB of RAM; "
            f"it needs at least {needed} bits"
        )
    if domain_type == "kvm" and host.maxphysaddr_bits and phys.bits > host.maxphysaddr_bits:
        raise errors.InvalidInput(
            f"hw:maxphysaddr_bits={phys.bits} exceeds the {host.maxphysaddr_bits} bits of "
            f"host {host.hostname}"
        )


def build_domain(guest: ResolvedGuest) -> config.Domain:
    """The domain XML objects for a resolved guest (no decisions made here)."""
    spec = guest.spec
    memory_kib = spec.memory_mb * 1024
    return config.Domain(
        type=guest.domain_type,
        name=guest.name,
        uuid=spec.instance_uuid,
        metadata=config.Metadata(instance=_metadata(guest)),
        memory=config.Memory(unit="KiB", value=memory_kib),
        current_memory=config.Memory(unit="KiB", value=memory_kib),
        vcpu=config.Vcpu(placement="static", count=spec.vcpus),
        sysinfo=_sysinfo(guest) if guest.smbios else None,
        os=_os(guest),
        features=_features(guest.features),
        cpu=_cpu_element(guest.cpu),
        clock=config.Clock(
            offset="utc",
            timers=[_timer(name, key, value) for name, key, value in guest.timers],
        ),
        on_poweroff="destroy",
        on_reboot="restart",
        on_crash="destroy",
        devices=_devices(guest),
    )


def _metadata(guest: ResolvedGuest) -> config.InstanceMetadata:
    spec = guest.spec
    return config.InstanceMetadata(
        uuid=spec.instance_uuid,
        name=spec.name,
        flavor=spec.flavor_name or None,
        image=spec.image_id or None,
        created=guest.created,
        instance_dir=guest.instance_dir,
        console_log=guest.console_log_path,
        items=[config.MetaItem(key=k, value=v) for k, v in sorted(spec.metadata.items())],
    )


def _sysinfo(guest: ResolvedGuest) -> config.Sysinfo:
    entries = {
        "manufacturer": SMBIOS_MANUFACTURER,
        "product": SMBIOS_PRODUCT,
        "version": __version__,
        "serial": guest.spec.instance_uuid,
        "uuid": guest.spec.instance_uuid,
        "family": SMBIOS_FAMILY,
    }
    return config.Sysinfo(
        type="smbios",
        system=config.SysinfoSystem(
            entries=[config.SysinfoEntry(name=k, value=v) for k, v in entries.items()]
        ),
    )


def _os(guest: ResolvedGuest) -> config.Os:
    spec = guest.spec
    kernel_boot = spec.kernel_path is not None
    return config.Os(
        firmware=guest.firmware,
        type=config.OsType(arch=guest.arch, machine=guest.machine, value="hvm"),
        kernel=spec.kernel_path,
        initrd=spec.ramdisk_path if kernel_boot else None,
        cmdline=guest.kernel_cmdline,
        boot=[] if kernel_boot else [config.BootDevice(dev="hd")],
        smbios=config.os.Smbios(mode="sysinfo") if guest.smbios else None,
    )


def _features(names: tuple[str, ...]) -> config.Features | None:
    if not names:
        return None
    return config.Features(acpi="acpi" in names, apic="apic" in names, pae="pae" in names)


def _cpu_element(cpu: CpuChoice) -> config.Cpu | None:
    if cpu.mode is None:
        return None
    phys = cpu.maxphysaddr
    return config.Cpu(
        mode=cpu.mode,
        match="exact" if cpu.mode == "custom" else None,
        model=config.CpuModel(fallback="forbid", name=cpu.model) if cpu.model else None,
        maxphysaddr=config.MaxPhysAddr(mode=phys.mode, bits=phys.bits) if phys else None,
    )


def _timer(name: str, key: str, value: str) -> config.Timer:
    if key == "present":
        return config.Timer(name=name, present=value == "yes")
    return config.Timer(name=name, tickpolicy=value)


def _devices(guest: ResolvedGuest) -> config.Devices:
    return config.Devices(
        emulator=guest.emulator,
        disks=[
            *([_root_disk(guest)] if guest.disk_path else []),
            *([_config_drive(guest)] if guest.spec.config_drive_path else []),
        ],
        interfaces=[_interface(nic, guest.vif_model) for nic in guest.spec.interfaces],
        serials=_serials(guest),
        consoles=[_console(guest)],
        channels=[_agent_channel()] if guest.guest_agent else [],
        inputs=[config.Input(type="tablet", bus=guest.input_bus)] if guest.input_bus else [],
        graphics=[_vnc(guest.vnc_listen)] if guest.vnc_listen else [],
        videos=[_video(guest.video_model)] if guest.video_model else [],
        hostdevs=mdev_hostdevs(guest.spec.mdev_uuids),
        memballoon=config.MemBalloon(model="virtio"),
        rngs=[_rng(guest.rng_model)] if guest.rng_model else [],
    )


def _interface(nic: GuestInterface, model: str) -> config.Interface:
    return config.Interface(
        type="bridge",
        mac=config.Mac(address=nic.mac_address),
        source=config.InterfaceSource(bridge=nic.bridge),
        target=config.InterfaceTarget(dev=nic.tap),
        model=config.ModelType(type=model),
        mtu=config.Mtu(size=nic.mtu),
    )


def _root_disk(guest: ResolvedGuest) -> config.Disk:
    return config.Disk(
        type="file",
        device="disk",
        driver=config.DiskDriver(name="qemu", type="qcow2"),
        source=config.DiskSource(file=guest.disk_path),
        target=config.DiskTarget(dev=f"{DISK_DEV_PREFIX[guest.disk_bus]}a", bus=guest.disk_bus),
    )


def _config_drive(guest: ResolvedGuest) -> config.Disk:
    """The config drive: a read-only raw CD-ROM on the arch's CD-ROM bus."""
    bus = guest.cdrom_bus
    if bus is None:
        raise errors.InvalidInput(
            f"guest architecture {guest.arch} has no CD-ROM bus for the config drive"
        )
    prefix = DISK_DEV_PREFIX[bus]
    shares_root_bus = guest.disk_path is not None and DISK_DEV_PREFIX[guest.disk_bus] == prefix
    return config.Disk(
        type="file",
        device="cdrom",
        driver=config.DiskDriver(name="qemu", type="raw"),
        source=config.DiskSource(file=guest.spec.config_drive_path),
        target=config.DiskTarget(dev=f"{prefix}{'b' if shares_root_bus else 'a'}", bus=bus),
        readonly=True,
    )


def _log_source(guest: ResolvedGuest) -> config.CharSource:
    return config.CharSource(path=guest.console_log_path, append=True)


def _serials(guest: ResolvedGuest) -> list[config.Serial]:
    """A serial port backs the console, except where the console is its own device.
    It is a pty (the interactive serial console) whose output QEMU also logs."""
    if guest.console_target != "serial":
        return []
    return [config.Serial(type="pty", log=_log(guest), target=config.CharTarget(port=0))]


def _console(guest: ResolvedGuest) -> config.Console:
    """The console: the serial port again (pty, logged), or its own file-backed
    device where the arch's console is not a serial port."""
    target = config.CharTarget(type=guest.console_target, port=0)
    if guest.console_target == "serial":
        return config.Console(type="pty", log=_log(guest), target=target)
    return config.Console(type="file", source=_log_source(guest), target=target)


def _log(guest: ResolvedGuest) -> config.CharLog:
    return config.CharLog(file=guest.console_log_path, append=True)


def _vnc(listen: str) -> config.Graphics:
    """QEMU's VNC server on a port libvirt picks, on ``[console] vnc_listen``."""
    return config.Graphics(type="vnc", autoport=True, listen=listen)


AGENT_CHANNEL = "org.qemu.guest_agent.0"


def _agent_channel() -> config.Channel:
    """The virtio-serial port the QEMU guest agent talks on (libvirt makes the socket)."""
    return config.Channel(
        type="unix", target=config.ChannelTarget(type="virtio", name=AGENT_CHANNEL)
    )


def _video(model: str) -> config.Video:
    return config.Video(model=config.VideoModel(type=model, heads=1, primary=True))


def _rng(model: str) -> config.Rng:
    return config.Rng(model=model, backend=config.RngBackend(model="random", path="/dev/urandom"))


def mdev_hostdevs(mdev_uuids: tuple[str, ...]) -> list[config.Hostdev]:
    """``<hostdev type='mdev'>`` for mediated devices already created for the guest."""
    return [
        config.Hostdev(
            mode="subsystem",
            type="mdev",
            model="vfio-pci",
            source=config.HostdevSource(address=config.Address(uuid=uuid)),
        )
        for uuid in mdev_uuids
    ]
