"""The host data plane for real, without QEMU: "guests" are network namespaces whose
veth peers carry the tap names the agent expects, on a host that is itself a
namespace the test makes. Security groups filter for real (nftables, br_netfilter
connection tracking), anti-spoofing drops a guest's forged source, dnsmasq answers
DHCP with the port's address and options, a metadata request reaches the service with
a valid signature, and after the last port nothing of it is left."""

from __future__ import annotations

import contextlib
import http.server
import ipaddress
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from virtfleet import errors
from virtfleet.agent.network.dhcp import DhcpServers
from virtfleet.agent.network.linux import LinuxBridgeNetwork, run_ip
from virtfleet.agent.network.metadata_proxy import MetadataProxies
from virtfleet.agent.network.naming import tap_name
from virtfleet.network import metadata_identity
from virtfleet.objects.vif import GuestRule, GuestSubnet, GuestVif

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not all(shutil.which(t) for t in ("ip", "nft", "dnsmasq", "busybox")),
    reason="needs root, iproute2, nftables, dnsmasq and busybox",
)
NET = "cccccccc-3333-4333-8333-333333333333"
SUBNET = "dddddddd-4444-4444-8444-444444444444"
GROUP_A = "group-a"
CIDR = "192.0.2.0/24"
DHCP_ADDRESS = "192.0.2.2"
SECRET = "test-secret"


def sh(*command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=check)


@dataclass
class Guest:
    netns: str
    port_id: str
    mac: str
    address: str

    def run(self, *command: str) -> subprocess.CompletedProcess[str]:
        return sh("ip", "netns", "exec", self.netns, *command, check=False)

    def pings(self, target: str, source: str | None = None, tries: int = 3) -> bool:
        """Whether one of ``tries`` single pings (1 s each) is answered (a new bridge
        port takes a moment to forward)."""
        extra = ("-I", source) if source else ()
        for _ in range(tries):
            ping = self.run("busybox", "ping", "-c", "1", "-W", "1", *extra, target)
            if ping.returncode == 0:
                return True
        return False


@pytest.fixture
def host() -> Iterator[str]:
    name = f"vfdp-{uuid.uuid4().hex[:8]}"
    sh("ip", "netns", "add", name)
    sh("ip", "-n", name, "link", "set", "lo", "up")
    try:
        yield name
    finally:
        for line in sh("ip", "netns", "list").stdout.splitlines():
            if line.split()[0].startswith(name):
                sh("ip", "netns", "del", line.split()[0], check=False)


def make_guest(host: str, index: int) -> Guest:
    port_id = f"{index:08d}-aaaa-4aaa-8aaa-{uuid.uuid4().hex[:12]}"
    guest = Guest(
        f"{host}-g{index}", port_id, f"fa:16:3e:00:00:{index:02x}", f"192.0.2.{10 + index}"
    )
    sh("ip", "netns", "add", guest.netns)
    sh(
        "ip", "-n", host, "link", "add", tap_name(port_id), "type", "veth",
        "peer", "name", "eth0", "netns", guest.netns,
    )  # fmt: skip
    sh("ip", "-n", guest.netns, "link", "set", "eth0", "address", guest.mac, "up")
    sh("ip", "-n", guest.netns, "link", "set", "lo", "up")
    return guest


def attach(host: str, guest: Guest, bridge: str) -> None:
    sh("ip", "-n", host, "link", "set", tap_name(guest.port_id), "master", bridge, "up")


def give_address(guest: Guest, address: str | None = None) -> None:
    sh("ip", "-n", guest.netns, "addr", "add", f"{address or guest.address}/24", "dev", "eth0")


def rule(direction: str, **extra: object) -> GuestRule:
    return GuestRule(direction=direction, ethertype="IPv4", **extra)


