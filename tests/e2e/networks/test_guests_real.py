"""Real guests on real hosts: one `virtfleet up` over two libvirt hosts that each live
in a network namespace of their own (scripts/libvirt-hosts.sh, VIRTFLEET_HOSTS_NETNS=1),
wired by an underlay the test makes (support/netns_hosts.py). Two TCG guests (the test
initramfs: ``vf.net`` asks DHCP on every NIC, ``vf.ping`` pings the peers once a
second and prints each result) run on different hosts, each with a port on a flat
provider network (192.0.2.0/24) and one on a VXLAN project network (198.51.100.0/24).
What the guests print on their console is the proof: their DHCP leases from
virtfleet's dnsmasq, and pings to each other across the hosts that a security group
without an ICMP rule blocks, that adding the rule lets through and removing it blocks
again. A third guest on another project network with the same address range
(198.51.100.13) reaches neither of them while the rule lets ICMP in, nor they it. One
guest is live-migrated to the other's host: its taps are filtered there from the moment
they appear, its addresses and the peers' pings carry on, its ports' binding moves
and the source's rules forget it. Deleting servers, ports and networks leaves no tap,
bridge, VXLAN device, DHCP namespace, dnsmasq or nftables table on either host.

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
import threading
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
    sh,
    vlan_unsupported,
)
from virtfleet.agent.network.naming import tap_name

pytestmark = [pytest.mark.libvirt, pytest.mark.libvirt_hosts, pytest.mark.slow]

HOST_NAMES = ("vf-net-a", "vf-net-b")
AGENT_BASE = "vfnet"  # `virtfleet up` names its libvirt agents vfnet, vfnet-1
AGENT_NAMES = (AGENT_BASE, f"{AGENT_BASE}-1")
CLI_VERSION = ("--os-compute-api-version", "2.80")
FLAT_V4 = ("192.0.2.0/24", "192.0.2.11", "192.0.2.12")
TUNNEL_V4 = ("198.51.100.0/24", "198.51.100.11", "198.51.100.12")
OTHER_ADDRESS = "198.51.100.13"  # on network "other": the tunnel's range, not its segment
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
    sockets = tmp / "migration-sockets"
    sockets.mkdir()
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
            "libvirt__live_migration_socket_dir": str(sockets),
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
    image = pinging_image(sdk, "vfnet-ping", (flat_a, flat_b, tun_a, tun_b, OTHER_ADDRESS))
    flat = sdk.network.create_network(
        name="flat", provider_network_type="flat", provider_physical_network="flat"
    )
    tunnel = sdk.network.create_network(name="tunnel")
    other = sdk.network.create_network(name="other")  # another project network, same range
    assert tunnel.provider_network_type == "vxlan", tunnel
    subnets = [
        sdk.network.create_subnet(network_id=net.id, ip_version=4, cidr=cidr, name=f"{name}-v4")
        for net, cidr, name in ((flat, flat_cidr, "flat"), (tunnel, tun_cidr, "tun"),
                                (other, tun_cidr, "other"))
    ]  # fmt: skip
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
    ports["vm-c"] = [
        sdk.network.create_port(
            network_id=other.id, fixed_ips=[{"ip_address": OTHER_ADDRESS}],
            security_group_ids=[quiet.id], name="vm-c-other",
        ).id
    ]  # fmt: skip
    servers = boot_apart(sdk, flavor, image, {n: ports[n] for n in ("vm-a", "vm-b")})
    vm_a, vm_b = servers["vm-a"], servers["vm-b"]
    vm_c = sdk.compute.create_server(  # anywhere: it is the one on the other network
        name="vm-c", flavor_id=flavor, image_id=image, networks=[{"port": ports["vm-c"][0]}]
    )
    servers["vm-c"] = vm_c = sdk.compute.wait_for_server(
        vm_c, status="ACTIVE", wait=120, interval=1
    )
    booted = time.monotonic()
    peers = {"vm-a": (vm_a, flat_b, tun_b), "vm-b": (vm_b, flat_a, tun_a)}

    def consoles() -> str:
        return "\n".join(f"== {n}\n{console(sdk, s)}" for n, s in servers.items())

    for name, server, own in (
        ("vm-a", vm_a, ((0, flat_a), (1, tun_a))),
        ("vm-b", vm_b, ((0, flat_b), (1, tun_b))),
        ("vm-c", vm_c, ((0, OTHER_ADDRESS),)),
    ):
        wait_until(
            f"{name}'s DHCP leases on every NIC",
            lambda s=server, o=own: all(
                dhcp_line(f"eth{nic}", address).search(console(sdk, s)) for nic, address in o
            ),
            BOOT_SECONDS,
            consoles,
        )
    leased = time.monotonic()
    listed = cloud.openstack_json("server", "list", "--long")
    assert {row["Name"]: row["Networks"] for row in listed} == {
        "vm-a": {"flat": [flat_a], "tunnel": [tun_a]},
        "vm-b": {"flat": [flat_b], "tunnel": [tun_b]},
        "vm-c": {"other": [OTHER_ADDRESS]},
    }, listed

    def every_peer(result: str, after: dict[str, int]) -> Callable[[], bool]:
        """Each guest's latest ping of each peer address (printed after ``after``'s
        offset into its console) is ``result``."""

        def check() -> bool:
            for name, (server, *targets) in peers.items():
                text = since(console(sdk, server), after[name])
                if any(pings(text, target)[-1:] != [result] for target in targets):
                    return False
            return True

        return check

    def marks() -> dict[str, int]:
        return {name: len(console(sdk, server)) for name, (server, *_) in peers.items()}

    nothing = {name: 0 for name in peers}
    wait_until("pings blocked (no ICMP rule)", every_peer("fail", nothing), 60, consoles)
    for server, *targets in peers.values():
        assert not any("ok" in pings(console(sdk, server), t) for t in targets), consoles()

    rule = sdk.network.create_security_group_rule(
        security_group_id=quiet.id, direction="ingress", ethertype="IPv4", protocol="icmp"
    )
    mark, mark_c = marks(), len(console(sdk, vm_c))
    wait_until("pings pass (ICMP rule added)", every_peer("ok", mark), 60, consoles)
    allowed = time.monotonic()

    # the group lets ICMP in, yet the other network's guest (same range, another VXLAN
    # segment) reaches neither of them, nor they it
    wait_until(
        "vm-c pinged both tunnel addresses since the rule",
        lambda: all(pings(since(console(sdk, vm_c), mark_c), t) for t in (tun_a, tun_b)),
        30,
        consoles,
    )
    for target in (tun_a, tun_b):
        assert "ok" not in pings(since(console(sdk, vm_c), mark_c), target), consoles()
    for server, *_ in peers.values():
        tried = pings(console(sdk, server), OTHER_ADDRESS)
        assert tried and "ok" not in tried, consoles()
    isolated = time.monotonic()

    migrate_keeping_the_network(cloud, sdk, hosts, servers, ports, peers, consoles)
    migrated = time.monotonic()

    sdk.network.delete_security_group_rule(rule)
    wait_until("pings blocked again (rule removed)", every_peer("fail", marks()), 60, consoles)
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
    for network in (flat, tunnel, other):
        sdk.network.delete_network(network)
    sdk.network.delete_security_group(quiet)
    assert_hosts_clean(hosts, state_dirs)
    print(
        f"boot {booted - started:.1f} s, leases {leased - booted:.1f} s, "
        f"allowed {allowed - leased:.1f} s, isolated {isolated - allowed:.1f} s, "
        f"migrated {migrated - isolated:.1f} s, blocked {blocked - migrated:.1f} s, "
        f"cleaned {time.monotonic() - blocked:.1f} s"
    )


def since(text: str, mark: int) -> str:
    """What a console printed after offset ``mark`` (all of it when it is shorter: a
    migrated guest's console log starts again on its new host)."""
    return text[mark:] if len(text) >= mark else text


def nft_ruleset(host: NetnsHost) -> str:
    return sh("ip", "netns", "exec", host.netns, "nft", "list", "ruleset").stdout


def migrate_keeping_the_network(
    cloud: Cloud,
    sdk: connection.Connection,
    hosts: list[NetnsHost],
    servers: dict[str, Any],
    ports: dict[str, list[str]],
    peers: dict[str, tuple[Any, str, str]],
    consoles: Callable[[], str],
) -> None:
    """Live-migrate vm-a to vm-b's host (``openstack server migrate --live-migration``):
    its taps are filtered on the destination from the moment they exist there (the
    rules came with pre-live-migration), its addresses stay, its ports' binding moves,
    the source's rules forget it, and the peers ping it (and it them) again."""
    host_of = {agent: host for agent, host in zip(AGENT_NAMES, hosts, strict=True)}
    source = sdk.compute.get_server(servers["vm-a"]).compute_host
    dest = sdk.compute.get_server(servers["vm-b"]).compute_host
    assert source != dest
    addresses = cloud.openstack_json("server", "show", "vm-a")["addresses"]
    macs = {port_id: sdk.network.get_port(port_id).mac_address for port_id in ports["vm-a"]}
    taps = [tap_name(port_id) for port_id in ports["vm-a"]]
    unfiltered: list[str] = []
    done = threading.Event()

    def watch() -> None:  # a tap seen on the destination without its rules is a failure
        deadline = time.monotonic() + 300
        while not done.is_set() and time.monotonic() < deadline:
            links = host_of[dest].links()
            present = [t for t in taps if t in links]
            if present:
                rules = nft_ruleset(host_of[dest])
                unfiltered.extend(t for t in present if t not in rules)
            time.sleep(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    mark = {name: len(console(sdk, server)) for name, (server, *_) in peers.items()}
    try:
        moved = cloud.openstack(
            *CLI_VERSION, "server", "migrate", "--live-migration", "--host", dest, "--wait", "vm-a"
        )
    finally:
        done.set()
        watcher.join(timeout=10)
    assert "Complete" in moved.stdout, moved.stdout + moved.stderr
    shown = cloud.openstack_json("server", "show", "vm-a")
    assert (shown["OS-EXT-SRV-ATTR:host"], shown["addresses"]) == (dest, addresses), shown
    assert unfiltered == [], f"taps on {dest} before their rules: {sorted(set(unfiltered))}"
    for port_id, mac in macs.items():
        port = sdk.network.get_port(port_id)
        assert (port.binding_host_id, port.mac_address) == (dest, mac), port
    domain = sdk.compute.get_server(servers["vm-a"]).instance_name
    xml = sh("virsh", "-c", host_of[dest].uri, "dumpxml", domain).stdout
    assert all(f"<mac address='{mac}'/>" in xml for mac in macs.values()), xml
    dest_rules, source_rules = nft_ruleset(host_of[dest]), nft_ruleset(host_of[source])
    assert all(t in dest_rules for t in taps), dest_rules
    assert not any(t in source_rules for t in taps), source_rules

    def reached_again() -> bool:
        for name, (server, *targets) in peers.items():
            text = since(console(sdk, server), mark[name])
            if any(pings(text, target)[-1:] != ["ok"] for target in targets):
                return False
        return True

    wait_until("vm-a and vm-b ping each other after the migration", reached_again, 60, consoles)


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
