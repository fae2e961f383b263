"""Holdings, host checks, the overlap rule and the tree on the sample 8/4/4/1x8 host."""

from __future__ import annotations

import json

import pytest
from lxml import etree

from support.slice_cloud import SLICES_DIR
from virtfleet.errors import ConfigError
from virtfleet.virt.libvirt.slices import HostFacts, load_tree
from virtfleet.virt.libvirt.slices.holdings import format_cpuset, holdings_of, parse_cpuset

HOST = HostFacts(
    cpus=frozenset(range(64)),
    numa_cells=frozenset({0, 1}),
    pci_devices=frozenset(
        f"0000:{bus}:00.0" for bus in ("1a", "1b", "3d", "3e", "88", "89", "b1", "b2")
    ),
)


def sample_lines() -> list[str]:
    def entry(name: str, rc: str, template: str, parent: str | None = None) -> str:
        item = {"name": name, "resource_class": rc, "template_file": str(SLICES_DIR / template)}
        if parent:
            item["conflict_parent"] = parent
        return json.dumps(item)

    lines = [entry("slice-8", "CUSTOM_SLICE_8", "slice-8.xml.j2")]
    for half in range(2):
        lines.append(entry(f"slice-4-{half}", "CUSTOM_SLICE_4", "slice-4.xml.j2", "slice-8"))
        lines.extend(
            entry(f"slice-1-{i}", "CUSTOM_SLICE_1", "slice-1.xml.j2", f"slice-4-{half}")
            for i in range(half * 4, half * 4 + 4)
        )
    return lines


def pinned(name: str, cpus: str, pci_bus: str | None = None, parent: str | None = None) -> str:
    device = (
        f"<devices><hostdev mode='subsystem' type='pci'><source><address domain='0x0000' "
        f"bus='{pci_bus}' slot='0x00' function='0x0'/></source></hostdev></devices>"
        if pci_bus
        else ""
    )
    template = (
        f"<domain><vcpu placement='static' cpuset='{cpus}'>1</vcpu>"
        f"<numatune><memory nodeset='0'/></numatune>{device}</domain>"
    )
    item = {"name": name, "resource_class": "CUSTOM_S", "template": template}
    if parent:
        item["conflict_parent"] = parent
    return json.dumps(item)


@pytest.mark.parametrize(
    ("text", "values"),
    [("0-3", {0, 1, 2, 3}), ("0-3,^2,8", {0, 1, 3, 8}), ("5", {5}), (" 1 , 2 ", {1, 2})],
)
def test_cpusets_parse_as_libvirt_writes_them(text: str, values: set[int]) -> None:
    assert parse_cpuset("x", text) == values


@pytest.mark.parametrize("text", ["a", "3-1", "1-", ""])
def test_malformed_cpusets_are_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="x: invalid CPU/cell set"):
        parse_cpuset("x", text)


def test_cpusets_format_as_ranges() -> None:
    assert format_cpuset({0, 1, 2, 5, 7, 8}) == "0-2,5,7-8"
    assert format_cpuset(set()) == ""


def test_holdings_collect_every_pin_cell_and_hostdev() -> None:
    domain = etree.fromstring(
        "<domain><vcpu cpuset='1'>1</vcpu><cputune><vcpupin vcpu='0' cpuset='2-3'/>"
        "<emulatorpin cpuset='4'/><iothreadpin iothread='1' cpuset='5'/></cputune>"
        "<numatune><memory nodeset='0'/><memnode cellid='0' nodeset='1'/></numatune>"
        "<devices><hostdev type='pci'><source><address domain='0x0000' bus='0x1a' slot='0x2'"
        " function='0x1'/></source></hostdev><hostdev type='usb'><source>"
        "<address bus='1' device='2'/></source></hostdev></devices></domain>"
    )
    held = holdings_of("s", domain)
    assert held.cpus == {1, 2, 3, 4, 5}
    assert held.numa_cells == {0, 1}
    assert held.pci_devices == {"0000:1a:02.1"}
    assert held.describe() == "cpus 1-5, cells 0-1, pci 0000:1a:02.1"


