"""Fleet files: the format, defaults, count expansion, and every refusal with its message."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest

from virtfleet.errors import ConfigError, NotFound
from virtfleet.virt.sim import Version, default_fleet, load_fleet

MINIMAL = """
hosts:
  - name: h1
    arch: x86_64
"""


def fleet_text(host_fields: str, *, defaults: str = "", top: str = "") -> str:
    """A one-host fleet file with extra host fields (indented YAML mapping lines)."""
    host = textwrap.indent(textwrap.dedent(host_fields).strip(), "    ")
    text = top + (f"defaults:\n{textwrap.indent(defaults, '  ')}\n" if defaults else "")
    return text + f"hosts:\n  - name: kvm-3\n    arch: x86_64\n{host}\n"


def test_minimal_host_gets_documented_defaults() -> None:
    host = load_fleet(MINIMAL).host("h1")
    assert host.virt_type == "kvm"
    assert host.libvirt_version == Version(9, 0, 0)
    assert host.qemu_version == Version(8, 2, 0)
    assert host.cpus == 16 and host.memory_mb == 65536 and host.disk_gb == 1000
    assert len(host.numa) == 1
    assert host.numa[0].cpus == tuple(range(16)) and host.numa[0].memory_mb == 65536
    assert host.cpu_mode == "host-model" and host.cpu_model == "EPYC-Rome"
    assert host.cpu_vendor == "AMD"
    assert host.maxphysaddr_bits is None and host.gpus == () and host.slices == ()
    assert "avx2" in host.cpu_features


def test_full_host_entry_parses_every_field(tmp_path: Path) -> None:
    (tmp_path / "t.xml.j2").write_text("<domain/>")
    path = tmp_path / "fleet.yaml"
    path.write_text(
        textwrap.dedent(
            """
            version: 1
            hosts:
              - name: gpu
                arch: amd64
                virt_type: qemu
                emulators: [arm64, ppc64le, s390x]
                libvirt_version: "8.5.0"
                qemu_version: "6.2.0"
                cpus: 8
                memory_mb: 4096
                disk_gb: 50
                numa:
                  - {cpus: "0-3", memory_mb: 2048}
                  - {cpus: [4, 5, 6, 7], memory_mb: 2048}
                maxphysaddr_bits: 39
                cpu_mode: custom
                cpu_model: Skylake-Server
                cpu_features: [avx512f, avx2, avx512f]
                gpus:
                  - address: "0000:81:00.0"
                    numa_node: 1
                    mdev_types:
                      nvidia-35: {available: 4, name: "GRID M60-0B", device_api: vfio-pci}
                slices:
                  - {name: big, resource_class: CUSTOM_BIG, template_file: t.xml.j2}
                  - {name: small, resource_class: CUSTOM_SMALL, template: "<domain/>",
                     conflict_parent: big}
                config:
                  libvirt: {cpu_mode: custom, cpu_models: [Skylake-Server]}
            """
        )
    )
    fleet = load_fleet(path)
    host = fleet.host("gpu")
    assert fleet.source == str(path)
    assert host.arch == "x86_64" and host.virt_type == "qemu"
    assert host.emulators == ("aarch64", "ppc64le", "s390x")
    assert host.libvirt_version == Version(8, 5, 0) and host.qemu_version == Version(6, 2, 0)
    assert [cell.cpus for cell in host.numa] == [(0, 1, 2, 3), (4, 5, 6, 7)]
    assert host.maxphysaddr_bits == 39 and host.cpu_vendor == "Intel"
    assert host.cpu_features == ("avx512f", "avx2")
    (gpu,) = host.gpus
    assert gpu.address == "0000:81:00.0" and gpu.numa_node == 1
    assert gpu.nodedev_name == "pci_0000_81_00_0"
    (mdev_type,) = gpu.mdev_types
    assert (mdev_type.type_id, mdev_type.name, mdev_type.available) == (
        "nvidia-35",
        "GRID M60-0B",
        4,
    )
    big, small = host.slices
    assert big.template_file == str(tmp_path / "t.xml.j2")
    assert small.template == "<domain/>" and small.conflict_parent == "big"
    assert host.config == {"libvirt": {"cpu_mode": "custom", "cpu_models": ["Skylake-Server"]}}
    assert host.kvm_arches == ()  # virt_type qemu: nothing under KVM


def test_count_expands_into_numbered_hosts_and_defaults_merge() -> None:
    fleet = load_fleet(
        textwrap.dedent(
            """
            defaults:
              arch: aarch64
              cpus: 4
              memory_mb: 8192
              config: {libvirt: {cpu_mode: host-model}, devices: {enabled_mdev_types: [a]}}
            hosts:
              - {name: arm, count: 3, config: {libvirt: {cpu_models: [x]}}}
              - {name: other, arch: x86_64, cpus: 2}
            """
        )
    )
    assert fleet.names == ("arm-1", "arm-2", "arm-3", "other")
    assert fleet.host("arm-2").arch == "aarch64" and fleet.host("other").arch == "x86_64"
    assert fleet.host("other").cpus == 2 and fleet.host("other").memory_mb == 8192
    # config merges per group: the host's libvirt options add to the defaults'.
    assert fleet.host("arm-1").config == {
        "libvirt": {"cpu_mode": "host-model", "cpu_models": ["x"]},
        "devices": {"enabled_mdev_types": ["a"]},
    }


def test_numa_alone_determines_cpus_and_memory() -> None:
    fleet = load_fleet(
        fleet_text(
            """
            numa:
              - {cpus: "0-1", memory_mb: 1024}
              - {cpus: "2-3", memory_mb: 1024}
            """
        )
    )
    host = fleet.host("kvm-3")
    assert host.cpus == 4 and host.memory_mb == 2048


BAD_HOSTS = [
    (
        "memory_mb: lots",
        "host 'kvm-3': field 'memory_mb': expected a positive integer from 1 to 2147483647, "
        "got 'lots'",
    ),
    ("memory_mb: 0", "field 'memory_mb': expected a positive integer from 1 to 2147483647, got 0"),
    ("cpus: true", "field 'cpus': expected a positive integer from 1 to 8192, got True"),
    ("disk_gb: -5", "field 'disk_gb': expected a positive integer from 1 to 2147483647, got -5"),
    ("memroy_mb: 4", "host 'kvm-3': unknown field 'memroy_mb'; known: name, arch"),
    ("virt_type: xen", "field 'virt_type': expected one of kvm, qemu, got 'xen'"),
    ("arch: vax", "host 'kvm-3': field 'arch': unknown architecture 'vax'; known: "),
    ("emulators: [aarch64, sparc]", "field 'emulators': unknown architecture 'sparc'"),
    ("emulators: aarch64", "field 'emulators': expected a list of architecture names"),
    ("libvirt_version: 9.0", "field 'libvirt_version': expected a version string like"),
    ("qemu_version: '8.2'", "field 'qemu_version': expected a version string like '9.0.0'"),
    ("qemu_version: '8.x.0'", "field 'qemu_version': expected a version string"),
    ("maxphysaddr_bits: 64", "field 'maxphysaddr_bits': expected an integer from 32 to 52"),
    ("cpu_mode: host", "field 'cpu_mode': expected one of host-model, host-passthrough"),
    ("cpu_model: ''", "field 'cpu_model': expected a string, got ''"),
    ("cpu_features: avx2", "field 'cpu_features': expected a list of CPU feature names"),
    ("cpu_features: [AVX 2]", "field 'cpu_features': expected a list of CPU feature names"),
    (
        "cpus: 4\nnuma: [{cpus: '0-2', memory_mb: 65536}]",
        "field 'numa': cells must cover CPUs 0-3 exactly once, they cover 0,1,2",
    ),
    (
        "cpus: 2\nmemory_mb: 100\nnuma: [{cpus: '0-1', memory_mb: 50}]",
        "field 'numa': cell memory adds up to 50 MiB, memory_mb is 100",
    ),
    ("numa: [{cpus: 'x', memory_mb: 1}]", "field 'numa': cell 0: expected a CPU list"),
    ("numa: [{cpus: [0, 0], memory_mb: 1}]", "field 'numa': cell 0: CPU list"),
    ("numa: [{cpus: [0], memory_mb: 1, node: 1}]", "field 'numa': cell 0: unknown key 'node'"),
    ("gpus: [{address: '81:00.0'}]", "field 'gpus': gpu 0: address: expected a PCI address"),
    (
        "gpus: [{address: '0000:81:00.0'}, {address: '0000:81:00.0'}]",
        "field 'gpus': duplicate PCI address '0000:81:00.0'",
    ),
    (
        "gpus: [{address: '0000:81:00.0', numa_node: 3}]",
        "field 'gpus': gpu '0000:81:00.0': numa_node 3 does not exist",
    ),
    (
        "gpus: [{address: '0000:81:00.0', mdev_types: {nvidia-1: {available: 0}}}]",
        "gpu 0: mdev type 'nvidia-1': expected a positive integer 'available' from 1 to 4096, "
        "got 0",
    ),
    (
        "gpus: [{address: '0000:81:00.0', mdev_types: {nvidia-1: {available: 1, x: 1}}}]",
        "mdev type 'nvidia-1': unknown key 'x'",
    ),
    (
        "slices: [{name: a, resource_class: SLICE, template: x}]",
        "field 'slices': slice 'a': resource_class: expected CUSTOM_[A-Z0-9_]+, got 'SLICE'",
    ),
    (
        "slices: [{name: a, resource_class: CUSTOM_A}]",
        "slice 'a': give exactly one of 'template' and 'template_file'",
    ),
    (
        "slices: [{name: a, resource_class: CUSTOM_A, template: x, template_file: y}]",
        "slice 'a': give exactly one of 'template' and 'template_file'",
    ),
    (
        "slices: [{name: a, resource_class: CUSTOM_A, template_file: /nonexistent.j2}]",
        "slice 'a': template_file '/nonexistent.j2' does not exist",
    ),
    (
        "slices: [{name: a, resource_class: CUSTOM_A, template: x, conflict_parent: b}]",
        "slice 'a': unknown conflict_parent 'b'",
    ),
    (
        "slices: [{name: a, resource_class: CUSTOM_A, template: x},"
        " {name: a, resource_class: CUSTOM_A, template: x}]",
        "duplicate slice name 'a'",
    ),
    (
        "slices: [{name: a, resource_class: CUSTOM_A, template: x, conflict_parent: b},"
        " {name: b, resource_class: CUSTOM_A, template: x, conflict_parent: a}]",
        "slice 'a': conflict_parent chain has a cycle",
    ),
    ("config: {nova: {x: 1}}", "field 'config': unknown option group 'nova'"),
    ("config: {libvirt: {cpu_mod: x}}", "field 'config': unknown option [libvirt] cpu_mod"),
    ("config: {libvirt: 3}", "field 'config': group 'libvirt': expected a mapping"),
    ("count: 0", "host 'kvm-3': field 'count': expected a positive integer from 1 to 10000, got 0"),
    # bounds (issue 21): each once made start-up hang or fail without a message
    ("cpus: 100000000000", "field 'cpus': expected a positive integer from 1 to 8192, got 1000"),
    ("count: 100000000", "field 'count': expected a positive integer from 1 to 10000, got 1000"),
    (
        "memory_mb: 4294967296",
        f"field 'memory_mb': expected a positive integer from 1 to {2**31 - 1}",
    ),
    ("numa: [{cpus: '0-99999', memory_mb: 1}]", "cell 0: CPU 99999 in '0-99999' is not below 8192"),
    ("numa: [{cpus: [0, 9000], memory_mb: 1}]", "cell 0: CPU numbers must be below 8192"),
    ("name: " + "h" * 64, "expected a host name ([A-Za-z0-9._-], at most 63 characters), got 'hhh"),
    (
        "gpus: [{address: '0000:81:00.0', mdev_types: {nvidia-1: {available: 100000}}}]",
        "'available' from 1 to 4096, got 100000",
    ),
    (
        "config: {DEFAULT: {data_dir: /elsewhere}}",
        "field 'config': option [DEFAULT] data_dir cannot be set per host",
    ),
    ("config: {database: {connection: 'sqlite://'}}", "option [database] connection cannot be set"),
    ("config: {api: {listen: '0.0.0.0:1'}}", "option [api] listen cannot be set per host"),
    (
        "slices: [{name: a, resource_class: CUSTOM_A, template_file: /}]",
        "slice 'a': template_file '/' is a directory; expected a Jinja2 template file",
    ),
]


@pytest.mark.parametrize(("fields", "message"), BAD_HOSTS, ids=[m for _, m in BAD_HOSTS])
def test_bad_host_field_is_refused_naming_host_and_field(fields: str, message: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_fleet(fleet_text(fields), source="fleet.yaml")
    assert str(excinfo.value).startswith("fleet file fleet.yaml: ")
    assert message in str(excinfo.value)


def test_maxphysaddr_bits_only_for_x86_hosts() -> None:
    text = "hosts:\n  - {name: arm, arch: aarch64, maxphysaddr_bits: 48}\n"
    with pytest.raises(ConfigError, match="host 'arm': field 'maxphysaddr_bits': only x86"):
        load_fleet(text)


BAD_FILES = [
    ("hosts: [", "YAML syntax error at line 1, column 9"),
    ("hosts:\n  - name: a\n    arch: x86_64\n   bad: 1\n", "YAML syntax error at line 4, column 4"),
    ("- a\n- b\n", "expected a mapping with 'hosts', got a list"),
    ("nosuchfile.yaml", "expected a mapping with 'hosts', got 'nosuchfile.yaml' (no such file?)"),
    ("hosts: []", "'hosts' must be a non-empty list"),
    ("host: []", "unknown top-level key 'host'"),
    ("version: 2\nhosts: [{name: a, arch: x86_64}]", "unsupported format version 2"),
    ("defaults: {arch: x86_64, colour: red}\nhosts: [{name: a}]", "defaults: unknown field"),
    ("defaults: [1]\nhosts: [{name: a}]", "'defaults' must be a mapping"),
    ("hosts: [{arch: x86_64}]", "host #1: field 'name': required"),
    ("hosts: [{name: 'bad name', arch: x86_64}]", "field 'name': expected a host name"),
    ("hosts: [{name: a}]", "host 'a': field 'arch': required"),
    ("hosts: [3]", "host #1: expected a mapping, got 3"),
    (
        "hosts: [{name: a, arch: x86_64}, {name: a, arch: aarch64}]",
        "host 'a': duplicate host name",
    ),
    (
        "hosts: [{name: h, count: 2, arch: x86_64}, {name: h-2, arch: x86_64}]",
        "host 'h-2': duplicate host name",
    ),
    (
        "hosts: [{name: a, count: 6000, arch: x86_64}, {name: b, count: 6000, arch: x86_64}]",
        "host #2: the fleet passes 10000 hosts (with 'count'); a fleet file may describe at most",
    ),
    ("hosts: " + "[" * 100_000 + "]" * 100_000, "YAML nested too deeply"),
]


@pytest.mark.parametrize(("text", "message"), BAD_FILES, ids=[m for _, m in BAD_FILES])
def test_bad_file_is_refused_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_fleet(text)
    assert message in str(excinfo.value)


def test_every_refusal_is_fast() -> None:
    """The bounds are checked before any work they bound (each once hung start-up)."""
    for fields, _ in BAD_HOSTS[-12:]:
        start = time.monotonic()
        with pytest.raises(ConfigError):
            load_fleet(fleet_text(fields), source="fleet.yaml")
        assert time.monotonic() - start < 1.0, fields


def test_unreadable_path_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"fleet file .*missing.yaml: cannot read"):
        load_fleet(tmp_path / "missing.yaml")


def test_fleet_lookup_of_unknown_host_is_not_found() -> None:
    with pytest.raises(NotFound, match="no host named 'nope'"):
        load_fleet(MINIMAL).host("nope")


def test_sample_fleet_matches_its_description() -> None:
    fleet = default_fleet()
    assert fleet.names == (
        "kvm-1",
        "kvm-2",
        "kvm-3",
        "passthrough-1",
        "arm-1",
        "old-1",
        "slice-1",
        "vgpu-1",
        "vgpu-2",
    )
    for name in ("kvm-1", "kvm-2", "kvm-3"):
        host = fleet.host(name)
        assert host.arch == "x86_64" and host.virt_type == "kvm"
        assert host.emulators == ("aarch64", "ppc64le", "s390x", "riscv64", "mipsel")
        assert host.maxphysaddr_bits == 46 and host.cpu_mode == "host-model"
        assert (str(host.libvirt_version), str(host.qemu_version)) == ("9.0.0", "8.2.0")
    passthrough = fleet.host("passthrough-1")
    assert passthrough.cpu_mode == "host-passthrough" and passthrough.maxphysaddr_bits == 52
    arm = fleet.host("arm-1")
    assert arm.arch == "aarch64" and arm.kvm_arches == ("aarch64",)
    assert arm.emulators == ("x86_64",)
    old = fleet.host("old-1")
    assert (str(old.libvirt_version), str(old.qemu_version), old.maxphysaddr_bits) == (
        "8.5.0",
        "6.2.0",
        39,
    )
    slices = fleet.host("slice-1")
    assert len(slices.numa) == 2 and len(slices.gpus) == 8
    parents = {spec.name: spec.conflict_parent for spec in slices.slices}
    assert parents["slice-8"] is None
    assert parents["slice-4-0"] == parents["slice-4-1"] == "slice-8"
    assert (
        sorted(parents[f"slice-1-{i}"] for i in range(8)) == ["slice-4-0"] * 4 + ["slice-4-1"] * 4
    )
    for name in ("vgpu-1", "vgpu-2"):
        host = fleet.host(name)
        assert len(host.gpus) == 2
        assert all(gpu.mdev_types[0].type_id == "nvidia-222" for gpu in host.gpus)
        assert host.config == {"devices": {"enabled_mdev_types": ["nvidia-222"]}}


def test_each_load_is_a_new_fleet_object() -> None:
    assert default_fleet() is not default_fleet()
