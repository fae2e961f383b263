"""IPAM under concurrency: 200 ports created at once on one subnet get 200 distinct
addresses, and deleting them all leaves the subnet empty."""

from __future__ import annotations

import pathlib
from concurrent.futures import ThreadPoolExecutor

from support.api_apps import make_db
from virtfleet.network.records import Caller
from virtfleet.network.service import NetworkService

ADMIN = Caller("admin", is_admin=True)


def test_200_concurrent_ports_get_200_distinct_addresses(tmp_path: pathlib.Path) -> None:
    service = NetworkService(make_db(tmp_path), {})
    net = service.create_network(ADMIN, {"name": "busy"})
    service.create_subnet(ADMIN, {"network_id": net.id, "cidr": "198.51.100.0/24"})

    def one_port(i: int) -> str:
        port = service.create_port(ADMIN, {"network_id": net.id, "device_id": f"vm-{i}"})
        return port.fixed_ips[0].ip_address

    with ThreadPoolExecutor(max_workers=32) as pool:
        addresses = list(pool.map(one_port, range(200)))
    assert len(set(addresses)) == 200
    assert {a.rsplit(".", 1)[1] for a in addresses} == {str(i) for i in range(2, 202)}
    macs = {p.mac_address for p in service.list_ports(ADMIN)}
    assert len(macs) == 200

    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(lambda p: service.delete_port(ADMIN, p.id), service.list_ports(ADMIN)))
    assert service.list_ports(ADMIN) == []
    service.delete_network(ADMIN, net.id)  # nothing holds the subnet any more
