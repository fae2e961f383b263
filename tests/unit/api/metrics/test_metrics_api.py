"""``/metrics``: its route table and policy rule, the scrape-time placement and
heartbeat (age and up) gauges (cheap on 10,000 providers), and the tokenless listener of
``[metrics] listen``."""

from __future__ import annotations

import dataclasses
import datetime
import re
import time
import urllib.request
import uuid

import pytest
import webob
from sqlalchemy import update

from support.route_tables import check_route_table
from virtfleet import conf as vconf
from virtfleet import errors
from virtfleet.api.metrics import make_metrics_app, unauthenticated_listener
from virtfleet.api.metrics.routes import ROUTES
from virtfleet.api.metrics.sources import heartbeat_source, placement_source
from virtfleet.api.policy.enforcer import Authorizer, with_authorizer
from virtfleet.api.wsgi import PrefixDispatcher, Request, Router
from virtfleet.db import hosts
from virtfleet.db.engine import Database
from virtfleet.db.models.hosts import ComputeNode
from virtfleet.observability import metrics
from virtfleet.placement.service import PlacementService
from virtfleet.placement.snapshot import ProviderRow, Snapshot, TraitBits, build_tree, make_slot
from virtfleet.placement.types import Inventory

SOURCE_LINE = b"virtfleet_test_source 1\n"


def app(*sources: metrics.TextSource) -> object:
    conf = vconf.make_conf(api__auth_strategy="noauth")
    metrics_app = make_metrics_app(list(sources) or [lambda: SOURCE_LINE])
    return with_authorizer(
        PrefixDispatcher({"metrics": metrics_app}, root=Router([], None)), Authorizer(conf)
    )  # type: ignore[arg-type]  # no errors rendered at the root


def scrape(wsgi: object, roles: str) -> webob.Response:
    req = Request.blank("/metrics", headers={"X-Roles": roles, "X-Project-Id": "p1"})
    return req.get_response(wsgi)


def samples(text: str, name: str) -> dict[str, float]:
    """``{labels: value}`` of metric ``name`` in the text format."""
    found = {}
    for line in text.splitlines():
        m = re.fullmatch(rf"{name}(\{{.*\}})? (\S+)", line)
        if m:
            found[m[1] or ""] = float(m[2])
    return found


def test_the_route_table() -> None:
    check_route_table(ROUTES, re.compile(r"virtfleet:[a-z_]+"))


@pytest.mark.parametrize("roles", ["admin,member,reader", "metrics_reader"])
def test_admins_and_metrics_readers_scrape(roles: str) -> None:
    metrics.SERVER_ACTIONS.labels("create", "success").inc(0)  # the family has a sample
    reply = scrape(app(), roles)
    assert reply.status_int == 200, reply.body
    assert reply.content_type == "text/plain"
    assert "version=0.0.4" in reply.headers["Content-Type"]
    text = reply.text
    assert "# TYPE virtfleet_server_actions_total counter" in text
    assert "# TYPE virtfleet_api_request_duration_seconds histogram" in text
    assert text.endswith(SOURCE_LINE.decode())  # the scrape-time sources after the rest


@pytest.mark.parametrize("roles", ["member,reader", "reader", "service"])
def test_project_members_and_services_may_not(roles: str) -> None:
    reply = scrape(app(), roles)
    assert reply.status_int == 403
    assert "virtfleet:metrics" in reply.text


def test_placement_gauges_per_provider_and_class(db: object) -> None:
    placement = PlacementService(db)  # type: ignore[arg-type]  # the db fixture's Database
    host = placement.create_provider('host "1"')
    gpu = placement.create_provider("host-1-gpu", parent_uuid=host.uuid)
    placement.set_inventories(
        host.uuid,
        host.generation,
        {"VCPU": Inventory(8, allocation_ratio=4.0), "MEMORY_MB": Inventory(4096, reserved=512)},
    )
    placement.set_inventories(gpu.uuid, gpu.generation, {"VGPU": Inventory(4)})
    source = placement_source(placement)
    text = source().decode()
    assert samples(text, "virtfleet_placement_capacity") == {
        '{provider="host \\"1\\"",resource_class="VCPU"}': 32.0,
        '{provider="host \\"1\\"",resource_class="MEMORY_MB"}': 3584.0,
        '{provider="host-1-gpu",resource_class="VGPU"}': 4.0,
    }
    assert set(samples(text, "virtfleet_placement_usage").values()) == {0.0}
    assert samples(text, "virtfleet_placement_providers") == {"": 2.0}
    # a claim shows at the next scrape (the tree changed, so its lines are new)
    consumer = str(uuid.uuid4())
    placement.replace_allocations(
        consumer, {host.uuid: {"VCPU": 3}, gpu.uuid: {"VGPU": 1}}, "p", "u", None
    )
    usage = samples(source().decode(), "virtfleet_placement_usage")
    assert usage['{provider="host \\"1\\"",resource_class="VCPU"}'] == 3.0
    assert usage['{provider="host-1-gpu",resource_class="VGPU"}'] == 1.0
    assert usage['{provider="host \\"1\\"",resource_class="MEMORY_MB"}'] == 0.0


@dataclasses.dataclass
class _Report:
    host: str
    hypervisor_hostname: str = "h"
    hypervisor_type: str = "QEMU"
    hypervisor_version: int = 8_002_000
    vcpus: int = 4
    memory_mb: int = 4096
    local_gb: int = 10