def test_the_sample_tree_passes_every_check_and_prints() -> None:
    tree = load_tree(sample_lines(), HOST)
    lines = tree.lines()
    assert lines[0].startswith("slice-8 (CUSTOM_SLICE_8): cpus 4-31,36-63, cells 0-1, pci ")
    assert lines[1] == (
        "  slice-4-0 (CUSTOM_SLICE_4): cpus 4-31, cells 0, "
        "pci 0000:1a:00.0 0000:1b:00.0 0000:3d:00.0 0000:3e:00.0"
    )
    assert lines[2] == "    slice-1-0 (CUSTOM_SLICE_1): cpus 4-10, cells 0, pci 0000:1a:00.0"
    assert lines[6].startswith("  slice-4-1 ")
    assert len(lines) == 11
    assert tree.descendants("slice-4-1") == [f"slice-1-{i}" for i in range(4, 8)]
    assert tree.ancestors("slice-1-5") == ["slice-4-1", "slice-8"]
    assert tree.related("slice-8", "slice-1-0") and not tree.related("slice-4-0", "slice-1-4")


def test_providers_hang_under_their_conflict_parent_with_one_unit() -> None:
    providers = load_tree(sample_lines(), HOST).providers()
    shape = {p.name: (p.parent_name, dict(p.inventories)) for p in providers}
    assert shape["slice-8"] == (None, {"CUSTOM_SLICE_8": 1})
    assert shape["slice-4-1"] == ("slice-8", {"CUSTOM_SLICE_4": 1})
    assert shape["slice-1-7"] == ("slice-4-1", {"CUSTOM_SLICE_1": 1})


def test_a_cpu_the_host_lacks_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        load_tree([pinned("s", "60-70")], HOST)
    assert str(caught.value) == (
        "slice_spec 's': pins host CPUs 64-70 the host does not have (host CPUs 0-63)"
    )


def test_a_numa_cell_the_host_lacks_is_refused() -> None:
    facts = HostFacts(HOST.cpus, frozenset({1}), HOST.pci_devices)
    with pytest.raises(ConfigError, match="slice_spec 's': names NUMA cells 0 the host does not"):
        load_tree([pinned("s", "1")], facts)


def test_a_pci_device_the_host_lacks_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        load_tree([pinned("s", "1", pci_bus="0x77")], HOST)
    assert str(caught.value) == (
        "slice_spec 's': passes through PCI devices 0000:77:00.0 the host does not have"
    )


def test_the_sample_templates_on_a_smaller_host_are_refused() -> None:
    small = HostFacts(frozenset(range(32)), frozenset({0}), HOST.pci_devices)
    with pytest.raises(ConfigError, match="slice_spec 'slice-8': pins host CPUs 36-63"):
        load_tree(sample_lines(), small)


def test_unrelated_slices_sharing_cpus_are_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        load_tree([pinned("a", "0-3"), pinned("b", "3-5")], HOST)
    assert str(caught.value) == (
        "slice_spec 'a' and 'b' can run side by side (neither is an ancestor of the other) "
        "but both hold cpus 3"
    )


def test_unrelated_slices_sharing_a_device_are_refused() -> None:
    lines = [pinned("a", "0", pci_bus="0x1a"), pinned("b", "1", pci_bus="0x1a")]
    with pytest.raises(ConfigError, match=r"both hold pci 0000:1a:00\.0"):
        load_tree(lines, HOST)


def test_ancestors_and_descendants_may_share() -> None:
    lines = [
        pinned("big", "0-7", "0x1a"),
        pinned("a", "0-3", "0x1a", "big"),
        pinned("b", "4-7", parent="big"),
    ]
    assert len(load_tree(lines, HOST).slices) == 3
