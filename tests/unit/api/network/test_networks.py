"""Networks and subnets through the Networking API: provider attributes, project
networks, subnet shapes, and the 400/403/409 errors in Neutron's body format."""

from __future__ import annotations

from typing import Any

import pytest

from support.api_apps import Apps
from support.network_api import make_network, make_subnet, neutron_error


def test_version_documents_and_extensions(apps: Apps) -> None:
    client = apps.network()
    versions = client.get("/").json["versions"]
    assert [v["id"] for v in versions] == ["v2.0"]
    assert versions[0]["links"][0]["href"].endswith("/networking/v2.0/")
    aliases = {e["alias"] for e in client.get("/v2.0/extensions").json["extensions"]}
    assert {"provider", "binding", "port-security", "security-group"} <= aliases
    missing = client.get("/v2.0/extensions/router")
    neutron_error(missing, 404, "ExtensionNotFound")


def test_project_network_is_vxlan_with_the_lowest_free_vni(apps: Apps) -> None:
    client = apps.network()
    first = make_network(client)
    second = make_network(client)
    assert first["provider:network_type"] == "vxlan"
    assert (first["provider:segmentation_id"], second["provider:segmentation_id"]) == (1, 2)
    assert first["provider:physical_network"] is None and first["mtu"] == 1450
    client.delete(f"/v2.0/networks/{first['id']}")
    assert make_network(client)["provider:segmentation_id"] == 1


def test_members_do_not_see_provider_attributes_nor_set_them(apps: Apps) -> None:
    member = apps.network(project="p1")
    net = make_network(member)
    assert "provider:network_type" not in net and net["project_id"] == "p1"
    refused = member.post(
        "/v2.0/networks",
        {"network": {"provider:network_type": "flat", "provider:physical_network": "physnet1"}},
    )
    assert "Only administrators" in neutron_error(refused, 403, "PolicyNotAuthorized")
    other = apps.network(project="p2")
    assert other.get(f"/v2.0/networks/{net['id']}").status == 404
    assert other.get("/v2.0/networks").json["networks"] == []


def test_flat_and_vlan_provider_networks(apps: Apps) -> None:
    client = apps.network()
    flat = make_network(
        client, **{"provider:network_type": "flat", "provider:physical_network": "physnet1"}
    )
    assert (flat["provider:network_type"], flat["provider:segmentation_id"]) == ("flat", None)
    vlan = make_network(
        client,
        **{
            "provider:network_type": "vlan",
            "provider:physical_network": "physnet2",
            "provider:segmentation_id": 100,
        },
    )
    assert (vlan["provider:segmentation_id"], vlan["mtu"]) == (100, 1500)
    again = client.post(
        "/v2.0/networks",
        {
            "network": {
                "provider:network_type": "vlan",
                "provider:physical_network": "physnet2",
                "provider:segmentation_id": 100,
            }
        },
    )
    assert "vlan segment 100 on physnet2" in neutron_error(again, 409, "VlanIdInUse")
    second_flat = client.post(
        "/v2.0/networks",
        {"network": {"provider:network_type": "flat", "provider:physical_network": "physnet1"}},
    )
    neutron_error(second_flat, 409, "VlanIdInUse")


@pytest.mark.parametrize(
    ("attrs", "words"),
    [
        (
            {"provider:network_type": "flat", "provider:physical_network": "nowhere"},
            "physical network 'nowhere' is unknown; known: physnet1, physnet2",
        ),
        (
            {
                "provider:network_type": "vlan",
                "provider:physical_network": "physnet1",
                "provider:segmentation_id": 4095,
            },
            "segmentation_id 4095 is out of range: a VLAN id is between 1 and 4094",
        ),
        (
            {
                "provider:network_type": "vlan",
                "provider:physical_network": "physnet1",
                "provider:segmentation_id": 0,
            },
            "segmentation_id 0 is out of range",
        ),
        (
            {"provider:network_type": "vxlan", "provider:segmentation_id": 2**24},
            "a VXLAN VNI is between 1 and 16777215",
        ),
        ({"provider:network_type": "gre"}, "provider:network_type 'gre' is not one of"),
        (
            {"provider:network_type": "vlan", "provider:segmentation_id": 5},
            "provider:physical_network is required",
        ),
        (
            {
                "provider:network_type": "flat",
                "provider:physical_network": "physnet1",
                "provider:segmentation_id": 5,
            },
            "segmentation_id specified for flat network",
        ),
    ],
)
def test_bad_provider_attributes_are_400(apps: Apps, attrs: dict[str, Any], words: str) -> None:
    reply = apps.network().post("/v2.0/networks", {"network": attrs})
    assert words in neutron_error(reply, 400, "InvalidInput")


