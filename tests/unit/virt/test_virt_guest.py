"""Guest builders: per-architecture XML, and every way a flavor/image can be refused."""

from __future__ import annotations

import dataclasses
import datetime
import functools
from pathlib import Path
from typing import Any

import pytest

import virtfleet
from support.guest import guest_request
from support.virt_fakes import FakeConnection
from virtfleet import errors
from virtfleet.conf import make_conf
from virtfleet.objects.guest_request import GuestRequest
from virtfleet.virt.libvirt import config, device_properties, guest, host
from virtfleet.virt.types import GuestSpec, HostInfo

UUID = "0a1b2c3d-0000-4000-8000-000000000001"
NOW = datetime.datetime(2026, 11, 22, 3, 0, tzinfo=datetime.UTC)
CONF = make_conf(data_dir="/srv/vf")


@functools.cache
def host_info(host_arch: str = "x86_64", virt_type: str = "kvm", cpu_mode: str = "") -> HostInfo:
    conf = make_conf(
        data_dir="/srv/vf", libvirt__virt_type=virt_type, libvirt__cpu_mode=cpu_mode or None
    )
    return host.discover(FakeConnection(host_arch=host_arch), conf)


def spec(**changes: Any) -> GuestSpec:
    """A guest spec; its guest request is what the Compute API would resolve from the
    image properties and extra specs given, unless ``guest=`` is."""
    base = GuestSpec(instance_uuid=UUID, name="web-1", vcpus=2, memory_mb=512)
    changed = dataclasses.replace(base, **changes)
    if "guest" in changes:
        return changed
    resolved = guest_request(changed.image_properties, changed.extra_specs, changed.memory_mb)
    return dataclasses.replace(changed, guest=resolved)


def build(guest_spec: GuestSpec, host: HostInfo | None = None) -> config.Domain:
    resolved = guest.resolve(guest_spec, host or host_info(), CONF, now=NOW)
    domain = guest.build_domain(resolved)
    assert config.Domain.parse(domain.to_xml()) == domain  # what we build round-trips
    return domain


def summary(domain: config.Domain) -> dict[str, Any]:
    """The parts of the domain the per-arch table pins."""
    assert domain.os is not None and domain.devices is not None
    cpu = domain.cpu
    features = domain.features
    return {
        "type": domain.type,
        "arch": domain.os.type.arch,
        "machine": domain.os.type.machine,
        "cpu": None if cpu is None else (cpu.mode, cpu.model.name if cpu.model else None),
        "firmware": domain.os.firmware,
        "console": [c.target.type for c in domain.devices.consoles if c.target],
        "serials": len(domain.devices.serials),
        "features": None
        if features is None
        else tuple(n for n in ("acpi", "apic", "pae") if getattr(features, n)),
        "timers": tuple(t.name for t in domain.clock.timers) if domain.clock else (),
        "emulator": domain.devices.emulator,
        "smbios": domain.sysinfo is not None,
    }


