"""The real `openstack` CLI drives a real `virtfleet up` end to end."""

from __future__ import annotations

import pathlib
import signal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from support.cloud import Cloud, StartCloud


def provider_uuid(cloud: Cloud, name: str) -> str:
    providers = cloud.openstack_json("resource", "provider", "list", "--name", name)
    assert len(providers) == 1, providers
    return str(providers[0]["uuid"])


def test_boot_show_list_delete_with_the_openstack_cli(cloud: Cloud, tmp_path: pathlib.Path) -> None:
    cloud.openstack("flavor", "create", "--vcpus", "2", "--ram", "1024", "--disk", "5", "e2e.small")
    cloud.openstack(
        "flavor",
        "set",
        "--property",
        "hw:maxphysaddr_mode=emulate",
        "--property",
        "hw:maxphysaddr_bits=42",
        "e2e.small",
    )
    flavor = cloud.openstack_json("flavor", "show", "e2e.small")
    assert flavor["vcpus"] == 2 and flavor["ram"] == 1024
    assert flavor["properties"]["hw:maxphysaddr_bits"] == "42"

    disk = tmp_path / "disk.img"
    disk.write_bytes(b"\0" * 65536)
    cloud.openstack(
        "image",
        "create",
        "--disk-format",
        "raw",
        "--container-format",
        "bare",
        "--file",
        str(disk),
        "--property",
        "hw_architecture=x86_64",
        "e2e-image",
    )
    image = cloud.openstack_json("image", "show", "e2e-image")
    assert image["status"] == "active"

    server = cloud.openstack_json(
        "server", "create", "--flavor", "e2e.small", "--image", "e2e-image", "--wait", "e2e-vm"
    )
    assert server["status"] == "ACTIVE"
    shown = cloud.openstack_json("server", "show", "e2e-vm")
    host = shown["OS-EXT-SRV-ATTR:host"]
    assert host == "kvm-a"  # the only x86_64 host with >= 42 address bits
    listed = cloud.openstack_json("server", "list")
    assert [s["Name"] for s in listed] == ["e2e-vm"]

    hypervisors = cloud.openstack_json("hypervisor", "list")
    assert {h["Hypervisor Hostname"] for h in hypervisors} == {"kvm-a", "kvm-b", "arm-a"}

    assert cloud.usage(host) == {"VCPU": 2, "MEMORY_MB": 1024, "DISK_GB": 5}
    candidates = cloud.openstack_json(
        "allocation", "candidate", "list", "--resource", "VCPU=2", "--required", "HW_ARCH_AARCH64"
    )
    assert {c["resource provider"] for c in candidates} == {provider_uuid(cloud, "arm-a")}

    cloud.openstack("server", "delete", "--wait", "e2e-vm")
    assert cloud.usage(host) == {"VCPU": 0, "MEMORY_MB": 0, "DISK_GB": 0}
    assert cloud.openstack_json("server", "list") == []


def test_bad_extra_spec_is_refused_with_its_message(cloud: Cloud) -> None:
    cloud.openstack("flavor", "create", "--vcpus", "1", "--ram", "256", "--disk", "1", "e2e.bad")
    result = cloud.openstack(
        "flavor", "set", "--property", "hw:maxphysaddr_mode=bogus", "e2e.bad", check=False
    )
    assert result.returncode != 0
    assert "hw:maxphysaddr_mode" in result.stderr
    assert "bogus" in result.stderr


def test_unplaceable_server_goes_to_error_with_explanation(
    cloud: Cloud, tmp_path: pathlib.Path
) -> None:
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"\0" * 4096)
    cloud.openstack(
        "image",
        "create",
        "--disk-format",
        "raw",
        "--file",
        str(disk),
        "--property",
        "hw_emulation_architecture=ppc64le",
        "e2e-ppc",
    )
    cloud.openstack("flavor", "create", "--vcpus", "1", "--ram", "256", "--disk", "1", "e2e.tiny")
    cloud.openstack("server", "create", "--flavor", "e2e.tiny", "--image", "e2e-ppc", "e2e-ppc-vm")
    shown = cloud.wait_status("e2e-ppc-vm", "ERROR")
    assert shown["status"] == "ERROR"
    assert "COMPUTE_ARCH_PPC64LE" in str(shown["fault"])
    cloud.openstack("server", "delete", "--wait", "e2e-ppc-vm")