def vif_of(
    guest: Guest, rules: list[GuestRule], groups: list[str], network_id: str = NET
) -> GuestVif:
    return GuestVif(
        port_id=guest.port_id,
        network_id=network_id,
        mac_address=guest.mac,
        mtu=1500,
        network_type="vxlan",
        segmentation_id=77,
        fixed_ips=[guest.address],
        gateways=["192.0.2.1"],
        security_group_ids=groups,
        project_id="proj-1",
        subnets=[
            GuestSubnet(
                subnet_id=SUBNET,
                cidr=CIDR,
                ip_version=4,
                gateway_ip="192.0.2.1",
                dns_nameservers=["192.0.2.53"],
                host_routes=["198.51.100.0/24,192.0.2.1"],
                dhcp_address=DHCP_ADDRESS,
            )
        ],
        rules=rules,
        instance_uuid=f"server-{guest.port_id}",
    )


def nft_tables(host: str) -> str:
    return sh("ip", "netns", "exec", host, "nft", "list", "tables").stdout


def test_security_groups_and_anti_spoofing_filter_for_real(host: str) -> None:
    network = LinuxBridgeNetwork({}, netns=host)
    one, two, three = (make_guest(host, i) for i in (1, 2, 3))
    members = [f"{one.address}/32", f"{two.address}/32"]
    group_a = [rule("egress"), rule("ingress", remote_any=False, remote_prefixes=members)]
    group_b = [rule("egress")]
    vifs = {
        one.port_id: vif_of(one, group_a, [GROUP_A]),
        two.port_id: vif_of(two, group_a, [GROUP_A]),
        three.port_id: vif_of(three, group_b, ["group-b"]),
    }
    for guest in (one, two, three):
        [nic] = network.plug(f"server-{guest.port_id}", [vifs[guest.port_id]])
        attach(host, guest, nic.bridge)
        give_address(guest)
    assert "table bridge virtfleet" in nft_tables(host)

    assert one.pings(two.address) and two.pings(one.address)  # same group
    assert not three.pings(one.address)  # ingress only from the group
    assert not one.pings(three.address, tries=1)  # group b takes no ingress at all

    opened = [*group_a, rule("ingress", protocol="icmp", remote_any=False,
                             remote_prefixes=[f"{three.address}/32"])]  # fmt: skip
    network.refresh([vif_of(one, opened, [GROUP_A])])
    assert three.pings(one.address)  # the reply passes three's ingress as established
    network.refresh([vif_of(one, group_a, [GROUP_A])])
    assert not three.pings(one.address)

    give_address(one, "192.0.2.99")  # a second address the port does not have
    assert not one.pings(two.address, source="192.0.2.99")
    assert one.pings(two.address, source=one.address)
    sh("ip", "-n", one.netns, "link", "set", "eth0", "address", "fa:16:3e:00:00:99")
    assert not one.pings(two.address)  # a MAC not its own

    for guest in (one, two, three):
        network.unplug(f"server-{guest.port_id}")
    assert "virtfleet" not in nft_tables(host)


class Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[dict[str, str]] = []

    def do_GET(self) -> None:
        Recorder.seen.append({k: v for k, v in self.headers.items()})
        body = b"meta for " + self.headers["X-Instance-ID"].encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def metadata_service() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def dnsmasq_pids(directory: pathlib.Path) -> list[int]:
    found = []
    for status in pathlib.Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = status.read_bytes().decode(errors="replace")
        except OSError:
            continue
        if text.startswith("dnsmasq") and str(directory) in text:
            found.append(int(status.parent.name))
    return found


@pytest.fixture
def state_dir() -> Iterator[pathlib.Path]:
    """A directory dnsmasq (which drops to user nobody) can read, unlike tmp_path."""
    made = pathlib.Path(tempfile.mkdtemp(prefix="vfdp-dhcp-", dir="/tmp"))
    made.chmod(0o755)
    try:
        yield made
    finally:  # a failed test leaves its dnsmasq running: stop those serving from here
        for pid in dnsmasq_pids(made):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        shutil.rmtree(made, ignore_errors=True)


