"""Boots with networks on simulated hosts: ports made and bound to the chosen host,
plugged (recorded) before the guest starts, ``<interface type='bridge'>`` in its
domain XML, addresses in ``server show``; ports released on delete and on every
failed boot, a port the user passed in kept (unbound)."""

from __future__ import annotations

import pathlib
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from support.clouds import Recipe, sim_cloud
from support.emulation_cloud import EmulationCloud, api_error, wait_until
from virtfleet.network.records import Caller

ADMIN = Caller("admin", is_admin=True)


def network(cloud: EmulationCloud, name: str, cidr: str, **attrs: Any) -> str:
    service = cloud.control.networks
    net = service.create_network(ADMIN, {"name": name, **attrs})
    service.create_subnet(ADMIN, {"network_id": net.id, "cidr": cidr})
    return net.id


def boot(cloud: EmulationCloud, image: str, flavor: str, networks: Any, name: str = "vm") -> str:
    body = {"server": {"name": name, "flavorRef": flavor, "imageRef": image, "networks": networks}}
    server_id: str = cloud.api.compute("POST", "/servers", body)["server"]["id"]
    return server_id


def ports_of(cloud: EmulationCloud, server_id: str) -> list[Any]:
    return cloud.control.networks.list_ports(ADMIN, device_id=server_id)


def all_ports(cloud: EmulationCloud) -> list[Any]:
    return cloud.control.networks.list_ports(ADMIN)


def delete_networks(cloud: EmulationCloud) -> None:
    for net in cloud.control.networks.list_networks(ADMIN):
        for port in cloud.control.networks.list_ports(ADMIN):
            if port.network_id == net.id and not port.device_id:
                cloud.control.networks.delete_port(ADMIN, port.id)
        cloud.control.networks.delete_network(ADMIN, net.id)


def test_boot_on_a_network_plugs_the_port_and_lists_the_address(
    cloud: EmulationCloud, flavor_id: str
) -> None:
    net = network(cloud, "blue", "192.0.2.0/24")
    try:
        image = cloud.image("x86", hw_architecture="x86_64")
        server_id = boot(cloud, image, flavor_id, [{"uuid": net, "fixed_ip": "192.0.2.77"}])
        server = cloud.api.wait_server(server_id)
        assert server["status"] == "ACTIVE", server
        assert server["addresses"]["blue"][0]["addr"] == "192.0.2.77"
        assert server["addresses"]["blue"][0]["version"] == 4
        (port,) = ports_of(cloud, server_id)
        host = server["OS-EXT-SRV-ATTR:host"]
        assert (port.binding_host_id, port.status) == (host, "ACTIVE")
        assert server["addresses"]["blue"][0]["OS-EXT-IPS-MAC:mac_addr"] == port.mac_address

        bridge = "vfbr-" + net[:10]
        tap = "tap" + port.id[:11]
        agent = cloud.agent(host)
        assert agent.network.bridges == {bridge: {tap}}  # type: ignore[attr-defined]
        assert agent.network.rules == {tap: list(port.security_group_ids)}  # type: ignore[attr-defined]
        xml = cloud.domain_xml(server)
        interface = re.search(r"<interface type=.bridge.>.*?</interface>", xml, re.S)
        assert interface is not None, xml
        assert f"<mac address='{port.mac_address}'/>" in interface[0].replace('"', "'")
        assert f"bridge='{bridge}'" in interface[0].replace('"', "'")
        assert "<model type='virtio'/>" in interface[0].replace('"', "'")
        assert "<mtu size='1450'/>" in interface[0].replace('"', "'")

        cloud.api.compute("DELETE", f"/servers/{server_id}")
        wait_until(lambda: not all_ports(cloud))
        assert agent.network.bridges == {}  # type: ignore[attr-defined]
    finally:
        cloud.delete_all_servers()
        delete_networks(cloud)