def test_restart_keeps_state_and_ctrl_c_stops_cleanly(
    tmp_path: pathlib.Path, cloud_starter: StartCloud
) -> None:
    first = cloud_starter(tmp_path)
    disk = tmp_path / "d.img"
    disk.write_bytes(b"\0" * 4096)
    first.openstack("flavor", "create", "--vcpus", "1", "--ram", "256", "--disk", "1", "keep")
    first.openstack("image", "create", "--disk-format", "raw", "--file", str(disk), "keep-img")
    first.openstack(
        "server", "create", "--flavor", "keep", "--image", "keep-img", "--wait", "keeper"
    )
    host = first.openstack_json("server", "show", "keeper")["OS-EXT-SRV-ATTR:host"]
    assert first.stop(signal.SIGINT) == 0  # Ctrl-C; later clouds stop with SIGTERM
    assert "virtfleet stopped." in first.log.read_text()

    second = cloud_starter(tmp_path)
    try:
        shown = second.openstack_json("server", "show", "keeper")
        assert shown["OS-EXT-SRV-ATTR:host"] == host
        assert second.openstack_json("flavor", "show", "keep")["vcpus"] == 1
        assert second.openstack_json("image", "show", "keep-img")["status"] == "active"
        assert second.usage(host)["VCPU"] == 1
    finally:
        second.stop()


def test_virtfleet_server_xml_prints_the_live_domain(cloud: Cloud, tmp_path: pathlib.Path) -> None:
    disk = tmp_path / "x.img"
    disk.write_bytes(b"\0" * 4096)
    cloud.openstack("flavor", "create", "--vcpus", "1", "--ram", "256", "--disk", "1", "xml.tiny")
    cloud.openstack("image", "create", "--disk-format", "raw", "--file", str(disk), "xml-img")
    server = cloud.openstack_json(
        "server", "create", "--flavor", "xml.tiny", "--image", "xml-img", "--wait", "xml-vm"
    )
    shown = cloud.virtfleet("server", "xml", "xml-vm")
    assert shown.returncode == 0, shown.stderr
    assert f"<uuid>{server['id']}</uuid>" in shown.stdout
    assert shown.stdout.lstrip().startswith("<domain")
    missing = cloud.virtfleet("server", "xml", "no-such-vm")
    assert missing.returncode == 1
    assert "no server named or with ID 'no-such-vm'" in missing.stderr
    cloud.openstack("server", "delete", "--wait", "xml-vm")


def test_clouds_yaml_is_password_auth_with_the_catalog_and_nothing_else(cloud: Cloud) -> None:
    import stat
    import urllib.error
    import urllib.request

    import yaml

    assert stat.S_IMODE(cloud.clouds_yaml.stat().st_mode) == 0o600
    entry = yaml.safe_load(cloud.clouds_yaml.read_text())["clouds"]["virtfleet"]
    assert entry["auth_type"] == "password"
    assert not [key for key in entry if "endpoint" in key] and "endpoint" not in entry["auth"]
    catalog = cloud.openstack_json("catalog", "list")
    assert sorted(service["Type"] for service in catalog) == [
        "compute",
        "identity",
        "image",
        "network",
        "placement",
    ]
    # found in the catalog (no override), answered by the Networking API
    assert isinstance(cloud.openstack_json("network", "list"), list)
    try:
        urllib.request.urlopen(f"{cloud.endpoint}/compute/v2.1/servers", timeout=10)
    except urllib.error.HTTPError as exc:
        assert exc.code == 401
    else:
        raise AssertionError("an anonymous request was served")


def test_the_openstack_cli_prints_no_warnings(cloud: Cloud) -> None:
    """A newcomer's first commands print their answer and nothing on stderr: no
    deprecation or version-discovery warnings from the clients or their libraries."""
    for command in (
        ("server", "list"),
        ("flavor", "list"),
        ("image", "list"),
        ("hypervisor", "list"),
        ("resource", "provider", "list"),
        ("network", "list"),
        ("token", "issue"),
    ):
        result = cloud.openstack(*command)
        assert result.stderr == "", f"openstack {' '.join(command)}:\n{result.stderr}"
