"""Security groups and rules through the Networking API: the default group per
project, rule validation, duplicates, groups in use."""

from __future__ import annotations

from typing import Any

import pytest

from support.api_apps import Apps, Client
from support.network_api import make_network, neutron_error


def make_group(client: Client, name: str) -> dict[str, Any]:
    reply = client.post("/v2.0/security-groups", {"security_group": {"name": name}})
    assert reply.status == 201, reply.body
    group: dict[str, Any] = reply.json["security_group"]
    return group


def rule(client: Client, group_id: str, **attrs: Any) -> Any:
    body = {"security_group_id": group_id, "direction": "ingress", **attrs}
    return client.post("/v2.0/security-group-rules", {"security_group_rule": body})


def test_default_group_allows_egress_and_ingress_from_itself(apps: Apps) -> None:
    member = apps.network(project="p1")
    groups = member.get("/v2.0/security-groups").json["security_groups"]
    assert [g["name"] for g in groups] == ["default"]
    default = groups[0]
    rules = {
        (r["direction"], r["ethertype"], r["remote_group_id"], r["protocol"])
        for r in default["security_group_rules"]
    }
    assert rules == {
        ("egress", "IPv4", None, None),
        ("egress", "IPv6", None, None),
        ("ingress", "IPv4", default["id"], None),
        ("ingress", "IPv6", default["id"], None),
    }
    assert len(member.get("/v2.0/security-groups").json["security_groups"]) == 1
    refused = member.delete(f"/v2.0/security-groups/{default['id']}")
    neutron_error(refused, 409, "InUse")


def test_new_group_gets_egress_rules_and_takes_ingress_rules(apps: Apps) -> None:
    client = apps.network()
    group = make_group(client, "web")
    assert {r["direction"] for r in group["security_group_rules"]} == {"egress"}
    ssh = rule(
        client,
        group["id"],
        protocol="tcp",
        port_range_min=22,
        port_range_max=22,
        remote_ip_prefix="192.0.2.0/24",
    )
    assert ssh.status == 201, ssh.body
    again = rule(
        client,
        group["id"],
        protocol="tcp",
        port_range_min=22,
        port_range_max=22,
        remote_ip_prefix="192.0.2.0/24",
    )
    neutron_error(again, 409, "SecurityGroupRuleExists")
    shown = client.get(f"/v2.0/security-groups/{group['id']}").json["security_group"]
    assert len(shown["security_group_rules"]) == 3
    rule_id = ssh.json["security_group_rule"]["id"]
    assert client.delete(f"/v2.0/security-group-rules/{rule_id}").status == 204
    neutron_error(
        client.get(f"/v2.0/security-group-rules/{rule_id}"), 404, "SecurityGroupRuleNotFound"
    )


@pytest.mark.parametrize(
    ("attrs", "words"),
    [
        ({"direction": "sideways"}, "direction"),
        ({"ethertype": "IPv5"}, "ethertype"),
        ({"protocol": "tcp", "port_range_min": 100, "port_range_max": 10}, "Invalid port range"),
        ({"protocol": "tcp", "port_range_min": 0, "port_range_max": 10}, "Invalid port range"),
        ({"port_range_min": 1, "port_range_max": 10}, "Port ranges need protocol"),
        ({"protocol": "bogus"}, "protocol 'bogus' not supported"),
        ({"remote_ip_prefix": "2001:db8::/32"}, "Conflicting value ethertype IPv4"),
        ({"protocol": "icmp", "port_range_min": 300}, "Invalid ICMP type 300"),
    ],
)
def test_bad_rules_are_400(apps: Apps, attrs: dict[str, Any], words: str) -> None:
    client = apps.network()
    group = make_group(client, "g")
    assert words in neutron_error(rule(client, group["id"], **attrs), 400, "InvalidInput")


def test_a_group_in_use_by_a_port_is_409(apps: Apps) -> None:
    client = apps.network()
    group = make_group(client, "db")
    net = make_network(client)
    port = client.post(
        "/v2.0/ports", {"port": {"network_id": net["id"], "security_groups": [group["id"]]}}
    ).json["port"]
    assert port["security_groups"] == [group["id"]]
    busy = client.delete(f"/v2.0/security-groups/{group['id']}")
    assert port["id"] in neutron_error(busy, 409, "InUse")
    cleared = client.put(f"/v2.0/ports/{port['id']}", {"port": {"security_groups": []}})
    assert cleared.json["port"]["security_groups"] == []
    assert client.delete(f"/v2.0/security-groups/{group['id']}").status == 204


def test_other_projects_groups_are_invisible(apps: Apps) -> None:
    group = make_group(apps.network(project="p1"), "mine")
    other = apps.network(project="p2")
    neutron_error(other.get(f"/v2.0/security-groups/{group['id']}"), 404, "SecurityGroupNotFound")
    neutron_error(rule(other, group["id"]), 404, "SecurityGroupNotFound")
