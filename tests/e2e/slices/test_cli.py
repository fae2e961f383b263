"""`virtfleet slices validate` and `virtfleet slices show` (in-process, CliRunner)."""

from __future__ import annotations

import json
import pathlib
from importlib import resources

import pytest
from click.testing import CliRunner

from support.slice_cloud import SLICE_1, SLICE_4, SLICES_DIR, SliceCloud
from virtfleet.cli.slices import slices

SAMPLE_FLEET = str(resources.files("virtfleet") / "data" / "sample-fleet.yaml")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(slices, list(args))
    return result.exit_code, result.output


def test_validate_prints_the_tree_of_a_fleet_host() -> None:
    code, output = run("validate", "--fleet", SAMPLE_FLEET, "--host", "slice-1")
    assert code == 0, output
    lines = output.splitlines()
    assert lines[0] == f"host slice-1 of {SAMPLE_FLEET}: 11 slices, checked against the host"
    assert lines[3] == "    slice-1-0 (CUSTOM_SLICE_1): cpus 4-10, cells 0, pci 0000:1a:00.0"
    assert len(lines) == 12


def test_validate_refuses_templates_the_fleet_host_cannot_hold(tmp_path: pathlib.Path) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(
        "hosts:\n  - name: small\n    arch: x86_64\n    cpus: 8\n    slices:\n"
        f"      - {{name: slice-1-0, resource_class: CUSTOM_SLICE_1, "
        f"template_file: {SLICES_DIR}/slice-1.xml.j2}}\n"
    )
    code, output = run("validate", "--fleet", str(fleet), "--host", "small")
    assert code == 1
    assert "Error: slice_spec 'slice-1-0': pins host CPUs 8-10 the host does not have" in output


def test_validate_reads_a_config_file_with_relative_templates(tmp_path: pathlib.Path) -> None:
    (tmp_path / "one.xml.j2").write_text("<domain><vcpu cpuset='{{ 1 }}'>1</vcpu></domain>")
    entry = json.dumps(
        {"name": "one", "resource_class": "CUSTOM_ONE", "template_file": "one.xml.j2"}
    )
    config = tmp_path / "virtfleet.conf"
    config.write_text(f"[libvirt]\nslice_spec = {entry}\n")
    code, output = run("validate", "--config", str(config), "--no-host-check")
    assert code == 0, output
    assert output.splitlines() == [
        f"{config}: 1 slices, host checks skipped",
        "one (CUSTOM_ONE): cpus 1",
    ]


def test_validate_refuses_a_bad_config_file_naming_the_entry(tmp_path: pathlib.Path) -> None:
    config = tmp_path / "virtfleet.conf"
    lines = [
        json.dumps({"name": "a", "resource_class": "CUSTOM_A", "template": "<domain/>"}),
        json.dumps(
            {
                "name": "b",
                "resource_class": "CUSTOM_B",
                "template": "<domain/>",
                "conflict_parent": "c",
            }
        ),
    ]
    config.write_text("[libvirt]\n" + "".join(f"slice_spec = {line}\n" for line in lines))
    code, output = run("validate", "--config", str(config), "--no-host-check")
    assert code == 1
    assert "Error: slice_spec 'b': unknown conflict_parent 'c'" in output


def test_validate_needs_a_config_or_a_fleet_host() -> None:
    assert run("validate")[0] == 2
    assert run("validate", "--fleet", SAMPLE_FLEET)[0] == 2


def test_show_tells_free_used_taken_and_blocked(cloud: SliceCloud, endpoint: str) -> None:
    alpha = cloud.boot({f"resources:{SLICE_1}": "1"}, "alpha")
    beta = cloud.boot({f"resources:{SLICE_4}": "1"}, "beta")
    code, output = run("show", "--endpoint", endpoint, "gpu-1")
    assert code == 0, output
    a, b = f"alpha ({alpha.uuid})", f"beta ({beta.uuid})"
    assert output.splitlines() == [
        f"slice-8 (CUSTOM_SLICE_8): blocked by {a} in slice-1-0, {b} in slice-4-1",
        f"  slice-4-0 (CUSTOM_SLICE_4): blocked by {a} in slice-1-0",
        f"    slice-1-0 (CUSTOM_SLICE_1): used by {a}",
        "    slice-1-1 (CUSTOM_SLICE_1): free",
        "    slice-1-2 (CUSTOM_SLICE_1): free",
        "    slice-1-3 (CUSTOM_SLICE_1): free",
        f"  slice-4-1 (CUSTOM_SLICE_4): used by {b}",
        f"    slice-1-4 (CUSTOM_SLICE_1): taken by {b} with slice-4-1",
        f"    slice-1-5 (CUSTOM_SLICE_1): taken by {b} with slice-4-1",
        f"    slice-1-6 (CUSTOM_SLICE_1): taken by {b} with slice-4-1",
        f"    slice-1-7 (CUSTOM_SLICE_1): taken by {b} with slice-4-1",
    ]


