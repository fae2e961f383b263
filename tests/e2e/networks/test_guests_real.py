"""Real guests on real hosts: one `virtfleet up` over two libvirt hosts that each live
in a network namespace of their own (scripts/libvirt-hosts.sh, VIRTFLEET_HOSTS_NETNS=1),
wired by an underlay the test makes (support/netns_hosts.py). Two TCG guests (the test
initramfs: ``vf.net`` asks DHCP on every NIC, ``vf.ping`` pings the peers once a
second and prints each result) run on different hosts, each with a port on a flat
provider network (192.0.2.0/24) and one on a VXLAN project network (198.51.100.0/24).
What the guests print on their console is the proof: their DHCP leases from
virtfleet's dnsmasq, and pings to each other across the hosts that a security group
without an ICMP rule blocks, that adding the rule lets through and removing it blocks
again. Deleting servers, ports and networks leaves no tap, bridge, VXLAN device, DHCP
namespace, dnsmasq or nftables table on either host.

A VLAN provider network needs 802.1Q in the kernel: its test skips, saying so, where
``ip link add ... type vlan`` fails.

Needs root, libvirtd + QEMU, iproute2, nftables, dnsmasq and the x86_64 guest kernel
of scripts/guest-images.sh.
"""

from __future__ import annotations

import pathlib
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from openstack import connection
from openstack.config import loader

from support.cloud import GUEST_IMAGES, Cloud, process_cloud
from support.clouds import Recipe
from support.netns_hosts import (
    FLAT_BRIDGE,
    VLAN_LINK,
    NetnsHost,
    dnsmasq_processes,
    netns_hosts,
    vlan_unsupported,
)

pytestmark = [pytest.mark.libvirt, pytest.mark.libvirt_hosts, pytest.mark.slow]

HOST_NAMES = ("vf-net-a", "vf-net-b")
AGENT_BASE = "vfnet"  # `virtfleet up` names its libvirt agents vfnet, vfnet-1
FLAT_V4 = ("192.0.2.0/24", "192.0.2.11", "192.0.2.12")
TUNNEL_V4 = ("198.51.100.0/24", "198.51.100.11", "198.51.100.12")
VLAN_V4 = ("203.0.113.64/26", "203.0.113.75", "203.0.113.76")
VLAN_ID = 101
BOOT_SECONDS = 120  # ACTIVE to both DHCP leases on the console, on a busy machine
PING = re.compile(r"^VF-PING (\S+) (ok|fail)\s*$", re.MULTILINE)


def dhcp_line(dev: str, address: str) -> re.Pattern[str]:
    return re.compile(rf"^VF-DHCP dev={dev} ip={re.escape(address)} mask=\d+ ",
                      re.MULTILINE)  # fmt: skip


@pytest.fixture(scope="module")
def hosts() -> Iterator[list[NetnsHost]]:
    with netns_hosts(HOST_NAMES) as made:
        yield made


@pytest.fixture(scope="module")
def state_dirs() -> Iterator[list[pathlib.Path]]:
    """Each host's dnsmasq files, in directories dnsmasq (user nobody) can read."""
    root = pathlib.Path(tempfile.mkdtemp(prefix="vfnet-state-", dir="/tmp"))
    root.chmod(0o755)
    made = [root / name for name in HOST_NAMES]
    yield made
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def cloud(
    tmp_path_factory: pytest.TempPathFactory,
    hosts: list[NetnsHost],
    state_dirs: list[pathlib.Path],
) -> Iterator[Cloud]:
    tmp = tmp_path_factory.mktemp("networks-real")
    per_host = tmp / "hosts"
    per_host.mkdir()
    for index, (host, state) in enumerate(zip(hosts, state_dirs, strict=True)):
        agent = AGENT_BASE if index == 0 else f"{AGENT_BASE}-{index}"
        (per_host / f"{agent}.conf").write_text(
            f"[network]\nhost_netns = {host.netns}\ntunnel_address = {host.tunnel_address}\n"
            f"state_directory = {state}\n"
        )
    recipe = Recipe(
        auth="keystone",
        conf={
            "host": AGENT_BASE,
            "host_config_dir": str(per_host),
            "libvirt__virt_type": "qemu",
            "network__physical_networks": f"flat:{FLAT_BRIDGE},vlans:{VLAN_LINK}",
        },
    )
    uris = [arg for host in hosts for arg in ("--libvirt", host.uri)]
    started = time.monotonic()
    running = process_cloud(tmp, recipe, *uris)
    print(f"virtfleet up with two namespaced libvirt hosts: {time.monotonic() - started:.1f} s")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def sdk(cloud: Cloud) -> connection.Connection:
    """An openstacksdk connection (what the openstack CLI drives) as the cloud's admin."""
    config = loader.OpenStackConfig(config_files=[str(cloud.clouds_yaml)])
    return connection.Connection(config=config.get_one("virtfleet"))


