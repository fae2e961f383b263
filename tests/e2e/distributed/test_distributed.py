"""Distributed mode with real processes: a `virtfleet server`, two `virtfleet agent`s of
simulated hosts, RabbitMQ between them, and the Compute API driving it all. The agents
share no directory with the server (each runs with the server's data directory hidden)
and fetch image data over HTTP."""

from __future__ import annotations

import json
import re
import urllib.request
import uuid
from typing import Any

import pytest

from support.distributed import Daemon, Deployment, free_port, wait_for
from virtfleet.cli.apiclient import COMPUTE_VERSION, APIError, Client

pytestmark = pytest.mark.slow

HOSTS = ("node-1", "node-2")


def host_states(client: Client) -> dict[str, str]:
    return {h["hypervisor_hostname"]: h["state"] for h in client.hypervisors()}


def wait_states(client: Client, want: dict[str, str], timeout: float = 30.0) -> None:
    def matches() -> bool:
        states = host_states(client)
        return all(states.get(host) == state for host, state in want.items())

    wait_for(f"hosts {want}", matches, timeout)


def used_resources(client: Client) -> dict[str, dict[str, int]]:
    """Placement usages of every provider that uses anything."""
    used = {}
    for rp in client.request("GET", "/placement/resource_providers")["resource_providers"]:
        usages = client.request("GET", f"/placement/resource_providers/{rp['uuid']}/usages")
        nonzero = {rc: n for rc, n in usages["usages"].items() if n}
        if nonzero:
            used[rp["name"]] = nonzero
    return used


def gone(client: Client, server_id: str) -> bool:
    try:
        client.server(server_id)
    except APIError as exc:
        return exc.status == 404
    return False


def agent_log(daemon: Daemon) -> list[dict[str, Any]]:
    """The JSON log lines of an agent started with ``--log-format json``."""
    return [json.loads(line) for line in daemon.output().splitlines() if line.startswith("{")]


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as reply:
        return str(reply.read().decode())


def gauge(text: str, name: str) -> dict[str, float]:
    """``{host: value}`` of a per-host gauge in a scrape."""
    found = re.findall(rf'^{name}{{host="([^"]+)"}} (\S+)$', text, re.MULTILINE)
    return {host: float(value) for host, value in found}


def up_states(text: str) -> dict[str, float]:
    return gauge(text, "virtfleet_agent_up")