def test_an_aarch64_guest_gets_a_virtio_nic_and_hw_vif_model_is_honoured(
    cloud: EmulationCloud, flavor_id: str
) -> None:
    net = network(cloud, "green", "198.51.100.0/24")
    try:
        arm = cloud.image("arm", hw_architecture="aarch64")
        server = cloud.api.wait_server(boot(cloud, arm, flavor_id, [{"uuid": net}], "arm-vm"))
        assert server["status"] == "ACTIVE", server
        assert "<model type='virtio'/>" in cloud.domain_xml(server).replace('"', "'")
        e1000 = cloud.image("e1000", hw_architecture="x86_64", hw_vif_model="e1000")
        other = cloud.api.wait_server(boot(cloud, e1000, flavor_id, [{"uuid": net}], "e1k"))
        assert "<model type='e1000'/>" in cloud.domain_xml(other).replace('"', "'")
    finally:
        cloud.delete_all_servers()
        delete_networks(cloud)


def test_auto_takes_the_only_network_and_none_takes_none(
    cloud: EmulationCloud, flavor_id: str
) -> None:
    network(cloud, "only", "203.0.113.0/24")
    try:
        image = cloud.image("auto", hw_architecture="x86_64")
        auto = cloud.api.wait_server(boot(cloud, image, flavor_id, "auto", "auto"))
        assert list(auto["addresses"]) == ["only"]
        bare = cloud.api.wait_server(boot(cloud, image, flavor_id, "none", "bare"))
        assert bare["addresses"] == {} and bare["status"] == "ACTIVE"
        network(cloud, "second", "192.0.2.0/24")
        many = api_error(lambda: boot(cloud, image, flavor_id, "auto", "many"))
        assert many.status == 409 and "Multiple possible networks" in many.body
    finally:
        cloud.delete_all_servers()
        delete_networks(cloud)


def test_refused_boots_leave_no_server_and_no_port(cloud: EmulationCloud, flavor_id: str) -> None:
    net = network(cloud, "strict", "192.0.2.0/24")
    try:
        image = cloud.image("strict", hw_architecture="x86_64")
        first = cloud.api.wait_server(
            boot(cloud, image, flavor_id, [{"uuid": net, "fixed_ip": "192.0.2.9"}])
        )
        assert first["status"] == "ACTIVE"
        taken = api_error(
            lambda: boot(cloud, image, flavor_id, [{"uuid": net, "fixed_ip": "192.0.2.9"}])
        )
        assert taken.status == 409 and "192.0.2.9 is in use" in taken.body
        outside = api_error(
            lambda: boot(cloud, image, flavor_id, [{"uuid": net, "fixed_ip": "198.51.100.9"}])
        )
        assert outside.status == 400 and "not a valid IP" in outside.body
        unknown = api_error(lambda: boot(cloud, image, flavor_id, [{"uuid": "nope"}]))
        assert unknown.status == 400 and "Network nope could not be found" in unknown.body
        assert len(cloud.api.compute("GET", "/servers")["servers"]) == 1
        owners = sorted(p.device_owner for p in all_ports(cloud))
        assert owners == ["compute:nova", "network:dhcp"]  # the server's, its host's DHCP
    finally:
        cloud.delete_all_servers()
        delete_networks(cloud)


def test_failed_builds_release_their_ports(cloud: EmulationCloud, flavor_id: str) -> None:
    net = network(cloud, "fail", "192.0.2.0/24")
    try:
        # No host: the scheduler finds none for a 1 TiB guest.
        huge = cloud.api.create_flavor("net.huge", 1, 1 << 20, 1)["id"]
        image = cloud.image("fail", hw_architecture="x86_64")
        server = cloud.api.wait_server(boot(cloud, image, huge, [{"uuid": net}], "huge"))
        assert server["status"] == "ERROR"
        wait_until(lambda: not all_ports(cloud))
        # Spawn fails on every host (a NIC model x86 guests do not have): plugged, then
        # unplugged on the agent, released by the conductor.
        bad = cloud.image("bad-nic", hw_architecture="x86_64", hw_vif_model="spapr-vlan")
        failed = cloud.api.wait_server(boot(cloud, bad, flavor_id, [{"uuid": net}], "bad"))
        assert failed["status"] == "ERROR"
        wait_until(lambda: not all_ports(cloud))
        for host in ("x86-emu", "x86-plain", "arm"):
            assert cloud.agent(host).network.bridges == {}  # type: ignore[attr-defined]
    finally:
        cloud.delete_all_servers()
        delete_networks(cloud)