def test_dhcp_and_metadata_serve_the_port_and_leave_nothing(
    host: str, state_dir: pathlib.Path, metadata_service: str
) -> None:
    tmp_path = state_dir
    network = LinuxBridgeNetwork({}, netns=host)
    network.dhcp = DhcpServers(tmp_path, host, f"{host}-dhcp-")
    network.metadata = MetadataProxies(metadata_service, SECRET, network.identity)
    guest = make_guest(host, 1)
    egress = [rule("egress")]
    [nic] = network.plug("server-1", [vif_of(guest, egress, [GROUP_A])])
    attach(host, guest, nic.bridge)
    assert len(dnsmasq_pids(tmp_path)) == 1

    lease = guest.run("busybox", "udhcpc", "-i", "eth0", "-q", "-n", "-t", "10", "-T", "1",
                      "-s", "/bin/true")  # fmt: skip
    assert f"lease of {guest.address} obtained" in lease.stderr + lease.stdout, lease
    hosts = (tmp_path / NET / "hosts").read_text()
    opts = (tmp_path / NET / "opts").read_text()
    assert f"{guest.mac},host-192-0-2-11,{guest.address}" in hosts
    assert "option:router,192.0.2.1" in opts and "option:mtu,1500" in opts
    assert "169.254.169.254/32,192.0.2.2" in opts and "198.51.100.0/24,192.0.2.1" in opts

    give_address(guest)
    sh("ip", "-n", guest.netns, "route", "add", "169.254.169.254/32", "via", DHCP_ADDRESS)
    fetched = guest.run("busybox", "timeout", "10", "busybox", "wget", "-q", "-O", "-",
                        "http://169.254.169.254/openstack/latest/meta_data.json")  # fmt: skip
    assert fetched.stdout == "meta for server-1", fetched
    sent = Recorder.seen[-1]
    assert metadata_identity.identify(SECRET, sent).address == guest.address
    assert sent["X-Tenant-ID"] == "proj-1"

    second = make_guest(host, 2)  # a new port: the entry appears, dnsmasq reloads
    [nic2] = network.plug("server-2", [vif_of(second, egress, [GROUP_A])])
    attach(host, second, nic2.bridge)
    assert second.mac in (tmp_path / NET / "hosts").read_text()
    assert len(dnsmasq_pids(tmp_path)) == 1

    network.unplug("server-1")
    network.unplug("server-2")
    assert dnsmasq_pids(tmp_path) == []
    assert not (tmp_path / NET).exists()
    assert f"{host}-dhcp-" not in sh("ip", "netns", "list").stdout
    assert "vfbr-" not in run_ip("-o", "link", "show", netns=host)
    assert "virtfleet" not in nft_tables(host)


