"""Ports through the Networking API: MACs, fixed addresses (allocated or asked
for), security groups, port security, binding, and the errors of each."""

from __future__ import annotations

from typing import Any

from support.api_apps import Apps, Client
from support.network_api import make_network, make_subnet, neutron_error


def network_with_subnets(client: Client) -> tuple[str, str, str]:
    net = make_network(client)
    v4 = make_subnet(client, net["id"], "203.0.113.0/28").json["subnet"]["id"]
    v6 = make_subnet(client, net["id"], "2001:db8:2::/64").json["subnet"]["id"]
    return net["id"], v4, v6


def make_port(client: Client, network_id: str, **attrs: Any) -> dict[str, Any]:
    reply = client.post("/v2.0/ports", {"port": {"network_id": network_id, **attrs}})
    assert reply.status == 201, reply.body
    port: dict[str, Any] = reply.json["port"]
    return port


def test_a_port_gets_a_mac_one_v4_and_one_v6_address_and_the_default_group(apps: Apps) -> None:
    client = apps.network()
    net, v4, v6 = network_with_subnets(client)
    port = make_port(client, net)
    assert port["mac_address"].startswith("fa:16:3e:")
    assert port["fixed_ips"] == sorted(
        [
            {"subnet_id": v4, "ip_address": "203.0.113.2"},
            {"subnet_id": v6, "ip_address": "2001:db8:2::2"},
        ],
        key=lambda f: (f["subnet_id"], f["ip_address"]),
    )
    groups = client.get("/v2.0/security-groups?name=default").json["security_groups"]
    assert port["security_groups"] == [groups[0]["id"]]
    assert port["status"] == "DOWN" and port["binding:vif_type"] == "unbound"
    second = make_port(client, net)
    assert {"subnet_id": v4, "ip_address": "203.0.113.3"} in second["fixed_ips"]


def test_asked_for_address_and_mac(apps: Apps) -> None:
    client = apps.network()
    net, v4, _ = network_with_subnets(client)
    port = make_port(
        client,
        net,
        mac_address="FA:16:3E:00:00:01",
        fixed_ips=[{"ip_address": "203.0.113.9"}],
    )
    assert port["mac_address"] == "fa:16:3e:00:00:01"
    assert port["fixed_ips"] == [{"subnet_id": v4, "ip_address": "203.0.113.9"}]
    by_subnet = make_port(client, net, fixed_ips=[{"subnet_id": v4}])
    assert by_subnet["fixed_ips"] == [{"subnet_id": v4, "ip_address": "203.0.113.2"}]


def test_port_errors(apps: Apps) -> None:
    client = apps.network()
    net, v4, _ = network_with_subnets(client)
    make_port(
        client, net, mac_address="fa:16:3e:00:00:01", fixed_ips=[{"ip_address": "203.0.113.9"}]
    )

    def create(**attrs: Any) -> Any:
        return client.post("/v2.0/ports", {"port": {"network_id": net, **attrs}})

    mac = neutron_error(create(mac_address="fa:16:3e:00:00:01"), 409, "MacAddressInUse")
    assert "fa:16:3e:00:00:01 is in use" in mac
    used = neutron_error(create(fixed_ips=[{"ip_address": "203.0.113.9"}]), 409, "IpAddressInUse")
    assert "203.0.113.9 is in use" in used
    outside = create(fixed_ips=[{"subnet_id": v4, "ip_address": "198.51.100.7"}])
    assert "not a valid IP for the specified subnet" in neutron_error(
        outside, 400, "InvalidIpForSubnet"
    )
    nowhere = create(fixed_ips=[{"ip_address": "198.51.100.7"}])
    assert "not a valid IP for any subnet" in neutron_error(nowhere, 400, "InvalidIpForSubnet")
    broadcast = create(fixed_ips=[{"subnet_id": v4, "ip_address": "203.0.113.15"}])
    neutron_error(broadcast, 400, "InvalidIpForSubnet")
    gateway = create(fixed_ips=[{"ip_address": "203.0.113.1"}])
    assert "gateway" in neutron_error(gateway, 409, "IpAddressInUse")
    neutron_error(create(mac_address="not-a-mac"), 400, "InvalidInput")
    neutron_error(create(mac_address="01:00:5e:00:00:01"), 400, "InvalidInput")
    assert neutron_error(
        create(port_security_enabled=False, security_groups=["x"]), 400, "InvalidInput"
    ).startswith("Port security must be enabled")
    missing = client.post("/v2.0/ports", {"port": {"network_id": "nope"}})
    neutron_error(missing, 404, "NetworkNotFound")
    # Nothing half-made stayed behind from the refused requests.
    assert len(client.get(f"/v2.0/ports?network_id={net}").json["ports"]) == 1


def test_exhausted_subnet_is_409_and_delete_frees_the_address(apps: Apps) -> None:
    client = apps.network()
    net = make_network(client)
    make_subnet(
        client,
        net["id"],
        "192.0.2.0/24",
        allocation_pools=[{"start": "192.0.2.10", "end": "192.0.2.11"}],
    )
    first = make_port(client, net["id"])
    make_port(client, net["id"])
    full = client.post("/v2.0/ports", {"port": {"network_id": net["id"]}})
    assert "No more IP addresses" in neutron_error(full, 409, "IpAddressGenerationFailure")
    assert client.delete(f"/v2.0/ports/{first['id']}").status == 204
    assert make_port(client, net["id"])["fixed_ips"][0]["ip_address"] == "192.0.2.10"


def test_port_security_off_and_binding_update(apps: Apps) -> None:
    client = apps.network()
    net, _, _ = network_with_subnets(client)
    open_port = make_port(client, net, port_security_enabled=False)
    assert open_port["security_groups"] == [] and open_port["port_security_enabled"] is False
    port = make_port(client, net)
    update = {
        "port": {"binding:host_id": "kvm-a", "device_id": "vm-1", "device_owner": "compute:nova"}
    }
    bound = client.put(f"/v2.0/ports/{port['id']}", update).json["port"]
    assert (bound["binding:host_id"], bound["binding:vif_type"]) == ("kvm-a", "bridge")
    listed = client.get("/v2.0/ports?device_id=vm-1").json["ports"]
    assert [p["id"] for p in listed] == [port["id"]]


def test_a_network_with_a_servers_port_is_in_use(apps: Apps) -> None:
    client = apps.network()
    net, v4, _ = network_with_subnets(client)
    port = make_port(client, net, device_owner="compute:nova", device_id="vm-1")
    busy = client.delete(f"/v2.0/networks/{net}")
    assert "1 port(s)" in neutron_error(busy, 409, "InUse")
    subnet_busy = client.delete(f"/v2.0/subnets/{v4}")
    neutron_error(subnet_busy, 409, "InUse")
    client.delete(f"/v2.0/ports/{port['id']}")
    assert client.delete(f"/v2.0/networks/{net}").status == 204
