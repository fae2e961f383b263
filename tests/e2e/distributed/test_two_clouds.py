"""Two clouds on one RabbitMQ broker, told apart only by their control_exchange, with
the same host names: no work crosses (each cloud's guests are on its own agents and
each cloud's hosts report to its own server)."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest

from support.distributed import Deployment, wait_for
from virtfleet import conf as vconf
from virtfleet.agent.rpcapi import ComputeClient
from virtfleet.cli.apiclient import Client
from virtfleet.rpc import get_transport

pytestmark = pytest.mark.slow

HOSTS = ("node-1", "node-2")
BOOTS = 12


@pytest.fixture
def clouds(tmp_path: pathlib.Path, broker_url: str) -> Iterator[list[Deployment]]:
    built = []
    for name in ("east", "west"):
        (tmp_path / name).mkdir()
        built.append(Deployment(tmp_path / name, broker_url))
    yield built
    for cloud in built:
        for daemon in cloud.daemons:
            daemon.kill()
            print(f"===== {daemon.log}\n{daemon.output()}")  # shown when the test fails


def guests(cloud: Deployment) -> dict[str, set[str]]:
    """Each of the cloud's agents' guests, asked over the cloud's own exchange."""
    conf = vconf.make_conf(config_files=[str(cloud.config)])
    transport = get_transport(conf.transport_url, conf)
    try:
        client = ComputeClient(transport, timeout=10)
        return {host: set(client.list_instance_uuids(host)) for host in HOSTS}
    finally:
        transport.close()


def test_two_clouds_on_one_broker_never_cross(clouds: list[Deployment]) -> None:
    clients = []
    for cloud in clouds:
        for host in HOSTS:
            cloud.agent(host).start()
        cloud.server().start()
        clients.append(Client(cloud.endpoint, timeout=30))
    for client in clients:
        wait_for("the server's API", lambda c=client: c.hypervisors() is not None, timeout=60)

        def all_up(c: Client = client) -> bool:
            return sorted(h["hypervisor_hostname"] for h in c.hypervisors()) == list(HOSTS) and all(
                h["state"] == "up" for h in c.hypervisors()
            )

        wait_for("both hosts up", all_up, timeout=60)
    booted: list[set[str]] = []
    for client in clients:
        flavor = client.create_flavor("m1.tiny", 1, 256, 1)["id"]
        image = client.create_image("disk", b"\0" * 1024, {"hw_architecture": "x86_64"})
        ids = {client.boot(f"vm-{i}", flavor, image) for i in range(BOOTS)}
        for server_id in ids:
            assert client.wait_server(server_id, timeout=60)["status"] == "ACTIVE"
        booted.append(ids)
    for cloud, ids, client in zip(clouds, booted, clients, strict=True):
        found = guests(cloud)
        assert set().union(*found.values()) == ids  # all its guests, none of the other's
        for server_id in ids:
            host = client.server(server_id)["OS-EXT-SRV-ATTR:host"]
            assert server_id in found[host]