def test_boot_agent_down_delete_restarts(deployment: Deployment) -> None:
    # Agents first: they keep retrying their first report until a server answers. Each
    # serves its own /metrics ([metrics] listen) and logs JSON lines.
    ports = {host: free_port() for host in HOSTS}
    agents = {host: deployment.agent(host, ports[host]).start() for host in HOSTS}
    server = deployment.server().start()
    client = Client(deployment.endpoint, timeout=10)
    wait_for("the server's HTTP API", lambda: client.hypervisors() is not None, timeout=120)
    wait_states(client, dict.fromkeys(HOSTS, "up"), timeout=90)

    flavor = client.create_flavor("m1.tiny", 1, 512, 1)["id"]
    image = client.create_image("disk", b"\0" * 1024, {"hw_architecture": "x86_64"})
    rid = f"req-{uuid.uuid4()}"  # the client's own request id, kept by the server
    body = {"server": {"name": "vm-1", "flavorRef": flavor, "imageRef": image, "networks": "none"}}
    headers = {"OpenStack-API-Version": COMPUTE_VERSION, "X-OpenStack-Request-ID": rid}
    server_id = client.request("POST", "/compute/v2.1/servers", body, headers)["server"]["id"]
    booted = client.wait_server(server_id, timeout=30)
    assert booted["status"] == "ACTIVE", booted.get("fault")
    host = booted["OS-EXT-SRV-ATTR:host"]
    assert host in HOSTS

    # One request's id across the processes: the server's API access line and the
    # conductor's completed create; the agent's lines (the id came in the RPC message's
    # context over RabbitMQ) of the image fetch and the spawn; and the server's access
    # line of the agent's image download, which sent the id on as Nova does to Glance.
    # (the create's line comes just after the server turned ACTIVE: wait for it)
    done = f"[{rid}] create of server {server_id} on {host} succeeded in "
    wait_for("the create's log line", lambda: done in server.output(), timeout=10)
    server_lines = [line for line in server.output().splitlines() if f"[{rid}]" in line]
    for access in ('"POST /compute/v2.1/servers" status: 202 ',
                   f'"GET /image/v2/images/{image}/file" status: 200 '):  # fmt: skip
        assert any(access in line for line in server_lines), (access, server_lines)
    traced = [e["message"] for e in agent_log(agents[host]) if e["request_id"] == rid]
    for start in (f"image {image}: 1024 bytes fetched and verified in ",
                  f"host {host}: guest {server_id} spawned in "):  # fmt: skip
        assert any(m.startswith(start) for m in traced), (start, agents[host].output()[-3000:])
    # Each process exposes its own metrics: the server its API, scheduling and RPC
    # client side, the agent its own.
    own = scrape(f"{deployment.endpoint}/metrics")
    assert 'virtfleet_server_actions_total{action="create",outcome="success"} 1.0' in own
    assert f'virtfleet_placement_usage{{provider="{host}",resource_class="VCPU"}} 1' in own
    assert (
        'virtfleet_rpc_call_duration_seconds_count{method="spawn",outcome="ok",topic="compute"} 1.0'
        in own
    )
    assert up_states(own) == dict.fromkeys(HOSTS, 1.0)
    agent_metrics = scrape(f"http://127.0.0.1:{ports[host]}/metrics")
    assert 'method="report_host",outcome="ok",topic="conductor"' in agent_metrics
    assert "virtfleet_server_actions_total{" not in agent_metrics
    assert used_resources(client) == {host: {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}}
    # The agent (whose view of the server's data directory is an empty tmpfs) fetched
    # the image over HTTP into its own cache.
    assert (deployment.image_cache(host) / image).read_bytes() == b"\0" * 1024

    # The agent stops cleanly on SIGTERM, and its host goes down once it is silent.
    assert agents[host].terminate() == 0
    assert f"virtfleet agent {host} stopped." in agents[host].output()
    other = next(h for h in HOSTS if h != host)
    wait_states(client, {host: "down", other: "up"}, timeout=20)
    # The server's /metrics shows it: down, and silent longer than host_down_after (3 s)
    # while the other agent has reported since.
    own = scrape(f"{deployment.endpoint}/metrics")
    assert up_states(own) == {host: 0.0, other: 1.0}
    ages = gauge(own, "virtfleet_agent_heartbeat_age_seconds")
    assert ages[host] > 3.0 and ages[host] > ages[other], ages

    # Deleting a server on a down host still frees everything it held.
    client.compute("DELETE", f"/servers/{server_id}")
    wait_for("the server to be deleted", lambda: gone(client, server_id), timeout=30)
    assert client.request("GET", f"/placement/allocations/{server_id}")["allocations"] == {}
    assert used_resources(client) == {}

    # A restarted agent reports its host again.
    agents[host].start()
    wait_states(client, {host: "up"}, timeout=30)

    # A restarted server keeps its state, and the agents keep reporting to it.
    assert server.terminate() == 0
    assert "virtfleet server stopped." in server.output()
    server.start()
    wait_for("the restarted server's API", lambda: client.hypervisors() is not None, timeout=40)
    flavors = client.compute("GET", "/flavors")["flavors"]
    assert [f["name"] for f in flavors] == ["m1.tiny"]
    wait_states(client, dict.fromkeys(HOSTS, "up"), timeout=30)

    daemons = (*agents.values(), server)
    for daemon in daemons:
        daemon.send_term()
    assert [daemon.terminate() for daemon in daemons] == [0, 0, 0]
    # (The agents log their failed periodic reports while the server was away.)
    assert "Traceback" not in server.output()