def test_a_users_port_is_kept_and_unbound_after_delete(
    cloud: EmulationCloud, flavor_id: str
) -> None:
    net = network(cloud, "mine", "192.0.2.0/24")
    try:
        port = cloud.control.networks.create_port(ADMIN, {"network_id": net, "name": "keep"})
        image = cloud.image("mine", hw_architecture="x86_64")
        server = cloud.api.wait_server(boot(cloud, image, flavor_id, [{"port": port.id}]))
        assert server["status"] == "ACTIVE"
        assert cloud.control.networks.get_port(ADMIN, port.id).device_id == server["id"]
        again = api_error(lambda: boot(cloud, image, flavor_id, [{"port": port.id}], "again"))
        assert again.status == 409 and "still in use" in again.body
        cloud.api.compute("DELETE", f"/servers/{server['id']}")
        wait_until(lambda: not cloud.control.networks.get_port(ADMIN, port.id).device_id)
        kept = cloud.control.networks.get_port(ADMIN, port.id)
        assert (kept.binding_host_id, kept.status) == ("", "DOWN")
        assert kept.fixed_ips == port.fixed_ips
    finally:
        cloud.delete_all_servers()
        delete_networks(cloud)


def test_concurrent_boots_get_distinct_addresses_and_leave_nothing(
    cloud: EmulationCloud, flavor_id: str
) -> None:
    tiny = cloud.api.create_flavor("net.tiny", 1, 64, 1)["id"]
    net = network(cloud, "crowd", "198.51.100.0/24")
    try:
        image = cloud.image("crowd", hw_architecture="x86_64")
        with ThreadPoolExecutor(16) as pool:
            ids = list(
                pool.map(lambda i: boot(cloud, image, tiny, [{"uuid": net}], f"c{i}"), range(40))
            )
        servers = [cloud.api.wait_server(i) for i in ids]
        assert all(s["status"] == "ACTIVE" for s in servers), [s["status"] for s in servers]
        addresses = [s["addresses"]["crowd"][0]["addr"] for s in servers]
        assert len(set(addresses)) == 40
        # The listing reads every server's addresses at once: the same as each show.
        detail = cloud.api.compute("GET", "/servers/detail")["servers"]
        listed = {s["id"]: s["addresses"] for s in detail}
        assert [listed[s["id"]] for s in servers] == [s["addresses"] for s in servers]
        cloud.delete_all_servers()
        wait_until(lambda: not all_ports(cloud))
    finally:
        cloud.delete_all_servers()
        delete_networks(cloud)