def test_subnet_defaults_v4_and_v6(apps: Apps) -> None:
    client = apps.network()
    net = make_network(client)
    v4 = make_subnet(client, net["id"], "192.0.2.0/24", dns_nameservers=["192.0.2.53"])
    assert v4.status == 201, v4.body
    subnet = v4.json["subnet"]
    assert subnet["gateway_ip"] == "192.0.2.1"
    assert subnet["allocation_pools"] == [{"start": "192.0.2.2", "end": "192.0.2.254"}]
    assert subnet["dns_nameservers"] == ["192.0.2.53"] and subnet["enable_dhcp"] is True
    v6 = make_subnet(client, net["id"], "2001:db8:1::/64", ipv6_address_mode="dhcpv6-stateful")
    assert v6.status == 201, v6.body
    assert v6.json["subnet"]["gateway_ip"] == "2001:db8:1::1"
    assert v6.json["subnet"]["allocation_pools"][0]["start"] == "2001:db8:1::2"
    shown = client.get(f"/v2.0/networks/{net['id']}").json["network"]
    assert shown["subnets"] == [subnet["id"], v6.json["subnet"]["id"]]


def test_subnet_pools_and_no_gateway(apps: Apps) -> None:
    client = apps.network()
    net = make_network(client)
    reply = make_subnet(
        client,
        net["id"],
        "198.51.100.0/24",
        gateway_ip=None,
        enable_dhcp=False,
        allocation_pools=[{"start": "198.51.100.10", "end": "198.51.100.20"}],
    )
    subnet = reply.json["subnet"]
    assert subnet["gateway_ip"] is None and subnet["enable_dhcp"] is False
    assert subnet["allocation_pools"] == [{"start": "198.51.100.10", "end": "198.51.100.20"}]


@pytest.mark.parametrize(
    ("cidr", "attrs", "words"),
    [
        ("192.0.2.0/25", {}, "overlaps with another subnet (192.0.2.0/24)"),
        ("192.0.2.5/24", {}, "has host bits set; 192.0.2.0/24 should be given"),
        ("192.0.2.0/33", {}, "is not a CIDR"),
        ("198.51.100.0/24", {"ip_version": 6}, "is an IPv4 CIDR but ip_version is 6"),
        ("198.51.100.0/24", {"gateway_ip": "203.0.113.1"}, "not a usable address"),
        (
            "198.51.100.0/24",
            {"allocation_pools": [{"start": "198.51.100.10", "end": "198.51.101.5"}]},
            "spans beyond the subnet cidr",
        ),
        (
            "198.51.100.0/24",
            {"allocation_pools": [{"start": "198.51.100.1", "end": "198.51.100.5"}]},
            "Gateway ip 198.51.100.1 conflicts with allocation pool",
        ),
        (
            "198.51.100.0/24",
            {
                "allocation_pools": [
                    {"start": "198.51.100.10", "end": "198.51.100.20"},
                    {"start": "198.51.100.15", "end": "198.51.100.30"},
                ]
            },
            "overlapping allocation pools",
        ),
        ("198.51.100.0/24", {"dns_nameservers": ["dns.example"]}, "not an IP address"),
        (
            "2001:db8:2::/64",
            {"ip_version": 6, "ipv6_address_mode": "slaac", "ipv6_ra_mode": "dhcpv6-stateful"},
            "If both attributes are set, they must be the same value",
        ),
        (
            "2001:db8:2::/80",
            {"ip_version": 6, "ipv6_address_mode": "slaac"},
            "need a /64 prefix",
        ),
        ("198.51.100.0/24", {"ipv6_address_mode": "slaac"}, "only IPv6 subnets take it"),
    ],
)
def test_bad_subnets_are_400(apps: Apps, cidr: str, attrs: dict[str, Any], words: str) -> None:
    client = apps.network()
    net = make_network(client)
    assert make_subnet(client, net["id"], "192.0.2.0/24").status == 201
    reply = make_subnet(client, net["id"], cidr, **attrs)
    assert words in neutron_error(reply, 400, "InvalidInput")


def test_the_same_cidr_on_two_networks_is_fine(apps: Apps) -> None:
    client = apps.network()
    for _ in range(2):
        assert make_subnet(client, make_network(client)["id"], "192.0.2.0/24").status == 201