def test_a_restarted_agent_adopts_its_guests_and_removes_what_is_left_over(
    host: str, state_dir: pathlib.Path
) -> None:
    """The agent's memory is lost (a new LinuxBridgeNetwork, as after a restart): it
    adopts the ports of the guests still there, so its next rewrite keeps filtering
    them; the dnsmasq serving them is kept, the bridge and dnsmasq of a network whose
    guest went away while it was down are removed."""

    def agent() -> LinuxBridgeNetwork:
        made = LinuxBridgeNetwork({}, netns=host, owner="host-1")
        made.dhcp = DhcpServers(state_dir, host, f"{host}-dhcp-")
        return made

    before = agent()
    one, two, three, gone = (make_guest(host, i) for i in (1, 2, 3, 4))
    members = [f"{one.address}/32", f"{two.address}/32"]
    group_a = [rule("egress"), rule("ingress", remote_any=False, remote_prefixes=members)]
    other_net = "eeeeeeee-5555-4555-8555-555555555555"
    vifs = [
        vif_of(one, group_a, [GROUP_A]),
        vif_of(two, group_a, [GROUP_A]),
        vif_of(three, [rule("egress")], ["group-b"]),
        vif_of(gone, [rule("egress")], ["group-b"], network_id=other_net),
    ]
    for guest, vif in zip((one, two, three, gone), vifs, strict=True):
        [nic] = before.plug(vif.instance_uuid, [vif])
        attach(host, guest, nic.bridge)
        give_address(guest)
    assert one.pings(two.address) and not three.pings(one.address)
    served = {net: dnsmasq_pids(state_dir / net) for net in (NET, other_net)}
    assert all(len(pids) == 1 for pids in served.values()), served
    other_bridge = "vfbr-" + other_net[:10]
    assert other_bridge in run_ip("-o", "link", "show", netns=host)

    # the agent stops (its claims go with its process); meanwhile the guest on the
    # other network goes away
    before.forget()
    sh("ip", "-n", host, "link", "del", tap_name(gone.port_id))
    after = agent()
    running = {v.instance_uuid for v in vifs[:3]}
    adopted = after.adopt(vifs, running)

    assert sorted(adopted) == sorted(v.port_id for v in vifs[:3])
    assert dnsmasq_pids(state_dir / NET) == served[NET]  # kept, not restarted
    assert dnsmasq_pids(state_dir / other_net) == []
    assert not (state_dir / other_net).exists()
    assert f"{host}-dhcp-{other_net[:10]}" not in sh("ip", "netns", "list").stdout
    assert other_bridge not in run_ip("-o", "link", "show", netns=host)
    assert one.pings(two.address) and not three.pings(one.address)

    # a change rewrites the rules: the adopted guests are still filtered by them
    opened = [*group_a, rule("ingress", protocol="icmp", remote_any=False,
                             remote_prefixes=[f"{three.address}/32"])]  # fmt: skip
    after.refresh([vif_of(one, opened, [GROUP_A])])
    assert three.pings(one.address)
    after.refresh([vif_of(one, group_a, [GROUP_A])])
    assert not three.pings(one.address)
    assert one.pings(two.address)

    lease = one.run("busybox", "udhcpc", "-i", "eth0", "-q", "-n", "-t", "10", "-T", "1",
                    "-s", "/bin/true")  # fmt: skip
    assert f"lease of {one.address} obtained" in lease.stderr + lease.stdout, lease

    for vif in vifs[:3]:  # what it adopted goes with the last port, as if made by it
        after.unplug(vif.instance_uuid)
    assert dnsmasq_pids(state_dir) == []
    assert "vfbr-" not in run_ip("-o", "link", "show", netns=host)
    assert "virtfleet" not in nft_tables(host)
    assert f"{host}-dhcp-" not in sh("ip", "netns", "list").stdout


def test_adoption_restarts_a_dnsmasq_that_serves_something_else(
    host: str, state_dir: pathlib.Path
) -> None:
    before = LinuxBridgeNetwork({}, netns=host, owner="host-1")
    before.dhcp = DhcpServers(state_dir, host, f"{host}-dhcp-")
    guest = make_guest(host, 1)
    vif = vif_of(guest, [rule("egress")], [GROUP_A])
    before.plug(vif.instance_uuid, [vif])
    [old] = dnsmasq_pids(state_dir / NET)
    before.forget()  # its process ended

    after = LinuxBridgeNetwork({}, netns=host, owner="host-1")
    after.dhcp = DhcpServers(state_dir, host, f"{host}-dhcp-")
    changed = vif_of(guest, [rule("egress")], [GROUP_A])
    changed.subnets[0].dhcp_address = "192.0.2.3"  # the host's DHCP port changed meanwhile
    after.adopt([changed], {vif.instance_uuid})
    [new] = dnsmasq_pids(state_dir / NET)
    assert new != old
    namespace = f"{host}-dhcp-{NET[:10]}"
    shown = sh("ip", "-n", namespace, "-o", "addr", "show", "dev", "dhcp").stdout
    assert "192.0.2.3/24" in shown and "192.0.2.2/" not in shown
    after.unplug(vif.instance_uuid)
    assert dnsmasq_pids(state_dir) == []