@pytest.fixture(scope="module")
def flavor(sdk: connection.Connection) -> str:
    return str(sdk.compute.create_flavor(name="net.tiny", ram=192, vcpus=1, disk=1).id)


def pinging_image(sdk: connection.Connection, name: str, targets: tuple[str, ...]) -> str:
    """The x86_64 test kernel (aki + ari + ami images) asking DHCP on every NIC and
    pinging ``targets``; its id."""
    kernel, initrd = GUEST_IMAGES / "vmlinuz-x86_64", GUEST_IMAGES / "initrd-x86_64.gz"
    if not (kernel.exists() and initrd.exists()):
        pytest.fail(f"no x86_64 guest kernel in {GUEST_IMAGES}: run scripts/guest-images.sh x86_64")
    parts = {}
    for kind, path in (("aki", kernel), ("ari", initrd)):
        parts[kind] = sdk.image.create_image(
            name=f"{name}-{kind}", filename=str(path), disk_format=kind, container_format=kind
        ).id
    cmdline = f"console=ttyS0 quiet panic=-1 vf.net vf.ping={','.join(targets)}"
    image = sdk.image.create_image(
        name=name, disk_format="ami", container_format="ami", kernel_id=parts["aki"],
        ramdisk_id=parts["ari"], os_command_line=cmdline,
    )  # fmt: skip
    return str(image.id)


def console(sdk: connection.Connection, server: Any) -> str:
    return str(sdk.compute.get_server_console_output(server)["output"])