def test_update_filters_fields_and_delete(apps: Apps) -> None:
    client = apps.network()
    net = make_network(client, name="blue")
    make_network(client, name="green")
    renamed = client.put(f"/v2.0/networks/{net['id']}", {"network": {"name": "navy"}})
    assert renamed.json["network"]["name"] == "navy"
    found = client.get("/v2.0/networks?name=navy&fields=id&fields=name").json["networks"]
    assert found == [{"id": net["id"], "name": "navy"}]
    bad = client.put(f"/v2.0/networks/{net['id']}", {"network": {"mtu": 9000}})
    assert "Unrecognized attribute(s) 'mtu'" in neutron_error(bad, 400, "InvalidInput")
    assert client.delete(f"/v2.0/networks/{net['id']}").status == 204
    gone = client.get(f"/v2.0/networks/{net['id']}")
    neutron_error(gone, 404, "NetworkNotFound")


def test_malformed_bodies_are_400_not_500(apps: Apps) -> None:
    client = apps.network()
    assert client.post("/v2.0/networks", {"net": {}}).status == 400
    assert client.post("/v2.0/networks", raw=b"{").status == 400
    net = make_network(client)
    reply = client.post("/v2.0/subnets", {"subnet": {"network_id": net["id"], "cidr": 5}})
    neutron_error(reply, 400, "InvalidInput")
    unknown = client.get("/v2.0/routers")
    neutron_error(unknown, 404, "HTTPNotFound")


def test_slaac_ports_get_the_eui64_address_of_their_mac(apps: Apps) -> None:
    """As Neutron: on a slaac (or dhcpv6-stateless) subnet a port's address is the one
    its guest makes from the prefix and its MAC; another fixed address is refused."""
    client = apps.network()
    net = make_network(client)
    v6 = {"ip_version": 6, "ipv6_address_mode": "slaac", "ipv6_ra_mode": "slaac"}
    subnet = make_subnet(client, net["id"], "2001:db8:3::/64", **v6).json["subnet"]
    body = {"port": {"network_id": net["id"], "mac_address": "fa:16:3e:12:34:56"}}
    port = client.post("/v2.0/ports", body)
    assert port.status == 201, port.body
    assert port.json["port"]["fixed_ips"] == [
        {"subnet_id": subnet["id"], "ip_address": "2001:db8:3:0:f816:3eff:fe12:3456"}
    ]
    fixed = [{"subnet_id": subnet["id"], "ip_address": "2001:db8:3::10"}]
    refused = client.post(
        "/v2.0/ports",
        {"port": {"network_id": net["id"], "mac_address": "fa:16:3e:12:34:57",
                  "fixed_ips": fixed}},
    )  # fmt: skip
    words = neutron_error(refused, 400, "InvalidInput")
    assert "2001:db8:3::10 cannot be directly assigned" in words
    assert "2001:db8:3:0:f816:3eff:fe12:3457" in words


def test_a_port_gets_an_address_on_every_slaac_subnet_and_one_stateful_each(apps: Apps) -> None:
    """Without fixed_ips: the EUI-64 address on each SLAAC subnet (slaac and
    dhcpv6-stateless alike), plus the first free address of the IPv4 subnet and of the
    DHCPv6-stateful one; the subnets show the modes they were made with."""
    client = apps.network()
    net = make_network(client)
    v4 = make_subnet(client, net["id"], "192.0.2.0/24").json["subnet"]
    made = {
        mode: make_subnet(client, net["id"], cidr, ipv6_address_mode=mode, ipv6_ra_mode=mode).json[
            "subnet"
        ]
        for mode, cidr in (
            ("slaac", "2001:db8:4::/64"),
            ("dhcpv6-stateless", "2001:db8:5::/64"),
            ("dhcpv6-stateful", "2001:db8:6::/64"),
        )
    }
    for mode, subnet in made.items():
        assert (subnet["ipv6_address_mode"], subnet["ipv6_ra_mode"]) == (mode, mode)
    body = {"port": {"network_id": net["id"], "mac_address": "fa:16:3e:00:00:01"}}
    port = client.post("/v2.0/ports", body)
    assert port.status == 201, port.body
    got = {f["subnet_id"]: f["ip_address"] for f in port.json["port"]["fixed_ips"]}
    assert got == {
        v4["id"]: "192.0.2.2",
        made["slaac"]["id"]: "2001:db8:4:0:f816:3eff:fe00:1",
        made["dhcpv6-stateless"]["id"]: "2001:db8:5:0:f816:3eff:fe00:1",
        made["dhcpv6-stateful"]["id"]: "2001:db8:6::2",
    }
    again = client.post(  # the same MAC on another port of the network: refused as ever
        "/v2.0/ports", {"port": {"network_id": net["id"], "mac_address": "fa:16:3e:00:00:01"}}
    )
    assert again.status == 409, again.body
