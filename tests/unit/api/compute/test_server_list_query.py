"""The server list's query per microversion (changes-since/-before, deleted, locked,
ip, the 2.38 status check, 2.75's unknown parameters, 2.83's user filters), server
update's hostname (2.90, FQDN from 2.94) and answer (2.71, 2.75), and paging of
hypervisors (2.33); forced live migration is gone at 2.68."""

from __future__ import annotations

import datetime

import pytest
import sqlalchemy

from support.api_apps import Apps, Client
from virtfleet.db import servers
from virtfleet.db.models.compute import Server as ServerRow

from .test_servers import boot

USER = {"X-Project-Id": "admin", "X-Roles": "member", "X-User-Id": "admin"}


def ids(reply_json: dict[str, list[dict[str, str]]]) -> set[str]:
    return {s["id"] for s in reply_json["servers"]}


@pytest.fixture
def three(world: Apps) -> dict[str, str]:
    """An old server, a locked one, a deleted one."""
    c = world.compute()
    old, locked, gone = (boot(c, name=name)["id"] for name in ("old", "locked", "gone"))
    with world.db.write() as conn:  # a change long ago
        conn.execute(
            sqlalchemy.update(ServerRow)
            .where(ServerRow.uuid == old)
            .values(updated_at=datetime.datetime(2020, 1, 1))
        )
    assert c.post(f"/v2.1/servers/{locked}/action", {"lock": None}).status == 202
    assert c.delete(f"/v2.1/servers/{gone}").status == 204
    return {"old": old, "locked": locked, "gone": gone}


def test_changes_since_and_before_select_by_last_change_deleted_included(
    world: Apps, three: dict[str, str]
) -> None:
    c = world.compute()
    assert ids(c.get("/v2.1/servers").json) == {three["old"], three["locked"]}
    since = ids(c.get("/v2.1/servers?changes-since=2021-01-01T00:00:00Z").json)
    assert since == {three["locked"], three["gone"]}  # the deletion is a change
    before = ids(c.get("/v2.1/servers?changes-before=2021-01-01T00:00:00Z").json)
    assert before == {three["old"]}
    detail = c.get("/v2.1/servers/detail?changes-since=2021-01-01T00:00:00Z").json["servers"]
    assert {s["status"] for s in detail if s["id"] == three["gone"]} == {"DELETED"}
    # changes-before comes with 2.66; before it the parameter is ignored
    old_version = world.compute("2.65").get("/v2.1/servers?changes-before=2021-01-01T00:00:00Z")
    assert ids(old_version.json) == {three["old"], three["locked"]}
    bad = c.get("/v2.1/servers?changes-since=yesterday")
    assert bad.status == 400 and "changes-since" in bad.json["badRequest"]["message"]
    crossed = c.get(
        "/v2.1/servers?changes-since=2022-01-01T00:00:00Z&changes-before=2021-01-01T00:00:00Z"
    )
    assert crossed.status == 400
    assert "less than or equal to changes-before" in crossed.json["badRequest"]["message"]


def test_deleted_is_for_administrators(world: Apps, three: dict[str, str]) -> None:
    c = world.compute()
    assert ids(c.get("/v2.1/servers?deleted=true").json) == {three["gone"]}
    assert ids(c.get("/v2.1/servers?deleted=false").json) == {three["old"], three["locked"]}
    assert c.get("/v2.1/servers?deleted=maybe").status == 400
    user = Client(
        world.compute_app, "/compute", {"OpenStack-API-Version": "compute latest", **USER}
    )
    # a member's deleted filter is dropped, as in Nova
    assert ids(user.get("/v2.1/servers?deleted=true").json) == {three["old"], three["locked"]}


def test_locked_filter_from_2_73(world: Apps, three: dict[str, str]) -> None:
    c = world.compute()
    assert ids(c.get("/v2.1/servers?locked=true").json) == {three["locked"]}
    assert ids(c.get("/v2.1/servers?locked=false").json) == {three["old"]}


