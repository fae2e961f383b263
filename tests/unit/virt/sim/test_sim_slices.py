"""The sample slice host: its templates render to domains the host accepts, and slices
that overlap (ancestor/descendant) cannot run at the same time, while disjoint ones can."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import jinja2
import libvirt
import pytest
from jinja2.sandbox import SandboxedEnvironment
from lxml import etree

from virtfleet.virt.sim import Fleet, SimConnection
from virtfleet.virt.sim.domxml import parse_domain

ENV = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=True)


def render(fleet: Fleet, slice_name: str, **context: object) -> str:
    spec = next(s for s in fleet.host("slice-1").slices if s.name == slice_name)
    assert spec.template_file is not None
    template = ENV.from_string(Path(spec.template_file).read_text())
    values = {"name": f"vm-{slice_name}", "instance_uuid": str(uuid.uuid4())}
    return template.render(**values, slice_name=slice_name, **context)


@pytest.fixture
def slice_host(connect: Callable[[str], SimConnection]) -> SimConnection:
    return connect("slice-1")


def start(conn: SimConnection, fleet: Fleet, slice_name: str) -> None:
    conn.defineXML(render(fleet, slice_name)).create()


def test_every_template_renders_a_valid_pinned_domain(fleet: Fleet) -> None:
    host = fleet.host("slice-1")
    addresses = {gpu.address for gpu in host.gpus}
    gpus_by_size = {"slice-8": 8, "slice-4": 4, "slice-1": 1}
    cpus_seen: dict[str, frozenset[int]] = {}
    for spec in host.slices:
        definition = parse_domain(render(fleet, spec.name, image_path="/i/disk.qcow2"), host)
        size = spec.name.rsplit("-", 1)[0] if spec.name != "slice-8" else "slice-8"
        assert len(definition.pci_addresses) == gpus_by_size[size]
        assert set(definition.pci_addresses) <= addresses
        assert definition.pinned_cpus and max(definition.pinned_cpus) < host.cpus
        assert definition.pinned_cpus.isdisjoint({0, 1, 2, 3, 32, 33, 34, 35})
        assert definition.domain_type == "kvm" and definition.cpu_mode == "host-passthrough"
        cpus_seen[spec.name] = definition.pinned_cpus
    ones = [cpus_seen[f"slice-1-{i}"] for i in range(8)]
    assert all(a.isdisjoint(b) for i, a in enumerate(ones) for b in ones[i + 1 :])
    assert cpus_seen["slice-4-0"] == frozenset().union(*ones[:4])


def test_template_values_are_escaped_and_variables_strict(fleet: Fleet) -> None:
    xml = render(fleet, "slice-1-0", image_path="/x'/><evil/>")
    root = etree.fromstring(xml.encode())
    assert root.find(".//evil") is None
    assert root.find("devices/disk/source").get("file") == "/x'/><evil/>"
    one_gpu = ENV.from_string(Path(fleet.host("slice-1").slices[3].template_file or "").read_text())
    with pytest.raises(jinja2.UndefinedError):
        one_gpu.render(name="x", instance_uuid="u")  # no slice_name
    with pytest.raises(jinja2.UndefinedError):
        one_gpu.render(name="x", instance_uuid="u", slice_name="slice-1-99")


def test_disjoint_slices_run_together(slice_host: SimConnection, fleet: Fleet) -> None:
    for i in range(8):
        start(slice_host, fleet, f"slice-1-{i}")
    assert len(slice_host.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)) == 8


@pytest.mark.parametrize(
    ("running", "refused"),
    [
        ("slice-8", "slice-4-1"),
        ("slice-8", "slice-1-5"),
        ("slice-4-0", "slice-8"),
        ("slice-4-0", "slice-1-2"),
        ("slice-1-7", "slice-4-1"),
        ("slice-1-7", "slice-8"),
    ],
)
def test_overlapping_slices_exclude_each_other(
    running: str, refused: str, slice_host: SimConnection, fleet: Fleet
) -> None:
    start(slice_host, fleet, running)
    dom = slice_host.defineXML(render(fleet, refused))
    with pytest.raises(libvirt.libvirtError, match="is in use by driver QEMU") as excinfo:
        dom.create()
    assert excinfo.value.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID


def test_slice_templates_do_not_fit_a_smaller_host(
    connect: Callable[[str], SimConnection], fleet: Fleet
) -> None:
    dom = connect("kvm-1").defineXML(render(fleet, "slice-1-0"))
    with pytest.raises(libvirt.libvirtError) as excinfo:
        dom.create()  # kvm-1 has no such GPU
    assert excinfo.value.get_error_code() == libvirt.VIR_ERR_SYSTEM_ERROR
