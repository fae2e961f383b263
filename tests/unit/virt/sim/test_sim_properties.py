"""Properties over many generated inputs: machine re-versioning and NUMA layouts."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from virtfleet.virt.sim import hypervisor_for, load_fleet
from virtfleet.virt.sim.connection import SimConnection
from virtfleet.virt.sim.machines import QEMU_RELEASES, arch_info

VERSIONED = re.compile(r"^(pc-q35|pc-i440fx|virt|pseries|s390-ccw-virtio)-(\d+)\.(\d+)$")


@settings(max_examples=40, deadline=None)
@given(
    release=st.sampled_from([r for r in QEMU_RELEASES if r >= (5, 0)]),
    arch=st.sampled_from(["x86_64", "aarch64", "ppc64le", "s390x"]),
)
def test_aliases_point_to_the_newest_machine_of_that_qemu(
    release: tuple[int, int], arch: str
) -> None:
    info = arch_info(arch, release)
    names = {m.name for m in info.machines}
    for machine in info.machines:
        match = VERSIONED.match(machine.name)
        if match:
            assert (int(match[2]), int(match[3])) <= release, machine.name
        if machine.canonical and VERSIONED.match(machine.canonical):
            assert machine.canonical in names
            assert machine.canonical.endswith(f"-{release[0]}.{release[1]}")


@settings(max_examples=30, deadline=None)
@given(cell_sizes=st.lists(st.integers(min_value=1, max_value=16), min_size=1, max_size=4))
def test_any_numa_layout_is_reported_as_written(cell_sizes: list[int]) -> None:
    cells, first = [], 0
    for size in cell_sizes:
        cells.append(f"      - {{cpus: '{first}-{first + size - 1}', memory_mb: 1024}}")
        first += size
    fleet = load_fleet("hosts:\n  - name: h\n    arch: x86_64\n    numa:\n" + "\n".join(cells))
    host = fleet.host("h")
    assert host.cpus == sum(cell_sizes) and host.memory_mb == 1024 * len(cell_sizes)
    caps = etree.fromstring(SimConnection(hypervisor_for(fleet, "h")).getCapabilities().encode())
    reported = [int(c.get("num")) for c in caps.iterfind("host/topology/cells/cell/cpus")]
    assert reported == cell_sizes