def test_live_migration_plugs_the_destination_and_moves_the_binding(
    cloud: EmulationCloud, flavor_id: str
) -> None:
    net = network(cloud, "moving", "192.0.2.0/24")
    try:
        image = cloud.image("moving", hw_architecture="x86_64")
        server = cloud.api.wait_server(boot(cloud, image, flavor_id, [{"uuid": net}], "mover"))
        source = server["OS-EXT-SRV-ATTR:host"]
        dest = "x86-plain" if source == "x86-emu" else "x86-emu"
        address = server["addresses"]["moving"][0]["addr"]
        (port,) = ports_of(cloud, server["id"])
        tap = "tap" + port.id[:11]

        # A destination that cannot plug refuses: the guest and its port stay put.
        dest_agent = cloud.agent(dest)
        recorded = dest_agent.network

        class Refusing:
            def plug(self, *_: Any) -> Any:
                raise RuntimeError("no bridge for you")

            def unplug(self, uuid: str) -> None:
                recorded.unplug(uuid)

        dest_agent.network = Refusing()  # type: ignore[assignment]
        try:
            cloud.api.compute(
                "POST",
                f"/servers/{server['id']}/action",
                {"os-migrateLive": {"host": dest, "block_migration": "auto"}},
            )
            wait_until(lambda: cloud.api.server(server["id"])["OS-EXT-STS:task_state"] is None)
        finally:
            dest_agent.network = recorded
        stayed = cloud.api.server(server["id"])
        assert stayed["OS-EXT-SRV-ATTR:host"] == source
        assert ports_of(cloud, server["id"])[0].binding_host_id == source
        assert tap in cloud.agent(source).network.bridges["vfbr-" + net[:10]]  # type: ignore[attr-defined]
        assert cloud.agent(dest).network.bridges == {}  # type: ignore[attr-defined]

        cloud.api.compute(
            "POST",
            f"/servers/{server['id']}/action",
            {"os-migrateLive": {"host": dest, "block_migration": "auto"}},
        )
        wait_until(lambda: cloud.api.server(server["id"])["OS-EXT-SRV-ATTR:host"] == dest)
        wait_until(lambda: cloud.api.server(server["id"])["OS-EXT-STS:task_state"] is None)
        moved = cloud.api.server(server["id"])
        assert moved["addresses"]["moving"][0]["addr"] == address
        (bound,) = ports_of(cloud, server["id"])
        assert (bound.binding_host_id, bound.status) == (dest, "ACTIVE")
        assert cloud.agent(dest).network.bridges == {"vfbr-" + net[:10]: {tap}}  # type: ignore[attr-defined]
        wait_until(lambda: cloud.agent(source).network.bridges == {})  # type: ignore[attr-defined]
    finally:
        cloud.delete_all_servers()
        delete_networks(cloud)


WIDE_FLEET = """
defaults:
  libvirt_version: "9.0.0"
  qemu_version: "8.2.0"
  disk_gb: 1000
  arch: x86_64
  cpus: 64
  memory_mb: 65536
hosts:
  - name: wide-a
  - name: wide-b
  - name: wide-c
  - name: wide-d
"""


@pytest.mark.slow
def test_200_concurrent_boots_on_one_subnet(tmp_path: pathlib.Path) -> None:
    """The issue's scale check: 200 boots at once on one subnet (four simulated hosts)
    get 200 distinct addresses; after deleting them all the subnet holds no address
    and no port is left."""
    with sim_cloud(
        tmp_path, Recipe(fleet=WIDE_FLEET, source="wide-fleet"), EmulationCloud
    ) as cloud:
        tiny = cloud.api.create_flavor("net.200", 1, 32, 1)["id"]
        net = network(cloud, "two-hundred", "198.51.100.0/24")
        image = cloud.image("two-hundred", hw_architecture="x86_64")
        with ThreadPoolExecutor(32) as pool:
            ids = list(
                pool.map(lambda i: boot(cloud, image, tiny, [{"uuid": net}], f"s{i}"), range(200))
            )
        servers = [cloud.api.wait_server(i, timeout=300) for i in ids]
        faults = {s.get("fault", {}).get("message") for s in servers if s["status"] != "ACTIVE"}
        assert not faults, faults
        assert len({s["addresses"]["two-hundred"][0]["addr"] for s in servers}) == 200
        cloud.delete_all_servers()
        wait_until(lambda: not all_ports(cloud), timeout=120)
        subnet_id = cloud.control.networks.get_network(ADMIN, net).subnet_ids[0]
        cloud.control.networks.delete_subnet(ADMIN, subnet_id)  # 409 if an address were held
