"""Real plugging with ``ip`` inside a network namespace the test creates (never the
host's own): bridges and VXLAN devices appear on plug and go with the last port; a
flat network uses the operator's bridge and leaves it alone; vlan networks are refused
clearly on a kernel without 802.1Q."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import uuid
from collections.abc import Iterator

import pytest

from virtfleet import errors
from virtfleet.agent.network.linux import LinuxBridgeNetwork, run_ip
from virtfleet.objects.vif import GuestVif

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None, reason="needs root and iproute2"
)
NET_A = "aaaaaaaa-1111-4111-8111-111111111111"
NET_B = "bbbbbbbb-2222-4222-8222-222222222222"


@pytest.fixture
def netns() -> Iterator[str]:
    name = f"vftest-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def vif(
    port: str, network: str, kind: str, seg: int | None, physnet: str | None = None
) -> GuestVif:
    return GuestVif(
        port_id=port,
        network_id=network,
        mac_address="fa:16:3e:00:00:01",
        mtu=1450 if kind == "vxlan" else 1500,
        network_type=kind,
        physical_network=physnet,
        segmentation_id=seg,
    )


def links(netns: str) -> set[str]:
    out = run_ip("-o", "link", "show", netns=netns)
    return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines()}


def master_of(netns: str, device: str) -> str | None:
    words = run_ip("-o", "link", "show", "dev", device, netns=netns).split()
    return words[words.index("master") + 1] if "master" in words else None


def test_project_network_bridge_and_vxlan_live_as_long_as_their_ports(netns: str) -> None:
    host = LinuxBridgeNetwork({}, tunnel_address="192.0.2.1", netns=netns)
    nics = host.plug("vm-1", [vif("port-1", NET_A, "vxlan", 7)])
    host.plug("vm-2", [vif("port-2", NET_A, "vxlan", 7)])
    bridge = "vfbr-" + NET_A[:10]
    assert nics[0].bridge == bridge and nics[0].tap == "tapport-1"
    assert {bridge, "vfvx-7"} <= links(netns)
    assert master_of(netns, "vfvx-7") == bridge
    assert "mtu 1450" in run_ip("link", "show", "dev", bridge, netns=netns)
    host.unplug("vm-1")
    assert {bridge, "vfvx-7"} <= links(netns)
    host.unplug("vm-2")
    assert not {bridge, "vfvx-7"} & links(netns)


def test_without_a_tunnel_address_a_project_network_stays_on_the_host(netns: str) -> None:
    host = LinuxBridgeNetwork({}, netns=netns)
    host.plug("vm-1", [vif("port-1", NET_B, "vxlan", 9)])
    assert "vfbr-" + NET_B[:10] in links(netns) and "vfvx-9" not in links(netns)
    host.unplug("vm-1")
    assert "vfbr-" + NET_B[:10] not in links(netns)


def test_flat_network_uses_the_operators_bridge_and_keeps_it(netns: str) -> None:
    run_ip("link", "add", "name", "br-ext", "type", "bridge", netns=netns)
    run_ip("link", "add", "veth-a", "type", "veth", "peer", "name", "veth-b", netns=netns)
    host = LinuxBridgeNetwork({"ext": "br-ext", "raw": "veth-a", "gone": "br-none"}, netns=netns)
    (nic,) = host.plug("vm-1", [vif("port-1", NET_A, "flat", None, "ext")])
    assert nic.bridge == "br-ext"
    host.unplug("vm-1")
    assert "br-ext" in links(netns)
    with pytest.raises(errors.HypervisorError, match="an interface, not a bridge"):
        host.plug("vm-2", [vif("port-2", NET_B, "flat", None, "raw")])
    with pytest.raises(errors.HypervisorError, match="'br-none', which does not exist"):
        host.plug("vm-3", [vif("port-3", NET_B, "flat", None, "gone")])


def test_vlan_is_refused_without_8021q_and_leaves_nothing(
    netns: str, tmp_path: pathlib.Path
) -> None:
    run_ip("link", "add", "veth-a", "type", "veth", "peer", "name", "veth-b", netns=netns)
    before = links(netns)
    host = LinuxBridgeNetwork({"phys": "veth-a"}, netns=netns, vlan_proc=tmp_path / "no-vlan")
    with pytest.raises(errors.HypervisorError, match=r"no 802\.1Q VLAN support .* module 8021q"):
        host.plug("vm-1", [vif("port-1", NET_A, "vlan", 100, "phys")])
    assert links(netns) == before


@pytest.mark.skipif(not pathlib.Path("/proc/net/vlan").exists(), reason="kernel has no 8021q")
def test_vlan_network_gets_a_sub_interface_on_its_bridge(netns: str) -> None:
    run_ip("link", "add", "veth-a", "type", "veth", "peer", "name", "veth-b", netns=netns)
    host = LinuxBridgeNetwork({"phys": "veth-a"}, netns=netns)
    host.plug("vm-1", [vif("port-1", NET_A, "vlan", 100, "phys")])
    assert master_of(netns, "veth-a.100") == "vfbr-" + NET_A[:10]
    host.unplug("vm-1")
    assert "veth-a.100" not in links(netns)