X86_TIMERS = ("rtc", "pit", "hpet")
CASES: list[tuple[str, dict[str, Any], dict[str, str], dict[str, Any]]] = [
    (
        "x86_64 kvm native",
        {},
        {},
        dict(type="kvm", arch="x86_64", machine="q35", cpu=("host-model", None), firmware=None,
             console=["serial"], serials=1, features=("acpi", "apic"), timers=X86_TIMERS,
             emulator="/usr/bin/qemu-system-x86_64", smbios=True),
    ),
    (
        "x86_64 TCG",
        {"virt_type": "qemu"},
        {"hw_architecture": "x86_64"},
        dict(type="qemu", arch="x86_64", machine="q35", cpu=("custom", "qemu64"), firmware=None,
             console=["serial"], serials=1, features=("acpi", "apic"), timers=X86_TIMERS,
             emulator="/usr/bin/qemu-system-x86_64", smbios=True),
    ),
    (
        "i686 on x86_64 is native kvm",
        {},
        {"hw_emulation_architecture": "i386"},
        dict(type="kvm", arch="i686", machine="q35", cpu=("host-model", None), firmware=None,
             console=["serial"], serials=1, features=("acpi", "apic", "pae"), timers=X86_TIMERS,
             emulator="/usr/bin/qemu-system-i386", smbios=True),
    ),
    (
        "aarch64 emulated on x86_64, UEFI",
        {},
        {"hw_emulation_architecture": "aarch64"},
        dict(type="qemu", arch="aarch64", machine="virt", cpu=("custom", "cortex-a57"),
             firmware="efi", console=["serial"], serials=1, features=("acpi",), timers=(),
             emulator="/usr/bin/qemu-system-aarch64", smbios=True),
    ),
    (
        "ppc64le emulated on x86_64",
        {},
        {"hw_emulation_architecture": "ppc64el"},
        dict(type="qemu", arch="ppc64le", machine="pseries", cpu=("custom", "POWER9"),
             firmware=None, console=["serial"], serials=1, features=None, timers=(),
             emulator="/usr/bin/qemu-system-ppc64le", smbios=False),
    ),
    (
        "s390x emulated on x86_64",
        {},
        {"hw_architecture": "s390x"},
        dict(type="qemu", arch="s390x", machine="s390-ccw-virtio", cpu=("maximum", None),
             firmware=None, console=["sclp"], serials=0, features=None, timers=(),
             emulator="/usr/bin/qemu-system-s390x", smbios=False),
    ),
    (
        "riscv64 emulated on x86_64",
        {},
        {"hw_emulation_architecture": "riscv64"},
        dict(type="qemu", arch="riscv64", machine="virt", cpu=None, firmware=None,
             console=["serial"], serials=1, features=None, timers=(),
             emulator="/usr/bin/qemu-system-riscv64", smbios=False),
    ),
    (
        "mipsel emulated on x86_64",
        {},
        {"hw_emulation_architecture": "mipsel"},
        dict(type="qemu", arch="mipsel", machine="malta", cpu=None, firmware=None,
             console=["serial"], serials=1, features=None, timers=(),
             emulator="/usr/bin/qemu-system-mipsel", smbios=False),
    ),
    (
        "x86_64 emulated on an aarch64 host",
        {"host_arch": "aarch64"},
        {"hw_emulation_architecture": "x86_64"},
        dict(type="qemu", arch="x86_64", machine="q35", cpu=("custom", "qemu64"), firmware=None,
             console=["serial"], serials=1, features=("acpi", "apic"), timers=X86_TIMERS,
             emulator="/usr/bin/qemu-system-x86_64", smbios=True),
    ),
    (
        "aarch64 native kvm on an aarch64 host",
        {"host_arch": "aarch64"},
        {},
        dict(type="kvm", arch="aarch64", machine="virt", cpu=("host-model", None),
             firmware="efi", console=["serial"], serials=1, features=("acpi",), timers=(),
             emulator="/usr/bin/qemu-system-aarch64", smbios=True),
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("host_args", "props", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_domain_per_architecture(
    host_args: dict[str, Any], props: dict[str, str], expected: dict[str, Any]
) -> None:
    domain = build(spec(image_properties=props), host_info(**host_args))
    assert summary(domain) == expected


def devices_summary(guest_arch: str, video: str | None) -> dict[str, Any]:
    """The devices of a guest with a root disk (and ``video`` when given) on x86_64."""
    props = {"hw_emulation_architecture": guest_arch}
    if video:
        props["hw_video_model"] = video
    resolved = guest.resolve(
        spec(image_properties=props, image_path="/img/base.qcow2"), host_info(), CONF, now=NOW
    )
    devices = guest.build_domain(resolved).devices
    assert devices is not None
    return {
        "disks": [(d.target.dev, d.target.bus) for d in devices.disks if d.target],
        "cdrom_bus": resolved.cdrom_bus,
        "videos": [v.model.type for v in devices.videos if v.model],
        "inputs": [(i.type, i.bus) for i in devices.inputs],
        "balloon": devices.memballoon.model if devices.memballoon else None,
        "serials": len(devices.serials),
        "consoles": [c.target.type for c in devices.consoles if c.target],
    }


DEVICE_CASES: list[tuple[str, str | None, dict[str, Any]]] = [
    ("x86_64", "virtio", dict(disks=[("vda", "virtio")], cdrom_bus="sata", videos=["virtio"],
                              inputs=[("tablet", "usb")], balloon="virtio", serials=1,
                              consoles=["serial"])),
    ("i686", "vga", dict(disks=[("vda", "virtio")], cdrom_bus="sata", videos=["vga"],
                         inputs=[("tablet", "usb")], balloon="virtio", serials=1,
                         consoles=["serial"])),
    ("aarch64", "virtio", dict(disks=[("vda", "virtio")], cdrom_bus="scsi", videos=["virtio"],
                               inputs=[("tablet", "usb")], balloon="virtio", serials=1,
                               consoles=["serial"])),
    ("ppc64le", "vga", dict(disks=[("vda", "virtio")], cdrom_bus="scsi", videos=["vga"],
                            inputs=[("tablet", "usb")], balloon="virtio", serials=1,
                            consoles=["serial"])),
    ("s390x", None, dict(disks=[("vda", "virtio")], cdrom_bus="scsi", videos=[], inputs=[],
                         balloon="virtio", serials=0, consoles=["sclp"])),
    ("riscv64", "virtio", dict(disks=[("vda", "virtio")], cdrom_bus="scsi", videos=["virtio"],
                               inputs=[], balloon="virtio", serials=1, consoles=["serial"])),
    ("mipsel", None, dict(disks=[("vda", "virtio")], cdrom_bus="ide", videos=[], inputs=[],
                          balloon="virtio", serials=1, consoles=["serial"])),
]  # fmt: skip


@pytest.mark.parametrize(
    ("guest_arch", "video", "expected"), DEVICE_CASES, ids=[c[0] for c in DEVICE_CASES]
)
def test_devices_per_architecture(
    guest_arch: str, video: str | None, expected: dict[str, Any]
) -> None:
    assert devices_summary(guest_arch, video) == expected


@pytest.mark.parametrize(
    ("guest_arch", "video"),
    [("s390x", "virtio"), ("mipsel", "virtio"), ("riscv64", "vga"), ("aarch64", "cirrus")],
)
def test_video_model_the_guest_arch_lacks_is_refused(guest_arch: str, video: str) -> None:
    with pytest.raises(errors.InvalidInput, match=f"hw_video_model='{video}'") as caught:
        devices_summary(guest_arch, video)
    assert f"is not available for {guest_arch} guests; valid: none" in str(caught.value)


def test_i686_is_not_emulated_on_x86_64() -> None:
    resolved = guest.resolve(spec(image_properties={"hw_architecture": "i686"}), host_info(), CONF)
    assert not resolved.emulated
    aarch64 = guest.resolve(
        spec(image_properties={"hw_emulation_architecture": "arm64"}), host_info(), CONF
    )
    assert aarch64.emulated and aarch64.arch == "aarch64"


def test_emulation_architecture_wins_over_architecture() -> None:
    props = {"hw_architecture": "x86_64", "hw_emulation_architecture": "s390x"}
    assert summary(build(spec(image_properties=props)))["arch"] == "s390x"


def test_aarch64_kernel_boot_skips_uefi_and_acpi() -> None:
    domain = build(
        spec(
            image_properties={"hw_emulation_architecture": "aarch64"},
            kernel_path="/k/Image",
            ramdisk_path="/k/initrd",
        )
    )
    assert domain.os is not None
    assert domain.os.firmware is None
    assert domain.features is None and domain.sysinfo is None
    assert (domain.os.kernel, domain.os.initrd, domain.os.cmdline) == (
        "/k/Image",
        "/k/initrd",
        "console=ttyAMA0",
    )
    assert domain.os.boot == []


@pytest.mark.parametrize(
    ("arch", "console"),
    [("x86_64", "ttyS0"), ("ppc64le", "hvc0"), ("s390x", "ttysclp0"), ("riscv64", "ttyS0")],
)
def test_kernel_console_follows_guest_arch(arch: str, console: str) -> None:
    domain = build(spec(image_properties={"hw_architecture": arch}, kernel_path="/k"))
    assert domain.os is not None and domain.os.cmdline == f"console={console}"


def test_explicit_cmdline_is_kept() -> None:
    domain = build(spec(kernel_path="/k", cmdline="root=/dev/vda quiet"))
    assert domain.os is not None and domain.os.cmdline == "root=/dev/vda quiet"


def test_common_parts() -> None:
    domain = build(
        spec(flavor_name="m1.small", image_id="img-1", metadata={"role": "db", "a": "b"})
    )
    assert domain.name == f"vf-{UUID}" and domain.uuid == UUID
    assert domain.memory == config.Memory(unit="KiB", value=512 * 1024)
    assert domain.current_memory == domain.memory
    assert domain.vcpu == config.Vcpu(placement="static", count=2)
    assert (domain.on_poweroff, domain.on_reboot, domain.on_crash) == (
        "destroy",
        "restart",
        "destroy",
    )
    meta = domain.instance
    assert meta is not None
    assert (meta.uuid, meta.name, meta.flavor, meta.image, meta.created) == (
        UUID,
        "web-1",
        "m1.small",
        "img-1",
        "2026-11-22T03:00:00+00:00",
    )
    assert meta.instance_dir == f"/srv/vf/instances/{UUID}"
    assert meta.console_log == f"/srv/vf/instances/{UUID}/console.log"
    assert [(i.key, i.value) for i in meta.items] == [("a", "b"), ("role", "db")]
    assert domain.devices is not None
    assert domain.devices.disks == []  # no image: diskless
    assert domain.devices.memballoon == config.MemBalloon(model="virtio")
    console = domain.devices.consoles[0]
    assert (console.type, console.source) == ("pty", None)  # the interactive serial console
    assert console.log == config.CharLog(file=meta.console_log, append=True)
    (serial,) = domain.devices.serials
    assert (serial.type, serial.log) == ("pty", console.log)


def test_smbios_system_says_openstack_nova_with_the_instance_uuid() -> None:
    """cloud-init's OpenStack datasource (and ds-identify) needs Nova's product name,
    and reads the instance id from the serial, as on Nova's guests."""
    domain = build(spec())
    assert domain.sysinfo is not None and domain.sysinfo.type == "smbios"
    assert domain.sysinfo.system is not None
    entries = {e.name: e.value for e in domain.sysinfo.system.entries}
    assert entries == {
        "manufacturer": "OpenStack Foundation",
        "product": "OpenStack Nova",
        "version": virtfleet.__version__,
        "serial": UUID,
        "uuid": UUID,
        "family": "Virtual Machine",
    }
    assert domain.os is not None and domain.os.smbios == config.os.Smbios(mode="sysinfo")
    xml = domain.to_xml()
    assert '<entry name="product">OpenStack Nova</entry>' in xml, xml


def test_graphics_vnc_with_video_and_agent_channel_on_request() -> None:
    properties = {"hw_qemu_guest_agent": "yes", "hw_video_model": "virtio"}
    domain = build(spec(image_properties=properties))
    assert domain.devices is not None
    vnc = config.Graphics(type="vnc", autoport=True, listen="127.0.0.1")
    assert domain.devices.graphics == [vnc]
    (channel,) = domain.devices.channels
    assert channel.type == "unix" and channel.target is not None
    assert channel.target.name == "org.qemu.guest_agent.0"
    headless = build(spec(image_properties={"hw_video_model": "none"}))
    assert headless.devices is not None
    assert headless.devices.graphics == [] and headless.devices.channels == []


def test_guest_agent_property_must_be_a_boolean() -> None:
    with pytest.raises(errors.InvalidInput, match="hw_qemu_guest_agent='maybe' is not a boolean"):
        build(spec(image_properties={"hw_qemu_guest_agent": "maybe"}))


def test_root_disk_is_a_qcow2_overlay_in_the_instance_dir() -> None:
    domain = build(spec(image_path="/images/cirros.raw", image_format="raw", instance_dir="/i/x"))
    assert domain.devices is not None
    (disk,) = domain.devices.disks
    assert disk.driver == config.DiskDriver(name="qemu", type="qcow2")
    assert disk.source == config.DiskSource(file="/i/x/disk")
    assert disk.target == config.DiskTarget(dev="vda", bus="virtio")
    assert domain.os is not None and domain.os.boot == [config.BootDevice(dev="hd")]


def test_disk_bus_from_image() -> None:
    domain = build(spec(image_path="/img", image_properties={"hw_disk_bus": "scsi"}))
    assert domain.devices is not None
    assert domain.devices.disks[0].target == config.DiskTarget(dev="sda", bus="scsi")


def test_video_model_adds_video_and_tablet() -> None:
    domain = build(spec(image_properties={"hw_video_model": "virtio"}))
    assert domain.devices is not None
    assert domain.devices.videos == [
        config.Video(model=config.VideoModel(type="virtio", heads=1, primary=True))
    ]
    assert domain.devices.inputs == [config.Input(type="tablet", bus="usb")]


def test_rng_from_image() -> None:
    domain = build(spec(image_properties={"hw_rng_model": "virtio"}))
    assert domain.devices is not None
    assert domain.devices.rngs == [
        config.Rng(model="virtio", backend=config.RngBackend(model="random", path="/dev/urandom"))
    ]


def test_machine_type_from_image() -> None:
    resolved = guest.resolve(spec(image_properties={"hw_machine_type": "pc"}), host_info(), CONF)
    assert (resolved.machine, resolved.cdrom_bus) == ("pc", "ide")
    q35 = guest.resolve(spec(), host_info(), CONF)
    assert (q35.machine, q35.cdrom_bus) == ("q35", "sata")


def test_custom_cpu_mode_uses_configured_model() -> None:
    conf = make_conf(libvirt__cpu_mode="custom", libvirt__cpu_models=["EPYC"])
    info = host.discover(FakeConnection(), conf)
    domain = build(spec(), info)
    assert domain.cpu == config.Cpu(
        mode="custom", match="exact", model=config.CpuModel(fallback="forbid", name="EPYC")
    )


def test_mdev_hostdevs() -> None:
    domain = build(spec(mdev_uuids=("m-1", "m-2")))
    assert domain.devices is not None
    addresses = [h.source.address for h in domain.devices.hostdevs if h.source]
    assert addresses == [config.Address(uuid="m-1"), config.Address(uuid="m-2")]
    assert {(h.mode, h.type, h.model) for h in domain.devices.hostdevs} == {
        ("subsystem", "mdev", "vfio-pci")
    }


# -- maxphysaddr ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra_specs", "props"),
    [
        ({"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "42"}, {}),
        ({}, {"hw_maxphysaddr_mode": "emulate", "hw_maxphysaddr_bits": "42"}),
        ({"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "42"},
         {"hw_maxphysaddr_bits": "42"}),
    ],
)  # fmt: skip
def test_maxphysaddr_emulate(extra_specs: dict[str, str], props: dict[str, str]) -> None:
    domain = build(
        spec(extra_specs=extra_specs, image_properties=props), host_info(virt_type="qemu")
    )
    assert domain.cpu is not None
    assert domain.cpu.maxphysaddr == config.MaxPhysAddr(mode="emulate", bits=42)


def test_maxphysaddr_passthrough_with_host_passthrough() -> None:
    domain = build(
        spec(extra_specs={"hw:maxphysaddr_mode": "passthrough"}),
        host_info(cpu_mode="host-passthrough"),
    )
    assert domain.cpu == config.Cpu(
        mode="host-passthrough", maxphysaddr=config.MaxPhysAddr(mode="passthrough")
    )


def emulate(bits: int, **fields: Any) -> GuestRequest:
    return GuestRequest(maxphysaddr_mode="emulate", maxphysaddr_bits=bits, **fields)


@pytest.mark.parametrize(
    ("request_", "host_args", "memory_mb", "fragment"),
    [
        (GuestRequest(maxphysaddr_mode="passthrough"), {}, 512, "host-passthrough"),
        (GuestRequest(maxphysaddr_mode="passthrough"),
         {"virt_type": "qemu", "cpu_mode": "host-passthrough"}, 512, "KVM guest"),
        (emulate(40, arch="aarch64", emulated=True), {}, 512, "only supported for x86"),
        (emulate(40), {}, 1024 * 1024, "needs at least 41 bits"),
        (emulate(50), {}, 512, "exceeds the 48 bits"),
    ],
)  # fmt: skip
def test_maxphysaddr_refusals_that_depend_on_the_host(
    request_: GuestRequest, host_args: dict[str, str], memory_mb: int, fragment: str
) -> None:
    guest_spec = spec(guest=request_, memory_mb=memory_mb)
    with pytest.raises(errors.InvalidInput) as caught:
        guest.resolve(guest_spec, host_info(**host_args), CONF)
    assert fragment in str(caught.value)


def test_the_builder_reads_the_guest_request_not_the_raw_maps() -> None:
    raw = {"hw_emulation_architecture": "aarch64", "hw_machine_type": "virt"}
    domain = build(spec(image_properties=raw, guest=GuestRequest(machine_type="q35")))
    assert summary(domain)["arch"] == "x86_64"
    assert summary(domain)["machine"] == "q35"
    flavor = {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "42"}
    assert (
        build(spec(extra_specs=flavor, guest=GuestRequest())).cpu
        != build(spec(extra_specs=flavor)).cpu
    )


def test_maxphysaddr_bits_above_host_are_fine_under_tcg() -> None:
    extra = {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "52"}
    domain = build(spec(extra_specs=extra), host_info(virt_type="qemu"))
    assert domain.cpu is not None and domain.cpu.maxphysaddr == config.MaxPhysAddr(
        mode="emulate", bits=52
    )


# -- refusals ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "fragments"),
    [
        ({"image_properties": {"hw_machine_type": "pc-q35-99"}},
         ["'pc-q35-99'", "x86_64", "q35", "pc-i440fx-7.2"]),
        ({"image_properties": {"hw_emulation_architecture": "s390x",
                               "hw_machine_type": "q35"}}, ["'q35'", "s390-ccw-virtio"]),
        ({"image_properties": {"hw_firmware_type": "uefi"}}, ["no UEFI firmware for x86_64"]),
        ({"image_properties": {"hw_disk_bus": "floppy"}}, ["hw_disk_bus='floppy'", "virtio"]),
        ({"image_properties": {"hw_emulation_architecture": "aarch64", "hw_video_model": "qxl"}},
         ["hw_video_model='qxl'"]),
        ({"image_properties": {"hw_rng_model": "egd"}}, ["hw_rng_model='egd'"]),
        ({"image_path": "/i.vmdk", "image_format": "vmdk"}, ["'vmdk'", "qcow2, raw"]),
    ],
)  # fmt: skip
def test_refusals_name_what_is_wrong(changes: dict[str, Any], fragments: list[str]) -> None:
    with pytest.raises(errors.InvalidInput) as caught:
        guest.resolve(spec(**changes), host_info(), CONF)
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_arch_the_host_cannot_run() -> None:
    limited = dataclasses.replace(host_info(), emulated_arches=("aarch64",))
    with pytest.raises(errors.InvalidInput) as caught:
        guest.resolve(spec(image_properties={"hw_architecture": "s390x"}), limited, CONF)
    assert "cannot run s390x" in str(caught.value)
    assert "aarch64, i686, x86_64" in str(caught.value)


def test_uefi_on_request_for_aarch64() -> None:
    props = {"hw_emulation_architecture": "aarch64", "hw_firmware_type": "uefi"}
    domain = build(spec(image_properties=props, kernel_path="/k"))
    assert domain.os is not None and domain.os.firmware == "efi"
    bios = build(spec(image_properties={**props, "hw_firmware_type": "bios"}))
    assert bios.os is not None and bios.os.firmware is None


def test_kvm_falls_back_to_qemu_when_libvirt_offers_no_kvm(tmp_path: Path) -> None:
    info = dataclasses.replace(host_info(), kvm_arches=())
    resolved = guest.resolve(spec(), info, CONF)
    assert (resolved.domain_type, resolved.cpu.mode, resolved.cpu.model) == (
        "qemu",
        "custom",
        "qemu64",
    )


@pytest.mark.parametrize(
    ("memory_mb", "bits"),
    [(1, 20), (512, 29), (2048, 31), (3072, 33), (1024 * 1024, 41), (4 * 1024 * 1024, 43)],
)
def test_bits_needed_for_ram(memory_mb: int, bits: int) -> None:
    """Up to 2 GiB RAM sits below 4 GiB; beyond, the top is RAM + 2 GiB (PCI hole)."""
    assert device_properties.bits_needed_for_ram(memory_mb) == bits