def test_show_of_an_unknown_host_says_so(cloud: SliceCloud, endpoint: str) -> None:
    code, output = run("show", "--endpoint", endpoint, "nowhere")
    assert code == 1
    assert "no resource provider named 'nowhere'" in output


def _hostdev(bus: str) -> str:
    return (
        "<hostdev mode='subsystem' type='pci'><source><address domain='0x0000' "
        f"bus='0x{bus}' slot='0x00' function='0x0'/></source></hostdev>"
    )


def _template(cpus: str, cell: str, *buses: str) -> str:
    devices = "".join(_hostdev(bus) for bus in buses)
    return (
        f"<domain type='kvm'><vcpu cpuset='{cpus}'>1</vcpu>"
        f"<numatune><memory nodeset='{cell}'/></numatune><devices>{devices}</devices></domain>"
    )


def _two_cell_fleet(tmp_path: pathlib.Path, slices_yaml: list[dict[str, str]]) -> str:
    """A host with CPUs 0-7 in cells 0 and 1 and GPUs at 0000:1a:00.0 and 0000:1b:00.0."""
    host = {
        "name": "h",
        "arch": "x86_64",
        "cpus": 8,
        "numa": [{"cpus": "0-3", "memory_mb": 8192}, {"cpus": "4-7", "memory_mb": 8192}],
        "gpus": [
            {"address": "0000:1a:00.0", "numa_node": 0},
            {"address": "0000:1b:00.0", "numa_node": 1},
        ],
        "slices": slices_yaml,
    }
    path = tmp_path / "fleet.yaml"
    path.write_text(json.dumps({"hosts": [host]}))  # JSON is YAML
    return str(path)


def _slice(name: str, template: str, parent: str | None = None) -> dict[str, str]:
    entry = {"name": name, "resource_class": "CUSTOM_S", "template": template}
    return {**entry, "conflict_parent": parent} if parent else entry


def test_validate_prints_what_each_slice_holds_on_a_two_cell_host(tmp_path: pathlib.Path) -> None:
    fleet = _two_cell_fleet(
        tmp_path,
        [
            _slice("both", _template("0-7", "0-1", "1a", "1b")),
            _slice("left", _template("0-3", "0", "1a"), "both"),
            _slice("right", _template("4-7", "1", "1b"), "both"),
        ],
    )
    code, output = run("validate", "--fleet", fleet, "--host", "h")
    assert code == 0, output
    assert output.splitlines()[1:] == [
        "both (CUSTOM_S): cpus 0-7, cells 0-1, pci 0000:1a:00.0 0000:1b:00.0",
        "  left (CUSTOM_S): cpus 0-3, cells 0, pci 0000:1a:00.0",
        "  right (CUSTOM_S): cpus 4-7, cells 1, pci 0000:1b:00.0",
    ]


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (
            [_slice("far", _template("1", "2"))],
            "slice_spec 'far': names NUMA cells 2 the host does not have (host cells 0-1)",
        ),
        (
            [_slice("ghost-gpu", _template("1", "0", "3d"))],
            "slice_spec 'ghost-gpu': passes through PCI devices 0000:3d:00.0 the host does "
            "not have",
        ),
        (
            [_slice("a", _template("0-1", "0", "1a")), _slice("b", _template("2-3", "0", "1a"))],
            "slice_spec 'a' and 'b' can run side by side (neither is an ancestor of the "
            "other) but both hold pci 0000:1a:00.0",
        ),
        (
            [
                _slice("top", _template("0-7", "0-1")),
                _slice("a", _template("0-3", "0"), "top"),
                _slice("b", _template("3-5", "0"), "top"),
            ],
            "slice_spec 'a' and 'b' can run side by side (neither is an ancestor of the "
            "other) but both hold cpus 3",
        ),
    ],
    ids=["numa-cell", "pci-device", "siblings-share-a-gpu", "siblings-share-a-cpu"],
)
def test_validate_refuses_what_the_host_lacks_or_slices_share(
    tmp_path: pathlib.Path, entries: list[dict[str, str]], message: str
) -> None:
    code, output = run("validate", "--fleet", _two_cell_fleet(tmp_path, entries), "--host", "h")
    assert code == 1
    assert output.strip() == f"Error: {message}"
