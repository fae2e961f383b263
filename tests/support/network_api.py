"""Helpers of the Networking API tests: make networks and subnets, read Neutron's
error bodies."""

from __future__ import annotations

from typing import Any

from support.api_apps import Client, Reply


def neutron_error(reply: Reply, status: int, kind: str) -> str:
    assert reply.status == status, reply.body
    error = reply.json["NeutronError"]
    assert error["type"] == kind and error["detail"] == ""
    message: str = error["message"]
    return message


def make_network(client: Client, **attrs: Any) -> dict[str, Any]:
    reply = client.post("/v2.0/networks", {"network": {"name": "net", **attrs}})
    assert reply.status == 201, reply.body
    network: dict[str, Any] = reply.json["network"]
    return network


def make_subnet(client: Client, network_id: str, cidr: str, **attrs: Any) -> Reply:
    version = 6 if ":" in cidr else 4
    body = {"network_id": network_id, "cidr": cidr, "ip_version": version, **attrs}
    return client.post("/v2.0/subnets", {"subnet": body})