def wait_until(
    what: str, check: Callable[[], bool], timeout: float, show: Callable[[], str]
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s\n{show()}"
        time.sleep(1)


def pings(text: str, target: str) -> list[str]:
    """Results (``ok``/``fail``) of the guest's pings of ``target``, in order."""
    return [result for seen, result in PING.findall(text) if seen == target]


def boot_apart(
    sdk: connection.Connection, flavor: str, image: str, ports: dict[str, list[str]]
) -> dict[str, Any]:
    """One server per entry of ``ports`` (name -> its port ids), each on a host of its
    own: the next is created once the previous has one (the scheduler spreads by free
    capacity); returns the servers, ACTIVE."""
    image_id = image
    made: dict[str, Any] = {}
    taken: set[str] = set()
    for name, port_ids in ports.items():
        server = sdk.compute.create_server(
            name=name, flavor_id=flavor, image_id=image_id,
            networks=[{"port": port_id} for port_id in port_ids],
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while not (host := sdk.compute.get_server(server).compute_host):
            assert time.monotonic() < deadline, f"{name} got no host"
            time.sleep(0.5)
        assert host not in taken, f"{name} landed on {host} beside another guest"
        taken.add(host)
        made[name] = server
    for name, server in made.items():
        made[name] = sdk.compute.wait_for_server(server, status="ACTIVE", wait=120, interval=1)
    return made


def assert_hosts_clean(hosts: list[NetnsHost], state_dirs: list[pathlib.Path]) -> None:
    for host, state in zip(hosts, state_dirs, strict=True):
        assert host.agent_devices() == [], (host.name, host.links())
        assert FLAT_BRIDGE in host.links()  # the operator's bridge stays
        assert host.dhcp_namespaces() == [], host.name
        assert dnsmasq_processes(state) == [], host.name
        assert "virtfleet" not in host.nft_tables(), host.nft_tables()


def test_guests_on_two_hosts_reach_each_other_over_flat_and_vxlan_as_groups_allow(
    cloud: Cloud,
    sdk: connection.Connection,
    flavor: str,
    hosts: list[NetnsHost],
    state_dirs: list[pathlib.Path],
) -> None:
    started = time.monotonic()
    flat_cidr, flat_a, flat_b = FLAT_V4
    tun_cidr, tun_a, tun_b = TUNNEL_V4
    image = pinging_image(sdk, "vfnet-ping", (flat_a, flat_b, tun_a, tun_b))
    flat = sdk.network.create_network(
        name="flat", provider_network_type="flat", provider_physical_network="flat"
    )
    tunnel = sdk.network.create_network(name="tunnel")
    assert tunnel.provider_network_type == "vxlan", tunnel
    subnets = [
        sdk.network.create_subnet(network_id=flat.id, ip_version=4, cidr=flat_cidr, name="flat-v4"),
        sdk.network.create_subnet(network_id=tunnel.id, ip_version=4, cidr=tun_cidr, name="tun-v4"),
    ]
    quiet = sdk.network.create_security_group(name="no-icmp")  # egress rules only
    ports = {
        name: [
            sdk.network.create_port(
                network_id=net.id,
                fixed_ips=[{"ip_address": address}],
                security_group_ids=[quiet.id],
                name=f"{name}-{net.name}",
            ).id
            for net, address in ((flat, flat_addr), (tunnel, tun_addr))
        ]
        for name, flat_addr, tun_addr in (("vm-a", flat_a, tun_a), ("vm-b", flat_b, tun_b))
    }
    servers = boot_apart(sdk, flavor, image, ports)
    vm_a, vm_b = servers["vm-a"], servers["vm-b"]
    booted = time.monotonic()
    peers = {"vm-a": (vm_a, flat_b, tun_b), "vm-b": (vm_b, flat_a, tun_a)}

    def consoles() -> str:
        return "\n".join(f"== {n}\n{console(sdk, s)}" for n, s in servers.items())

    for name, (server, *_), own in (
        ("vm-a", peers["vm-a"], (flat_a, tun_a)),
        ("vm-b", peers["vm-b"], (flat_b, tun_b)),
    ):
        wait_until(
            f"{name}'s DHCP leases on both NICs",
            lambda s=server, o=own: (
                bool(dhcp_line("eth0", o[0]).search(console(sdk, s)))
                and bool(dhcp_line("eth1", o[1]).search(console(sdk, s)))
            ),
            BOOT_SECONDS,
            consoles,
        )
    leased = time.monotonic()
    listed = cloud.openstack_json("server", "list", "--long")
    assert {row["Name"]: row["Networks"] for row in listed} == {
        "vm-a": {"flat": [flat_a], "tunnel": [tun_a]},
        "vm-b": {"flat": [flat_b], "tunnel": [tun_b]},
    }, listed

    def every_peer(result: str, after: dict[str, int]) -> Callable[[], bool]:
        """Each guest's latest ping of each peer address (printed after ``after``'s
        offset into its console) is ``result``."""

        def check() -> bool:
            for name, (server, *targets) in peers.items():
                text = console(sdk, server)[after[name] :]
                if any(pings(text, target)[-1:] != [result] for target in targets):
                    return False
            return True

        return check

    nothing = {name: 0 for name in peers}
    wait_until("pings blocked (no ICMP rule)", every_peer("fail", nothing), 60, consoles)
    for server, *targets in peers.values():
        assert not any("ok" in pings(console(sdk, server), t) for t in targets), consoles()

    rule = sdk.network.create_security_group_rule(
        security_group_id=quiet.id, direction="ingress", ethertype="IPv4", protocol="icmp"
    )
    mark = {name: len(console(sdk, server)) for name, (server, *_) in peers.items()}
    wait_until("pings pass (ICMP rule added)", every_peer("ok", mark), 60, consoles)
    allowed = time.monotonic()

    sdk.network.delete_security_group_rule(rule)
    mark = {name: len(console(sdk, server)) for name, (server, *_) in peers.items()}
    wait_until("pings blocked again (rule removed)", every_peer("fail", mark), 60, consoles)
    blocked = time.monotonic()

    for server in servers.values():
        sdk.compute.delete_server(server)
    for server in servers.values():
        sdk.compute.wait_for_delete(server, interval=1, wait=120)
    for port_ids in ports.values():
        for port_id in port_ids:
            sdk.network.delete_port(port_id)
    for subnet in subnets:
        sdk.network.delete_subnet(subnet)
    for network in (flat, tunnel):
        sdk.network.delete_network(network)
    sdk.network.delete_security_group(quiet)
    assert_hosts_clean(hosts, state_dirs)
    print(
        f"boot {booted - started:.1f} s, leases {leased - booted:.1f} s, "
        f"allowed {allowed - leased:.1f} s, blocked {blocked - allowed:.1f} s, "
        f"cleaned {time.monotonic() - blocked:.1f} s"
    )


def test_guests_on_a_vlan_provider_network_get_addresses_and_reach_each_other(
    hosts: list[NetnsHost], request: pytest.FixtureRequest
) -> None:
    reason = vlan_unsupported(hosts[0])
    if reason is not None:
        pytest.skip(reason)
    sdk: connection.Connection = request.getfixturevalue("sdk")
    flavor: str = request.getfixturevalue("flavor")
    state_dirs: list[pathlib.Path] = request.getfixturevalue("state_dirs")
    cidr, address_a, address_b = VLAN_V4
    image = pinging_image(sdk, "vfnet-vlan-ping", (address_a, address_b))
    vlan = sdk.network.create_network(
        name="vlan", provider_network_type="vlan", provider_physical_network="vlans",
        provider_segmentation_id=VLAN_ID,
    )  # fmt: skip
    subnet = sdk.network.create_subnet(network_id=vlan.id, ip_version=4, cidr=cidr)
    ports = {
        name: [sdk.network.create_port(network_id=vlan.id,
                                       fixed_ips=[{"ip_address": address}]).id]
        for name, address in (("vlan-a", address_a), ("vlan-b", address_b))
    }  # fmt: skip
    servers = boot_apart(sdk, flavor, image, ports)

    def consoles() -> str:
        return "\n".join(f"== {n}\n{console(sdk, s)}" for n, s in servers.items())

    for (name, server), own, peer in zip(
        servers.items(), (address_a, address_b), (address_b, address_a), strict=True
    ):
        wait_until(
            f"{name} leased {own} and reached {peer} over VLAN {VLAN_ID}",
            lambda s=server, o=own, p=peer: (
                bool(dhcp_line("eth0", o).search(console(sdk, s)))
                and "ok" in pings(console(sdk, s), p)
            ),
            BOOT_SECONDS,
            consoles,
        )
    for host in hosts:
        assert f"{VLAN_LINK}.{VLAN_ID}" in host.links()
    for server in servers.values():
        sdk.compute.delete_server(server)
    for server in servers.values():
        sdk.compute.wait_for_delete(server, interval=1, wait=120)
    for port_ids in ports.values():
        sdk.network.delete_port(port_ids[0])
    sdk.network.delete_subnet(subnet)
    sdk.network.delete_network(vlan)
    assert_hosts_clean(hosts, state_dirs)
