"""XML objects: round trips, libvirt's element order, real libvirt XML, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from virtfleet import errors
from virtfleet.virt.libvirt import config

SHARED_XML = sorted(Path("/work/shared/libvirt/xml").glob("*.xml"))
REFERENCE = Path("/work/shared/libvirt/reference")
TESTDRIVER_NODES = Path("/work/shared/libvirt/testdriver/mdev-node.xml")
_PARSER = etree.XMLParser(remove_blank_text=True, remove_comments=True)


def canonical(xml: str | bytes) -> bytes:
    data = xml.encode() if isinstance(xml, str) else xml
    return etree.tostring(etree.fromstring(data, _PARSER), method="c14n")


def full_domain() -> config.Domain:
    """A domain using every element virtfleet models."""
    log = config.CharSource(path="/i/console.log", append=True)
    return config.Domain(
        type="kvm",
        name="vf-1",
        uuid="11111111-2222-3333-4444-555555555555",
        metadata=config.Metadata(
            instance=config.InstanceMetadata(
                uuid="11111111-2222-3333-4444-555555555555",
                name="web <1> & 'two'",
                flavor="m1.small",
                image="img-1",
                created="2026-11-22T00:00:00+00:00",
                instance_dir="/i",
                console_log="/i/console.log",
                items=[config.MetaItem(key="role", value="db")],
            )
        ),
        memory=config.Memory(value=1048576),
        current_memory=config.Memory(value=1048576),
        vcpu=config.Vcpu(placement="static", count=2),
        cputune=config.CpuTune(vcpupins=[config.VcpuPin(vcpu=0, cpuset="1")]),
        numatune=config.NumaTune(memory=config.NumaMemory(mode="strict", nodeset="0")),
        sysinfo=config.Sysinfo(
            type="smbios",
            system=config.SysinfoSystem(entries=[config.SysinfoEntry(name="uuid", value="x")]),
        ),
        os=config.Os(
            firmware="efi",
            type=config.OsType(arch="x86_64", machine="q35"),
            loader=config.Loader(readonly=True, type="pflash", path="/fw/code.fd"),
            nvram=config.Nvram(template="/fw/vars.fd", path="/var/nvram/vf-1.fd"),
            kernel="/k",
            initrd="/r",
            cmdline="console=ttyS0 quiet",
            boot=[config.BootDevice(dev="hd")],
        ),
        features=config.Features(acpi=True, apic=True),
        cpu=config.Cpu(
            mode="custom",
            match="exact",
            model=config.CpuModel(fallback="forbid", name="qemu64"),
            topology=config.CpuTopology(sockets=1, dies=1, cores=2, threads=1),
            maxphysaddr=config.MaxPhysAddr(mode="emulate", bits=42),
            features=[config.CpuFeature(policy="disable", name="svm")],
        ),
        clock=config.Clock(
            offset="utc",
            timers=[
                config.Timer(name="rtc", tickpolicy="catchup"),
                config.Timer(name="hpet", present=False),
            ],
        ),
        on_poweroff="destroy",
        on_reboot="restart",
        on_crash="destroy",
        devices=config.Devices(
            emulator="/usr/bin/qemu-system-x86_64",
            disks=[
                config.Disk(
                    type="file",
                    device="disk",
                    driver=config.DiskDriver(name="qemu", type="qcow2"),
                    source=config.DiskSource(file="/i/disk"),
                    target=config.DiskTarget(dev="vda", bus="virtio"),
                    readonly=True,
                )
            ],
            interfaces=[
                config.Interface(type="user", model=config.devices.ModelType(type="virtio"))
            ],
            serials=[config.Serial(type="file", source=log, target=config.CharTarget(port=0))],
            consoles=[
                config.Console(
                    type="file", source=log, target=config.CharTarget(type="serial", port=0)
                )
            ],
            inputs=[config.Input(type="tablet", bus="usb")],
            videos=[config.Video(model=config.VideoModel(type="virtio", heads=1, primary=True))],
            hostdevs=[
                config.Hostdev(
                    mode="subsystem",
                    type="mdev",
                    model="vfio-pci",
                    source=config.HostdevSource(address=config.Address(uuid="abc")),
                ),
                config.Hostdev(
                    mode="subsystem",
                    type="pci",
                    managed=True,
                    source=config.HostdevSource(
                        address=config.Address(
                            domain="0x0000", bus="0x02", slot="0x10", function="0x7"
                        )
                    ),
                ),
            ],
            memballoon=config.MemBalloon(model="virtio"),
            rngs=[
                config.Rng(
                    model="virtio", backend=config.RngBackend(model="random", path="/dev/urandom")
                )
            ],
        ),
    )


def test_full_domain_round_trips() -> None:
    domain = full_domain()
    assert config.Domain.parse(domain.to_xml()) == domain


def test_children_follow_libvirt_order() -> None:
    root = etree.fromstring(full_domain().to_xml().encode())
    assert [child.tag for child in root] == [
        "name", "uuid", "metadata", "memory", "currentMemory", "vcpu", "cputune", "numatune",
        "sysinfo", "os", "features", "cpu", "clock", "on_poweroff", "on_reboot", "on_crash",
        "devices",
    ]  # fmt: skip
    cpu = root.find("cpu")
    assert cpu is not None
    assert [c.tag for c in cpu] == ["model", "topology", "maxphysaddr", "feature"]
    os_element = root.find("os")
    assert os_element is not None
    assert [c.tag for c in os_element] == [
        "type", "loader", "nvram", "kernel", "initrd", "cmdline", "boot",
    ]  # fmt: skip
    devices = root.find("devices")
    assert devices is not None
    assert [c.tag for c in devices] == [
        "emulator", "disk", "interface", "serial", "console", "input", "video", "hostdev",
        "hostdev", "memballoon", "rng",
    ]  # fmt: skip


def test_output_is_deterministic_and_attributes_ordered() -> None:
    first, second = full_domain().to_xml(), full_domain().to_xml()
    assert first == second
    assert '<domain type="kvm">' in first
    assert '<model fallback="forbid">qemu64</model>' in first
    assert '<maxphysaddr mode="emulate" bits="42"/>' in first
    assert '<timer name="hpet" present="no"/>' in first
    assert '<source path="/i/console.log" append="on"/>' in first


def test_metadata_uses_our_namespace_and_escapes_values() -> None:
    xml = full_domain().to_xml()
    assert 'xmlns:vf="http://virtfleet.dev/xmlns/instance/1.0"' in xml
    assert "<vf:name>web &lt;1&gt; &amp; 'two'</vf:name>" in xml
    instance = config.Domain.parse(xml).instance
    assert instance is not None and instance.name == "web <1> & 'two'"


def test_metadata_of_other_namespaces_is_ignored() -> None:
    xml = (
        "<domain type='qemu'><name>x</name><metadata>"
        "<nova:instance xmlns:nova='http://openstack.org/xmlns/libvirt/nova/1.1'/>"
        "</metadata></domain>"
    )
    domain = config.Domain.parse(xml)
    assert domain.metadata == config.Metadata(instance=None)
    assert domain.instance is None


@pytest.mark.parametrize("path", SHARED_XML, ids=lambda p: p.name)
def test_real_libvirt_xml_parses_and_reserialises(path: Path) -> None:
    source = path.read_bytes()
    domain = config.Domain.parse(source)
    assert canonical(domain.to_xml()) == canonical(source)
    assert config.Domain.parse(domain.to_xml()) == domain


def test_shared_xml_files_are_there() -> None:
    assert len(SHARED_XML) >= 10


def test_live_style_xml_keeps_known_parts_and_drops_the_rest() -> None:
    xml = """<domain type='qemu' id='7'><name>vm</name>
      <resource><partition>/machine</partition></resource>
      <os><type arch='aarch64' machine='virt-7.2'>hvm</type></os>
      <cpu mode='custom' match='exact' check='none'>
        <model fallback='forbid'>cortex-a57</model></cpu>
      <devices><controller type='pci' index='0' model='pcie-root'/>
        <serial type='file'><source path='/l' append='on'/>
          <target type='system-serial' port='0'><model name='pl011'/></target>
          <alias name='serial0'/></serial>
      </devices><seclabel type='dynamic' model='dac'/></domain>"""
    domain = config.Domain.parse(xml)
    assert domain.id == 7
    assert domain.os is not None and domain.os.type.machine == "virt-7.2"
    assert domain.cpu is not None and domain.cpu.check == "none"
    assert domain.devices is not None
    serial = domain.devices.serials[0]
    assert serial.target == config.CharTarget(type="system-serial", port=0)
    assert "controller" not in domain.to_xml() and "seclabel" not in domain.to_xml()


@pytest.mark.parametrize(
    ("xml", "fragment"),
    [
        ("<domain><name>x</name>", "malformed XML"),
        ("<capabilities/>", "expected a <domain> document"),
        ("<domain><vcpu>two</vcpu></domain>", "two"),
        ("<domain><clock><timer name='hpet' present='maybe'/></clock></domain>", "maybe"),
        ("<domain><devices><serial><source append='sometimes'/></serial></devices></domain>",
         "sometimes"),
    ],
)  # fmt: skip
def test_bad_xml_is_invalid_input_naming_the_problem(xml: str, fragment: str) -> None:
    with pytest.raises(errors.InvalidInput) as caught:
        config.Domain.parse(xml)
    assert fragment in str(caught.value)


def test_entities_are_not_expanded() -> None:
    xml = (
        '<!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/hostname">]><domain><name>&e;</name></domain>'
    )
    domain = config.Domain.parse(xml)
    assert domain.name in ("", None)


_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\r"),
    max_size=20,
).map(str.strip)


@given(
    name=_text,
    vcpus=st.integers(min_value=1, max_value=4096),
    memory=st.integers(min_value=1, max_value=2**40),
    bits=st.none() | st.integers(min_value=1, max_value=52),
    append=st.none() | st.booleans(),
    meta=st.dictionaries(_text, _text.filter(bool), max_size=3),  # empty text reads as None
)
def test_round_trip_property(
    name: str, vcpus: int, memory: int, bits: int | None, append: bool | None,
    meta: dict[str, str],
) -> None:  # fmt: skip
    domain = config.Domain(
        type="qemu",
        name=name,
        metadata=config.Metadata(
            instance=config.InstanceMetadata(
                name=name, items=[config.MetaItem(key=k, value=v) for k, v in meta.items()]
            )
        ),
        memory=config.Memory(value=memory),
        vcpu=config.Vcpu(count=vcpus),
        cpu=config.Cpu(mode="maximum", maxphysaddr=config.MaxPhysAddr(mode="emulate", bits=bits)),
        devices=config.Devices(
            consoles=[config.Console(type="file", source=config.CharSource(path=name,
                                                                            append=append))]
        ),
    )  # fmt: skip
    assert config.Domain.parse(domain.to_xml()) == domain


# -- capabilities, domain capabilities, node devices ------------------------------------


def test_capabilities_reference_parses() -> None:
    caps = config.Capabilities.parse((REFERENCE / "qemu-system-capabilities.xml").read_bytes())
    assert caps.host is not None and caps.host.cpu is not None
    cpu = caps.host.cpu
    assert (cpu.arch, cpu.model, cpu.vendor) == ("x86_64", "kvm64", "AMD")
    assert cpu.topology == config.CpuTopology(sockets=1, dies=1, cores=2, threads=1)
    assert cpu.maxphysaddr == config.MaxPhysAddr(mode="emulate", bits=48)
    assert caps.host.topology is not None and caps.host.topology.cells is not None
    cell = caps.host.topology.cells.cells[0]
    assert cell.memory is not None and cell.memory.value == 5990604
    assert cell.cpus is not None and [c.id for c in cell.cpus.cpus] == [0, 1]
    guests = {g.name: g for g in caps.hvm_guests()}
    assert guests["x86_64"].domain_types() == ("qemu", "kvm")
    assert guests["aarch64"].domain_types() == ("qemu",)
    assert guests["x86_64"].emulator == "/usr/bin/qemu-system-x86_64"
    assert {"q35", "pc-q35-7.2", "pc"} <= set(guests["x86_64"].machine_names())
    assert "s390-ccw-virtio" in guests["s390x"].machine_names()
    assert config.Capabilities.parse(caps.to_xml()) == caps


@pytest.mark.parametrize(
    ("name", "firmwares", "modes", "buses"),
    [
        ("domcapabilities-aarch64-virt.xml", ("efi",), ("maximum", "custom"),
         ("fdc", "scsi", "virtio", "usb", "sata")),
        ("domcapabilities-x86_64-pc.xml", (), ("maximum", "host-model", "custom"),
         ("ide", "fdc", "scsi", "virtio", "usb", "sata")),
        ("domcapabilities-riscv64-virt.xml", (), (), ("fdc", "scsi", "virtio", "usb", "sata")),
        ("domcapabilities-s390x-s390-ccw-virtio.xml", (), ("maximum", "custom"),
         ("fdc", "scsi", "virtio")),
    ],
)  # fmt: skip
def test_domain_capabilities_parse(
    name: str, firmwares: tuple[str, ...], modes: tuple[str, ...], buses: tuple[str, ...]
) -> None:
    caps = config.DomainCapabilities.parse((REFERENCE / name).read_bytes())
    assert caps.os is not None and caps.os.firmwares() == firmwares
    assert caps.cpu is not None and caps.cpu.supported_modes() == modes
    assert caps.devices is not None and caps.devices.disk is not None
    assert caps.devices.disk.values("bus") == buses
    assert caps.devices.disk.values("no-such-enum") == ()


def test_unsupported_device_has_no_values() -> None:
    caps = config.DomainCapabilities.parse(
        "<domainCapabilities><devices><video supported='no'><enum name='modelType'>"
        "<value>vga</value></enum></video></devices></domainCapabilities>"
    )
    assert caps.devices is not None and caps.devices.video is not None
    assert caps.devices.video.values("modelType") == ()


def test_node_devices_from_the_test_driver_parse() -> None:
    root = etree.parse(str(TESTDRIVER_NODES)).getroot()
    devices = {d.name: d for d in map(config.NodeDevice.from_element, root.findall("device"))}
    parent = devices["pci_0000_02_10_7"]
    pci = parent.capability("pci")
    assert pci is not None and (pci.domain, pci.bus, pci.slot, pci.function) == (0, 2, 16, 7)
    assert pci.vendor is not None and pci.vendor.id == "0x10de"
    types = parent.capability("mdev_types")
    assert types is not None
    assert [(t.id, t.device_api, t.available_instances) for t in types.types] == [
        ("nvidia-222", "vfio-pci", 15),
        ("nvidia-223", "vfio-pci", 8),
    ]
    mdev = devices["mdev_3627463d_b7f0_4fea_b468_f1da537d301b"]
    cap = mdev.capability("mdev")
    assert cap is not None and cap.mdev_type == "nvidia-222"
    assert cap.uuid == "3627463d-b7f0-4fea-b468-f1da537d301b"
    assert mdev.parent == "pci_0000_02_10_7"
    assert mdev.driver is not None and mdev.driver.name == "vfio_mdev"
    for device in devices.values():
        assert config.NodeDevice.parse(device.to_xml()) == device


def test_public_surface_is_declared() -> None:
    assert len(config.__all__) == len(set(config.__all__))
    for name in config.__all__:
        assert hasattr(config, name), name
    exported = {getattr(config, n) for n in config.__all__}
    for element in (config.Domain, config.Cpu, config.Os, config.Devices, config.Capabilities,
                    config.DomainCapabilities, config.NodeDevice):  # fmt: skip
        assert element in exported
