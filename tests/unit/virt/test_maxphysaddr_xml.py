"""The guest ``<cpu>`` the driver writes for maxphysaddr, pinned for both modes, from
the flavor and from the image, on KVM hosts of each CPU mode and under TCG."""

from __future__ import annotations

import pathlib

import pytest
from lxml import etree

from support.guest import with_guest
from virtfleet import errors
from virtfleet.control_plane import agent_conf
from virtfleet.virt.connection import open_connection
from virtfleet.virt.libvirt import config, guest
from virtfleet.virt.libvirt.driver import LibvirtDriver
from virtfleet.virt.sim import load_fleet
from virtfleet.virt.sim.agentconf import conf_overrides
from virtfleet.virt.types import GuestSpec

FLEET = load_fleet(
    """
defaults:
  arch: x86_64
  libvirt_version: "9.0.0"
  qemu_version: "8.2.0"
  cpus: 4
  memory_mb: 8192
  disk_gb: 10
  maxphysaddr_bits: 46
hosts:
  - {name: host-model, virt_type: kvm}
  - {name: host-passthrough, virt_type: kvm, cpu_mode: host-passthrough}
  - {name: custom, virt_type: kvm, cpu_mode: custom, config: {libvirt: {cpu_models: [EPYC-Rome]}}}
  - {name: tcg, virt_type: qemu}
""",
    source="guest-xml.yaml",
)

EMULATE_42 = '<maxphysaddr mode="emulate" bits="42"/>'
PASSTHROUGH = '<maxphysaddr mode="passthrough"/>'

# (host, mode, the complete <cpu> element)
PINNED = [
    ("host-model", "emulate", f'<cpu mode="host-model">{EMULATE_42}</cpu>'),
    ("host-passthrough", "emulate", f'<cpu mode="host-passthrough">{EMULATE_42}</cpu>'),
    ("host-passthrough", "passthrough", f'<cpu mode="host-passthrough">{PASSTHROUGH}</cpu>'),
    (
        "custom",
        "emulate",
        '<cpu mode="custom" match="exact"><model fallback="forbid">EPYC-Rome</model>'
        f"{EMULATE_42}</cpu>",
    ),
    (
        "tcg",
        "emulate",
        f'<cpu mode="custom" match="exact"><model fallback="forbid">qemu64</model>{EMULATE_42}'
        "</cpu>",
    ),
    ("host-model", None, '<cpu mode="host-model"/>'),
    ("tcg", None, '<cpu mode="custom" match="exact"><model fallback="forbid">qemu64</model></cpu>'),
]

FLAVOR_KEYS = {"mode": "hw:maxphysaddr_mode", "bits": "hw:maxphysaddr_bits"}
IMAGE_KEYS = {"mode": "hw_maxphysaddr_mode", "bits": "hw_maxphysaddr_bits"}


def driver(host: str, tmp_path: pathlib.Path) -> LibvirtDriver:
    profile = next(p for p in FLEET.hosts if p.name == host)
    conf = agent_conf((), {**conf_overrides(profile), "data_dir": str(tmp_path)})
    return LibvirtDriver(open_connection(f"sim://{host}", FLEET), conf)


def request(mode: str | None, source: str) -> dict[str, str]:
    keys = FLAVOR_KEYS if source == "flavor" else IMAGE_KEYS
    if mode is None:
        return {}
    wanted = {"mode": mode} | ({"bits": "42"} if mode == "emulate" else {})
    return {keys[k]: v for k, v in wanted.items()}


def cpu_xml(host: str, mode: str | None, source: str, tmp_path: pathlib.Path) -> str:
    wanted = request(mode, source)
    spec = with_guest(
        GuestSpec(
            instance_uuid="6c1d4e0e-7f44-4c7e-9a51-0b1f6b1d2a01",
            name="guest",
            vcpus=1,
            memory_mb=2048,
            extra_specs=wanted if source == "flavor" else {},
            image_properties=wanted if source == "image" else {},
        )
    )
    xml = guest.build_domain(driver(host, tmp_path).build(spec)).to_xml()
    cpu = etree.fromstring(xml, etree.XMLParser(remove_blank_text=True)).find("cpu")
    assert cpu is not None
    cpu.tail = None
    return etree.tostring(cpu).decode()


@pytest.mark.parametrize("source", ["flavor", "image"])
@pytest.mark.parametrize(("host", "mode", "expected"), PINNED)
def test_cpu_element_is_pinned(
    tmp_path: pathlib.Path, host: str, mode: str | None, expected: str, source: str
) -> None:
    assert cpu_xml(host, mode, source, tmp_path) == expected


@pytest.mark.parametrize(
    ("host", "fragment"),
    [
        ("host-model", "needs a KVM guest with CPU mode host-passthrough"),
        ("custom", "needs a KVM guest with CPU mode host-passthrough"),
        ("tcg", "needs a KVM guest with CPU mode host-passthrough"),
    ],
)
def test_passthrough_is_refused_by_the_driver_without_host_passthrough(
    tmp_path: pathlib.Path, host: str, fragment: str
) -> None:
    """The scheduler never sends it there (no PASSTHROUGH trait); the driver refuses
    anyway rather than write XML libvirt would reject."""
    with pytest.raises(errors.InvalidInput, match=fragment):
        cpu_xml(host, "passthrough", "flavor", tmp_path)


def test_the_domain_the_simulated_host_defines_keeps_it(tmp_path: pathlib.Path) -> None:
    """Spawned on a simulated host, the live XML (XMLDesc) still has the element."""
    spec = with_guest(
        GuestSpec(
            instance_uuid="6c1d4e0e-7f44-4c7e-9a51-0b1f6b1d2a02",
            name="guest",
            vcpus=1,
            memory_mb=2048,
            extra_specs=request("emulate", "flavor"),
            instance_dir=str(tmp_path / "inst"),
        )
    )
    on = driver("host-model", tmp_path)
    on.spawn(spec)
    try:
        live = config.Domain.parse(on.get_domain_xml(spec.instance_uuid))
        assert live.cpu is not None
        assert live.cpu.maxphysaddr == config.MaxPhysAddr(mode="emulate", bits=42)
    finally:
        on.destroy(spec.instance_uuid)


# libvirt 9.0.0 formats a <cpu> given in any order as: model, vendor, topology,
# maxphysaddr, feature (observed with `virsh define` + `virsh dumpxml`; the real
# test in tests/e2e/test_maxphysaddr_real.py checks it against the live libvirt).
LIBVIRT_CPU_ORDER = ["model", "vendor", "topology", "maxphysaddr", "feature"]


def test_every_cpu_child_is_written_in_libvirts_order() -> None:
    cpu = config.Cpu(
        mode="custom",
        match="exact",
        features=[config.CpuFeature(policy="require", name="pdpe1gb")],
        maxphysaddr=config.MaxPhysAddr(mode="emulate", bits=42),
        topology=config.CpuTopology(sockets=1, dies=1, cores=2, threads=1),
        vendor="AMD",
        model=config.CpuModel(fallback="forbid", name="qemu64"),
    )
    written = etree.fromstring(cpu.to_xml())
    assert [child.tag for child in written] == LIBVIRT_CPU_ORDER