def eui64(prefix: str, mac: str) -> str:
    octets = [int(part, 16) for part in mac.split(":")]
    octets[0] ^= 0x02
    interface_id = int.from_bytes(bytes([*octets[:3], 0xFF, 0xFE, *octets[3:]]), "big")
    network = int(ipaddress.ip_network(prefix).network_address)
    return str(ipaddress.ip_address(network | interface_id))


@pytest.mark.parametrize("mode", ["slaac", "dhcpv6-stateless"])
def test_ipv6_guests_make_their_port_address_from_the_router_advertisement(
    host: str, state_dir: pathlib.Path, mode: str
) -> None:
    """A slaac / dhcpv6-stateless subnet (ipv6_ra_mode set): the host's dnsmasq sends
    router advertisements for the prefix, the guest's kernel makes its address by
    SLAAC, and that is the port's address (EUI-64 of its MAC), which the anti-spoofing
    lets through: it reaches the DHCP port's address."""
    prefix = "2001:db8:7::/64"
    network = LinuxBridgeNetwork({}, netns=host)
    network.dhcp = DhcpServers(state_dir, host, f"{host}-dhcp-")
    guest = make_guest(host, 1)
    address, dhcp_address = eui64(prefix, guest.mac), "2001:db8:7::2"
    subnet = GuestSubnet(
        subnet_id=SUBNET, cidr=prefix, ip_version=6, gateway_ip="2001:db8:7::1",
        dhcp_address=dhcp_address, ipv6_address_mode=mode, ipv6_ra_mode=mode,
    )  # fmt: skip
    vif = GuestVif(
        port_id=guest.port_id, network_id=NET, mac_address=guest.mac, mtu=1450,
        network_type="vxlan", segmentation_id=77, fixed_ips=[address],
        security_group_ids=[GROUP_A], subnets=[subnet], instance_uuid="server-1",
        rules=[GuestRule(direction="egress", ethertype="IPv6"),
               GuestRule(direction="ingress", ethertype="IPv6")],
    )  # fmt: skip
    [nic] = network.plug("server-1", [vif])
    attach(host, guest, nic.bridge)
    args = (state_dir / NET / "pid").exists() and dnsmasq_pids(state_dir / NET)
    assert args, "no dnsmasq"
    range_mode = "ra-only" if mode == "slaac" else "ra-stateless"
    command = pathlib.Path(f"/proc/{args[0]}/cmdline").read_bytes().decode().split("\0")
    assert f"--dhcp-range=set:subnet-{SUBNET[:8]},2001:db8:7::,{range_mode},64,86400s" in command
    assert "--enable-ra" in command and "--ra-param=dhcp,mtu:1450,60,0" in command
    assert (state_dir / NET / "hosts").read_text() == ""  # nothing for DHCPv6 to hand out

    sh("ip", "-n", guest.netns, "link", "set", "eth0", "down")  # a fresh router solicitation
    sh("ip", "-n", guest.netns, "link", "set", "eth0", "up")
    shown = ""
    for _ in range(40):  # bounded: 20 s
        shown = sh("ip", "-n", guest.netns, "-6", "addr", "show", "dev", "eth0").stdout
        if f"{address}/64" in shown and "tentative" not in shown:
            break
        time.sleep(0.5)
    assert f"inet6 {address}/64 scope global" in shown, shown
    routes = sh("ip", "-n", guest.netns, "-6", "route", "show").stdout
    assert "default" not in routes, routes  # router lifetime 0: the namespace is no router
    assert guest.pings(dhcp_address)
    network.unplug("server-1")
    assert dnsmasq_pids(state_dir) == []