def test_heartbeat_age_and_up_state_per_host(db: Database) -> None:
    """A host reporting is up with a small age; one silent past ``host_down_after``, one
    a conductor marked down and one the operator forced down are 0 (as the Compute API
    shows them down), each with the age of its last report."""
    for name in ("fresh", "silent", "marked", "forced", 'odd "name"'):
        hosts.upsert_host(db, _Report(name), {})
    long_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=120)
    with db.write() as conn:
        conn.execute(
            update(ComputeNode).where(ComputeNode.host == "silent").values(updated_at=long_ago)
        )
    hosts.mark_down(db, host="marked")
    hosts.set_forced_down(db, "forced", True)

    text = heartbeat_source(db, 60.0)().decode()
    assert "# TYPE virtfleet_agent_up gauge" in text
    assert samples(text, "virtfleet_agent_up") == {
        '{host="fresh"}': 1.0,
        '{host="silent"}': 0.0,
        '{host="marked"}': 0.0,
        '{host="forced"}': 0.0,
        '{host="odd \\"name\\""}': 1.0,
    }
    ages = samples(text, "virtfleet_agent_heartbeat_age_seconds")
    assert 119.0 <= ages['{host="silent"}'] < 180.0
    assert 0.0 <= ages['{host="fresh"}'] < 30.0
    assert set(ages) == set(samples(text, "virtfleet_agent_up"))
    # without a down_after only the marks count, as for the Compute API
    relaxed = samples(heartbeat_source(db, 0.0)().decode(), "virtfleet_agent_up")
    assert (relaxed['{host="silent"}'], relaxed['{host="marked"}']) == (1.0, 0.0)
    # the same rule as the hosts' records
    now = datetime.datetime.now(datetime.UTC)
    beats = {beat.host: beat.is_down(60.0, now) for beat in hosts.heartbeats(db)}
    assert beats == {record.host: record.is_down(60.0, now) for record in hosts.list_hosts(db)}


class _Snapshots:
    def __init__(self, snapshot: Snapshot) -> None:
        self.current = snapshot

    def snapshot(self) -> Snapshot:
        return self.current


def _fleet(hosts: int) -> Snapshot:
    bits = TraitBits()
    trees = {}
    for i in range(hosts):
        slots = {
            "VCPU": make_slot(64, 0, 1, 64, 1, 4.0, i % 64),
            "MEMORY_MB": make_slot(262144, 4096, 1, 262144, 1, 1.0, 1024 * (i % 8)),
            "DISK_GB": make_slot(2000, 0, 1, 2000, 1, 1.0, 10),
        }
        tree = build_tree(
            [ProviderRow(i + 1, f"u-{i}", f"host-{i:05d}", 1, None, i + 1, slots=slots)], bits
        )
        assert tree is not None
        trees[i + 1] = tree
    return Snapshot(trees, bits, 1)


def _timed(render: metrics.TextSource) -> tuple[float, bytes]:
    start = time.monotonic()
    out = render()
    return time.monotonic() - start, out


def test_placement_gauges_of_ten_thousand_hosts_are_cheap_once_rendered() -> None:
    """10,000 hosts x 3 classes: 60,000 samples. The first scrape renders every tree;
    later ones reuse the lines of the trees that did not change."""
    snapshots = _Snapshots(_fleet(10_000))
    source = placement_source(snapshots)
    first, text = _timed(source)
    again, same = _timed(source)
    assert same == text
    assert text.count(b"\nvirtfleet_placement_capacity{") == 30_000
    assert text.count(b"\nvirtfleet_placement_usage{") == 30_000
    # one host's usage changes: a new tree for it, the others are shared
    changed = build_tree(
        [
            ProviderRow(
                1, "u-0", "host-00000", 2, None, 1,
                slots={"VCPU": make_slot(64, 0, 1, 64, 1, 4.0, 63)},
            )
        ],
        snapshots.current.bits,
    )  # fmt: skip
    assert changed is not None
    snapshots.current = snapshots.current.with_trees({1: changed}, 2)
    after_change, changed_text = _timed(source)
    assert b'virtfleet_placement_usage{provider="host-00000",resource_class="VCPU"} 63\n' in (
        changed_text
    )
    print(
        f"10,000 hosts: first {first:.3f}s, again {again:.3f}s, after a change {after_change:.3f}s"
    )
    # generous bounds for a loaded 2-core machine; docs/observability.md has the numbers
    assert again < 1.0 and after_change < 1.0
    assert again < first


def test_the_tokenless_listener_serves_only_metrics() -> None:
    conf = vconf.make_conf(metrics__listen="127.0.0.1:0")
    listener = unauthenticated_listener(conf, [lambda: SOURCE_LINE])
    assert listener is not None
    try:
        with urllib.request.urlopen(f"{listener.endpoint}/metrics", timeout=10) as reply:
            body = reply.read()
            assert reply.headers["x-openstack-request-id"].startswith("req-")
        assert body.endswith(SOURCE_LINE)
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{listener.endpoint}/compute/v2.1/servers", timeout=10)
        assert missing.value.code == 404
    finally:
        listener.stop()


def test_no_tokenless_listener_by_default() -> None:
    assert unauthenticated_listener(vconf.make_conf()) is None


def test_a_bad_listen_address_names_the_option() -> None:
    with pytest.raises(errors.ConfigError, match=r"\[metrics\] listen: expected HOST:PORT"):
        vconf.make_conf(metrics__listen="nowhere")