def test_status_is_checked_from_2_38(world: Apps, three: dict[str, str]) -> None:
    c = world.compute()
    bad = c.get("/v2.1/servers?status=RUNNING")
    assert bad.status == 400 and "RUNNING" in bad.json["badRequest"]["message"]
    assert world.compute("2.37").get("/v2.1/servers?status=RUNNING").json == {"servers": []}
    assert len(ids(c.get("/v2.1/servers?status=active").json)) == 2


def test_unknown_query_parameters_are_refused_from_2_75(world: Apps, three: dict[str, str]) -> None:
    refused = world.compute().get("/v2.1/servers?colour=blue")
    assert refused.status == 400 and "'colour'" in refused.json["badRequest"]["message"]
    assert world.compute("2.74").get("/v2.1/servers?colour=blue").status == 200
    # a reference filter virtfleet has nothing to filter on is a 400 naming it
    sorted_reply = world.compute().get("/v2.1/servers?sort_key=display_name")
    assert sorted_reply.status == 400
    assert "sort_key" in sorted_reply.json["badRequest"]["message"]


def test_user_filters_open_at_2_83(world: Apps, three: dict[str, str]) -> None:
    def member(version: str) -> Client:
        headers = {"OpenStack-API-Version": f"compute {version}", **USER}
        return Client(world.compute_app, "/compute", headers)

    # before 2.83 a member's vm_state filter is dropped; from 2.83 it filters
    assert len(ids(member("2.82").get("/v2.1/servers?vm_state=stopped").json)) == 2
    assert ids(member("2.83").get("/v2.1/servers?vm_state=stopped").json) == set()
    assert len(ids(member("2.83").get("/v2.1/servers?vm_state=active").json)) == 2


def test_update_hostname_and_answer(world: Apps) -> None:
    c = world.compute()
    server = boot(c)["id"]
    renamed = c.put(f"/v2.1/servers/{server}", {"server": {"hostname": "web-1"}})
    assert renamed.status == 200
    assert renamed.json["server"]["OS-EXT-SRV-ATTR:hostname"] == "web-1"
    assert renamed.json["server"]["server_groups"] == []  # 2.71
    assert "addresses" in renamed.json["server"]
    fqdn = c.put(f"/v2.1/servers/{server}", {"server": {"hostname": "web-1.example.org"}})
    assert fqdn.json["server"]["OS-EXT-SRV-ATTR:hostname"] == "web-1.example.org"
    before_fqdn = world.compute("2.93").put(
        f"/v2.1/servers/{server}", {"server": {"hostname": "web-1.example.org"}}
    )
    assert before_fqdn.status == 400 and "hostname" in before_fqdn.json["badRequest"]["message"]
    too_old = world.compute("2.89").put(f"/v2.1/servers/{server}", {"server": {"hostname": "x"}})
    assert too_old.status == 400
    assert "'hostname' unexpected" in too_old.json["badRequest"]["message"]
    bad = c.put(f"/v2.1/servers/{server}", {"server": {"hostname": "-bad-.example"}})
    assert bad.status == 400
    assert servers.get(world.db, server).hostname == "web-1.example.org"


def test_forced_live_migration_is_gone_at_2_68(world: Apps) -> None:
    c = world.compute()
    server = boot(c)["id"]
    body = {"os-migrateLive": {"host": "kvm-b", "block_migration": "auto", "force": True}}
    refused = c.post(f"/v2.1/servers/{server}/action", body)
    assert refused.status == 400
    assert "'force' unexpected" in refused.json["badRequest"]["message"]


def test_topology_and_image_precaching_are_refused_by_name(world: Apps) -> None:
    c = world.compute()
    server = boot(c)["id"]
    topology = c.get(f"/v2.1/servers/{server}/topology")
    assert topology.status == 400
    assert "topology" in topology.json["badRequest"]["message"]
    assert world.compute("2.77").get(f"/v2.1/servers/{server}/topology").status == 404
    assert c.get("/v2.1/servers/no-such/topology").status == 404
    aggregate = c.post("/v2.1/os-aggregates", {"aggregate": {"name": "a"}}).json["aggregate"]
    cache = c.post(f"/v2.1/os-aggregates/{aggregate['id']}/images", {"cache": [{"id": "x"}]})
    assert cache.status == 400 and "pre-caching" in cache.json["badRequest"]["message"]