def test_ipv6_stateful_subnet_is_served_by_dhcpv6_with_the_port_address(
    host: str, state_dir: pathlib.Path
) -> None:
    """dhcpv6-stateful: a static DHCPv6 range with the port's address as a host entry
    (MAC -> [address]) and advertisements with the managed flag; no DHCPv6 client on
    this machine, so what dnsmasq is told is what is checked."""
    network = LinuxBridgeNetwork({}, netns=host)
    network.dhcp = DhcpServers(state_dir, host, f"{host}-dhcp-")
    guest = make_guest(host, 1)
    subnet = GuestSubnet(
        subnet_id=SUBNET, cidr="2001:db8:8::/64", ip_version=6, gateway_ip="2001:db8:8::1",
        dns_nameservers=["2001:db8:8::53"], dhcp_address="2001:db8:8::2",
        ipv6_address_mode="dhcpv6-stateful", ipv6_ra_mode="dhcpv6-stateful",
    )  # fmt: skip
    vif = GuestVif(
        port_id=guest.port_id, network_id=NET, mac_address=guest.mac, network_type="vxlan",
        segmentation_id=77, fixed_ips=["2001:db8:8::20"], subnets=[subnet],
        port_security=False, instance_uuid="server-1",
    )  # fmt: skip
    network.plug("server-1", [vif])
    [pid] = dnsmasq_pids(state_dir / NET)
    command = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    assert f"--dhcp-range=set:subnet-{SUBNET[:8]},2001:db8:8::,static,64,86400s" in command
    assert "--enable-ra" in command
    hosts = (state_dir / NET / "hosts").read_text()
    assert hosts == f"{guest.mac},host-2001-db8-8--20,[2001:db8:8::20]\n"
    assert "option6:dns-server,[2001:db8:8::53]" in (state_dir / NET / "opts").read_text()
    inside = sh("ip", "-n", f"{host}-dhcp-{NET[:10]}", "-6", "addr", "show", "dev", "dhcp")
    assert "2001:db8:8::2/64" in inside.stdout
    network.unplug("server-1")
    assert dnsmasq_pids(state_dir) == []


def test_a_second_agent_on_the_namespace_and_state_directory_is_refused(
    host: str, state_dir: pathlib.Path
) -> None:
    """Two agents given one network namespace and one state directory (two clouds on
    a machine): the second neither removes the first one's rules nor stops its
    dnsmasq; its own filtered port is refused, naming the first; once the first has
    nothing left there, the second may plug."""

    def agent() -> LinuxBridgeNetwork:
        made = LinuxBridgeNetwork({}, netns=host)
        made.dhcp = DhcpServers(state_dir, host, f"{host}-dhcp-")
        return made

    first, second = agent(), agent()
    one, two, three = (make_guest(host, i) for i in (1, 2, 3))
    members = [f"{one.address}/32", f"{two.address}/32"]
    group_a = [rule("egress"), rule("ingress", remote_any=False, remote_prefixes=members)]
    for guest in (one, three):
        [nic] = first.plug(f"server-{guest.port_id}", [vif_of(guest, group_a, [GROUP_A])])
        attach(host, guest, nic.bridge)
        give_address(guest)
    [served] = dnsmasq_pids(state_dir / NET)
    assert not three.pings(one.address)  # three's address is no member: filtered

    with pytest.raises(errors.HypervisorError) as refused:
        second.adopt([], set())  # a start finding the first one's dnsmasq
    assert f"state directory {state_dir} are held by another virtfleet agent" in str(refused.value)
    assert f"pid {os.getpid()}" in str(refused.value)
    second.apply()  # nothing of its own to filter: the first one's tables stay
    with pytest.raises(errors.HypervisorError, match="security-group rules of network"):
        second.plug(f"server-{two.port_id}", [vif_of(two, group_a, [GROUP_A])])
    assert dnsmasq_pids(state_dir / NET) == [served]
    assert "table bridge virtfleet" in nft_tables(host)
    assert not three.pings(one.address)

    for guest in (one, three):
        first.unplug(f"server-{guest.port_id}")
    [nic] = second.plug(f"server-{two.port_id}", [vif_of(two, group_a, [GROUP_A])])
    attach(host, two, nic.bridge)
    assert len(dnsmasq_pids(state_dir / NET)) == 1
    assert "table bridge virtfleet" in nft_tables(host)
    second.unplug(f"server-{two.port_id}")
    assert dnsmasq_pids(state_dir) == []
    assert "virtfleet" not in nft_tables(host)
