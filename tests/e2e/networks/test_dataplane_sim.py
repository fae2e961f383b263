"""What the control plane sends hosts for their data plane, on simulated hosts (which
record it): each host's DHCP port and its address in every port's subnets, the VXLAN
peers (the other hosts' tunnel addresses), security-group rules with the default
group's members resolved, all refreshed live when a rule changes or a server comes or
goes, and the DHCP ports gone with the last server. A restarted agent adopts the ports
of its guests."""

from __future__ import annotations

from typing import Any

from support.emulation_cloud import EmulationCloud, wait_until
from virtfleet.agent.network.plugging import RecordingHostNetwork
from virtfleet.db import hosts
from virtfleet.network.records import Caller
from virtfleet.objects.vif import GuestVif

ADMIN = Caller("admin", is_admin=True)
TUNNELS = {"x86-emu": "198.51.100.1", "x86-plain": "198.51.100.2", "arm": "198.51.100.3"}


def set_tunnels(cloud: EmulationCloud) -> None:
    """The hosts' tunnel addresses, as real agents report them."""
    for host, address in TUNNELS.items():
        hosts.set_tunnel_address(cloud.control.db, host, address)


def recorded(cloud: EmulationCloud, host: str, port_id: str) -> GuestVif:
    plugged = cloud.agent(host).network.ports  # type: ignore[attr-defined]
    vif: GuestVif = plugged[port_id].vif
    return vif


def boot(cloud: EmulationCloud, image: str, flavor: str, net: str, name: str) -> dict[str, Any]:
    body = {"server": {"name": name, "flavorRef": flavor, "imageRef": image,
                       "networks": [{"uuid": net}]}}  # fmt: skip
    server_id = cloud.api.compute("POST", "/servers", body)["server"]["id"]
    server: dict[str, Any] = cloud.api.wait_server(server_id)
    assert server["status"] == "ACTIVE", server
    return server


def test_hosts_get_dhcp_peers_and_live_rules(cloud: EmulationCloud, flavor_id: str) -> None:
    set_tunnels(cloud)
    service = cloud.control.networks
    net = service.create_network(ADMIN, {"name": "plane"}).id
    subnet = service.create_subnet(
        ADMIN, {"network_id": net, "cidr": "203.0.113.0/24", "dns_nameservers": ["203.0.113.53"]}
    )
    try:
        arm = boot(cloud, cloud.image("a64", hw_architecture="aarch64"), flavor_id, net, "a")
        x86 = boot(cloud, cloud.image("x64", hw_architecture="x86_64"), flavor_id, net, "b")
        placed = {s["id"]: s["OS-EXT-SRV-ATTR:host"] for s in (arm, x86)}
        assert len(set(placed.values())) == 2, placed
        ports = {s: service.list_ports(ADMIN, device_id=s)[0] for s in placed}
        dhcp = [p for p in service.list_ports(ADMIN) if p.device_owner == "network:dhcp"]
        assert sorted(p.binding_host_id for p in dhcp) == sorted(placed.values())

        def vif_of(server: str) -> GuestVif:
            return recorded(cloud, placed[server], ports[server].id)

        for server, host in placed.items():
            other = next(h for h in placed.values() if h != host)
            wait_until(lambda s=server, o=other: vif_of(s).vxlan_peers == [TUNNELS[o]])
            (served,) = vif_of(server).subnets
            own_dhcp = next(p for p in dhcp if p.binding_host_id == host)
            assert served.dhcp_address == own_dhcp.fixed_ips[0].ip_address
            assert (served.cidr, served.dns_nameservers) == ("203.0.113.0/24", ["203.0.113.53"])
            assert served.subnet_id == subnet.id and vif_of(server).project_id

        addresses = sorted(f"{p.fixed_ips[0].ip_address}/32" for p in ports.values())
        first = next(iter(placed))
        members = [r.remote_prefixes for r in vif_of(first).rules if r.direction == "ingress"]
        assert sorted(members[0]) == addresses  # the default group's ingress: its members

        group = ports[first].security_group_ids[0]
        ssh = {"direction": "ingress", "protocol": "tcp", "port_range_min": 22,
               "port_range_max": 22, "remote_ip_prefix": "198.51.100.0/24"}  # fmt: skip
        rule = service.create_rule(ADMIN, {**ssh, "security_group_id": group})

        def has_ssh_rule() -> bool:
            return any(r.port_range_min == 22 for r in vif_of(first).rules)

        wait_until(has_ssh_rule)
        service.delete_rule(ADMIN, rule.id)
        wait_until(lambda: not has_ssh_rule())

        # the host's agent restarts with its memory lost: it adopts its guest's port
        agent = cloud.agent(placed[first])
        agent.stop()
        fresh = RecordingHostNetwork()
        agent.network = fresh
        agent.start()
        adopted = fresh.ports[ports[first].id]
        assert (adopted.instance_uuid, adopted.vif.instance_uuid) == (first, first)
        assert adopted.vif.rules == vif_of(first).rules
        rule = service.create_rule(ADMIN, {**ssh, "security_group_id": group})
        wait_until(has_ssh_rule)  # and keeps it current
    finally:
        cloud.delete_all_servers()
    wait_until(lambda: not service.list_ports(ADMIN))  # the DHCP ports went with them
    service.delete_network(ADMIN, net)
