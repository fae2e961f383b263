"""Server groups, scheduler hints, aggregates with availability zones, and operator
traits, through the real ``openstack`` CLI on one simulated three-host cloud, with
placement usage checked on every host. Each CLI process runs several commands
(``CLI.session``): the CLI's start-up is most of a command's time."""

from __future__ import annotations

import time
from typing import Any

import pytest

from support.clouds import EmbeddedView
from support.openstack_cli import CLI
from support.plugin import StartSimCloud
from virtfleet.cli import clouds
from virtfleet.cli.apiclient import APIError

FLEET = """
defaults: {virt_type: kvm, cpus: 8, memory_mb: 16384, disk_gb: 100, arch: x86_64}
hosts:
  - {name: sched-a}
  - {name: sched-b}
  - {name: sched-c}
"""
HOSTS = ("sched-a", "sched-b", "sched-c")
ZERO = {"VCPU": 0, "MEMORY_MB": 0, "DISK_GB": 0}
SMALL = {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}
VERSION = ("--os-compute-api-version", "2.96")


class Cloud:
    def __init__(self, view: EmbeddedView, cli: CLI) -> None:
        self.view = view
        self.cli = cli

    def session(self, *commands: str) -> list[Any]:
        documents, stderr = self.cli.session(*commands)
        assert len(documents) == len(commands), stderr
        return documents

    def usages(self) -> dict[str, dict[str, int]]:
        found = {}
        for hypervisor in self.view.client.compute("GET", "/os-hypervisors")["hypervisors"]:
            reply = self.view.client.request(
                "GET",
                f"/placement/resource_providers/{hypervisor['id']}/usages",
                headers={"OpenStack-API-Version": "placement 1.9"},
            )
            found[hypervisor["hypervisor_hostname"]] = {
                k: int(reply["usages"].get(k, 0)) for k in ZERO
            }
        return found

    def server(self, uuid: str) -> dict[str, Any]:
        shown: dict[str, Any] = self.view.client.request(
            "GET",
            f"/compute/v2.1/servers/{uuid}",
            headers={"OpenStack-API-Version": "compute 2.96"},
        )["server"]
        return shown

    def boot(self, *commands: str) -> list[dict[str, Any]]:
        """Run ``server create`` commands in one CLI process; each server once it
        is ACTIVE or ERROR (polled on the API: the CLI's --wait polls slowly)."""
        return [self.settle(s["id"]) for s in self.session(*commands)]

    def settle(self, uuid: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            shown = self.server(uuid)
            if shown["status"] in ("ACTIVE", "ERROR"):
                return shown
            assert time.monotonic() < deadline, shown
            time.sleep(0.1)

    def delete_all(self) -> None:
        for server in self.view.client.compute("GET", "/servers")["servers"]:
            self.view.client.compute("DELETE", f"/servers/{server['id']}")
        deadline = time.monotonic() + 30
        while self.view.client.compute("GET", "/servers")["servers"]:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert self.usages() == dict.fromkeys(HOSTS, ZERO)


def create(name: str, *extra: str) -> str:
    return " ".join(
        ("server create --flavor sched.small --image sched-image -f json", *extra, name)
    )


@pytest.fixture(scope="module")
def cloud(start_sim_cloud: StartSimCloud, tmp_path_factory: pytest.TempPathFactory) -> Cloud:
    view = start_sim_cloud(FLEET, hosts=3)
    clouds_yaml = tmp_path_factory.mktemp("sched-cli") / "clouds.yaml"
    clouds.write_entry(
        clouds_yaml, {**clouds.noauth_entry(view.endpoint), "compute_api_version": "2.96"}
    )
    found = Cloud(view, CLI(clouds_yaml, []))
    view.client.compute(
        "POST", "/flavors",
        {"flavor": {"name": "sched.small", "vcpus": 1, "ram": 512, "disk": 1}},
    )  # fmt: skip
    view.client.create_image("sched-image", b"\0" * 65536, {"hw_architecture": "x86_64"})
    return found


def test_anti_affinity_spreads_three_and_refuses_a_fourth_naming_the_policy(
    cloud: Cloud,
) -> None:
    (group,) = cloud.session("server group create --policy anti-affinity -f json ha")
    assert group["policy"] == "anti-affinity"
    hint = f"--hint group={group['id']}"
    made = cloud.boot(*(create(f"ha-{i}", hint) for i in range(3)))
    assert sorted(s["OS-EXT-SRV-ATTR:host"] for s in made) == list(HOSTS)
    assert cloud.usages() == dict.fromkeys(HOSTS, SMALL)

    (refused,) = cloud.boot(create("ha-3", hint))
    assert refused["status"] == "ERROR"
    message = refused["fault"]["message"]
    assert "server group ha (policy anti-affinity)" in message, message
    assert "3 of 3 hosts already hold 1 member" in message, message
    assert cloud.usages() == dict.fromkeys(HOSTS, SMALL)  # the refused boot holds nothing

    shown, listed = cloud.session(
        f"server group show -f json {group['id']}",
        "server group list -f json",
    )
    assert sorted(shown["members"]) == sorted(s["id"] for s in made)  # not ha-3
    assert [g["Name"] for g in listed] == ["ha"]
    cloud.delete_all()
    documents, stderr = cloud.cli.session(
        f"server group delete {group['id']}", "server group list -f json"
    )
    assert documents == [[]], stderr


def test_affinity_keeps_members_together_and_hard_rules_hold_on_the_api(cloud: Cloud) -> None:
    (group,) = cloud.session("server group create --policy affinity -f json pack")
    hint = f"--hint group={group['id']}"
    made = cloud.boot(*(create(f"pack-{i}", hint) for i in range(3)))
    hosts = {s["OS-EXT-SRV-ATTR:host"] for s in made}
    assert len(hosts) == 1
    (host,) = hosts
    expected = {h: ({k: 3 * v for k, v in SMALL.items()} if h == host else ZERO) for h in HOSTS}
    assert cloud.usages() == expected
    shown = cloud.server(made[0]["id"])
    assert shown["server_groups"] == [group["id"]]
    cloud.delete_all()

    # max_server_per_host (2.64): two per host on three hosts is six servers
    (spread,) = cloud.session(
        "server group create --policy anti-affinity "
        "--rule max_server_per_host=2 -f json two-per-host"
    )
    assert spread["rules"] == {"max_server_per_host": 2}
    hint = f"--hint group={spread['id']}"
    made = cloud.boot(*(create(f"two-{i}", hint) for i in range(4)))
    placed = [s["OS-EXT-SRV-ATTR:host"] for s in made]
    assert max(placed.count(h) for h in HOSTS) <= 2
    cloud.delete_all()


def live_migrate(cloud: Cloud, uuid: str, host: str, version: str, force: bool) -> Any:
    body: dict[str, Any] = {"host": host, "block_migration": "auto"}
    if force:
        body["force"] = True
    return cloud.view.client.request(
        "POST", f"/compute/v2.1/servers/{uuid}/action", {"os-migrateLive": body},
        headers={"OpenStack-API-Version": f"compute {version}"},
    )  # fmt: skip


def test_forced_moves_keep_the_group_policy_or_are_refused_with_the_reason(cloud: Cloud) -> None:
    (group,) = cloud.session("server group create --policy anti-affinity -f json spread")
    hint = f"--hint group={group['id']}"
    first, second = cloud.boot(*(create(f"spread-{i}", hint) for i in range(2)))
    taken = second["OS-EXT-SRV-ATTR:host"]
    (free,) = set(HOSTS) - {first["OS-EXT-SRV-ATTR:host"], taken}
    before = cloud.usages()
    # forced (2.30-2.67: the scheduler is bypassed in Nova) onto the other member's host
    with pytest.raises(APIError) as refused:
        live_migrate(cloud, first["id"], taken, "2.30", force=True)
    assert refused.value.status == 400, refused.value
    wanted = (
        "Migration pre-check error: server group spread (policy anti-affinity) "
        f"forbids host {taken}"
    )
    assert wanted in str(refused.value), refused.value
    # the CLI's live migration and cold migration to a named host: the same answer
    for command in (("--live-migration", "--host", taken), ("--host", taken)):
        result = cloud.cli.run(*VERSION, "server", "migrate", *command, first["id"], check=False)
        assert result.returncode != 0 and wanted in result.stderr, result.stderr
    shown = cloud.server(first["id"])
    assert (shown["status"], shown["OS-EXT-STS:task_state"]) == ("ACTIVE", None)
    assert cloud.usages() == before  # nothing was claimed
    (events,) = cloud.session(f"server event list -f json {first['id']}")
    assert [e["Action"] for e in events] == ["create"]  # refused before any action began

    # forced onto a host the policy allows: it moves
    live_migrate(cloud, first["id"], free, "2.30", force=True)
    deadline = time.monotonic() + 30
    while (moved := cloud.server(first["id"]))["OS-EXT-STS:task_state"] is not None:
        assert time.monotonic() < deadline, moved
        time.sleep(0.1)
    assert (moved["status"], moved["OS-EXT-SRV-ATTR:host"]) == ("ACTIVE", free)
    assert cloud.usages() == {h: (SMALL if h in (free, taken) else ZERO) for h in HOSTS}
    cloud.delete_all()

    # affinity: a member forced away from the others is refused, naming where they are
    (pack,) = cloud.session("server group create --policy affinity -f json duo")
    one, two = cloud.boot(*(create(f"duo-{i}", f"--hint group={pack['id']}") for i in range(2)))
    home = one["OS-EXT-SRV-ATTR:host"]
    away = next(h for h in HOSTS if h != home)
    with pytest.raises(APIError) as refused:
        live_migrate(cloud, two["id"], away, "2.67", force=True)
    assert refused.value.status == 400
    assert f"server group duo (policy affinity) keeps its members on {home}, not {away}" in str(
        refused.value
    ), refused.value
    assert cloud.server(two["id"])["OS-EXT-SRV-ATTR:host"] == home
    cloud.delete_all()
    documents, stderr = cloud.cli.session(
        f"server group delete {group['id']}",
        f"server group delete {pack['id']}",
        "server group list -f json",
    )
    assert {g["Name"] for g in documents[-1]} & {"spread", "duo"} == set(), stderr


def test_unknown_scheduler_hints_are_refused_naming_the_hint(cloud: Cloud) -> None:
    result = cloud.cli.run(
        *VERSION, "server", "create", "--flavor", "sched.small", "--image", "sched-image",
        "--hint", "query=[\">=\",\"$free_ram_mb\",1024]", "hinted", check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "Unknown scheduler hint(s) query" in result.stderr, result.stderr
    assert cloud.view.client.compute("GET", "/servers")["servers"] == []
    with pytest.raises(APIError) as refused:
        cloud.view.client.compute(
            "POST", "/servers",
            {"server": {"name": "x", "flavorRef": "sched.small", "imageRef": "x"},
             "os:scheduler_hints": {"same_host": "not-a-uuid"}},
        )  # fmt: skip
    assert refused.value.status == 400


def test_operator_traits_survive_the_agents_refresh(cloud: Cloud) -> None:
    hypervisor = next(
        h for h in cloud.view.client.compute("GET", "/os-hypervisors")["hypervisors"]
        if h["hypervisor_hostname"] == "sched-a"
    )  # fmt: skip
    provider = hypervisor["id"]
    (before,) = cloud.session(f"resource provider trait list -f json {provider}")
    reported = {t["name"] for t in before}
    traits = " ".join(f"--trait {t}" for t in sorted(reported | {"CUSTOM_RACK_7"}))
    _, stderr = cloud.cli.session(
        "trait create CUSTOM_RACK_7", f"resource provider trait set {traits} -f json {provider}"
    )
    assert "CUSTOM_RACK_7" in {t["name"] for t in cloud.session(
        f"resource provider trait list -f json {provider}")[0]}, stderr  # fmt: skip
    cloud.view.agent("sched-a").refresh()  # the agent's periodic report
    (after,) = cloud.session(f"resource provider trait list -f json {provider}")
    assert {t["name"] for t in after} == reported | {"CUSTOM_RACK_7"}


def test_aggregates_and_zones_steer_boots_and_errors_name_the_problem(cloud: Cloud) -> None:
    made, zones, every = cloud.session(
        "aggregate create --zone az1 --property filter_tenant_id=p-gold -f json rack1",
        "availability zone list --compute -f json",
        "availability zone list -f json",  # compute, network, share and volume zones
    )
    aggregate = made["id"]
    assert made["availability_zone"] == "az1"
    assert {z["Zone Name"] for z in zones} == {"nova", "az1"}
    assert every == zones  # no volumes here, so no volume zones (and no error)
    added, shown, listed, zones = cloud.session(
        f"aggregate add host -f json {aggregate} sched-b",
        f"aggregate show -f json {aggregate}",
        "aggregate list --long -f json",
        "availability zone list --compute --long -f json",
    )
    assert added["hosts"] == ["sched-b"] and shown["properties"] == {"filter_tenant_id": "p-gold"}
    assert [a["Availability Zone"] for a in listed] == ["az1"]
    assert {(z["Zone Name"], z["Host Name"]) for z in zones} >= {
        ("az1", "sched-b"), ("nova", "sched-a"), ("nova", "sched-c")
    }  # fmt: skip
    # placement mirrors the aggregate on the host's provider
    hypervisors = cloud.view.client.compute("GET", "/os-hypervisors")["hypervisors"]
    uuid_of = {h["hypervisor_hostname"]: h["id"] for h in hypervisors}
    mirrored = cloud.view.client.request(
        "GET", f"/placement/resource_providers/{uuid_of['sched-b']}/aggregates",
        headers={"OpenStack-API-Version": "placement 1.19"},
    )["aggregates"]  # fmt: skip
    aggregate_uuid = cloud.view.client.request(
        "GET", f"/compute/v2.1/os-aggregates/{aggregate}",
        headers={"OpenStack-API-Version": "compute 2.41"},
    )["aggregate"]["uuid"]  # fmt: skip
    assert mirrored == [aggregate_uuid]

    in_zone, in_nova = cloud.boot(
        create("zoned", "--availability-zone az1"), create("default", "--availability-zone nova")
    )
    assert in_zone["OS-EXT-SRV-ATTR:host"] == "sched-b"
    assert in_zone["OS-EXT-AZ:availability_zone"] == "az1"
    assert in_nova["OS-EXT-SRV-ATTR:host"] in ("sched-a", "sched-c")
    (forced,) = cloud.boot(create("forced", "--availability-zone az1:sched-b"))
    assert forced["OS-EXT-SRV-ATTR:host"] == "sched-b"

    result = cloud.cli.run(
        "server", "create", "--flavor", "sched.small", "--image", "sched-image",
        "--availability-zone", "az9", "nozone", check=False,
    )  # fmt: skip
    assert result.returncode != 0 and "zone 'az9' does not exist" in result.stderr
    client = cloud.view.client
    for method, path, body, status, wanted in (
        ("POST", f"/os-aggregates/{aggregate}/action", {"add_host": {"host": "sched-b"}},
         409, "already a member"),
        ("POST", f"/os-aggregates/{aggregate}/action", {"add_host": {"host": "ghost"}},
         404, "ghost"),
        ("POST", f"/os-aggregates/{aggregate}/action", {"remove_host": {"host": "sched-a"}},
         404, "not a member"),
        ("POST", f"/os-aggregates/{aggregate}/action", {"grow": {}}, 400, "unknown aggregate"),
        ("POST", "/os-aggregates", {"aggregate": {"name": "rack1"}}, 409, "already exists"),
        ("POST", "/os-aggregates", {"aggregate": {"name": "r", "availability_zone": "a:b"}},
         400, "no ':'"),
        ("DELETE", f"/os-aggregates/{aggregate}", None, 400, "still has hosts"),
        ("GET", "/os-aggregates/999", None, 404, "Aggregate 999 could not be found"),
    ):  # fmt: skip
        with pytest.raises(APIError) as refused:
            client.compute(method, path, body)
        assert refused.value.status == status and wanted in str(refused.value), refused.value
    member = {"X-Roles": "member", "X-Project-Id": "p-gold"}
    with pytest.raises(APIError) as refused:
        client.request("GET", "/compute/v2.1/os-aggregates", headers=member)
    assert refused.value.status == 403
    with pytest.raises(APIError) as refused:  # forcing a host is for admins
        client.request(
            "POST", "/compute/v2.1/servers",
            {"server": {"name": "f", "flavorRef": "sched.small", "imageRef": "x",
                        "availability_zone": "az1:sched-b"}},
            headers=member,
        )  # fmt: skip
    assert refused.value.status in (400, 403)
    cloud.delete_all()
    documents, stderr = cloud.cli.session(
        f"aggregate remove host -f json {aggregate} sched-b",
        f"aggregate unset --property filter_tenant_id -f json {aggregate}",
        f"aggregate delete {aggregate}",
        "aggregate list -f json",
    )
    assert documents[-1] == [], stderr
    assert cloud.view.client.request(
        "GET", f"/placement/resource_providers/{uuid_of['sched-b']}/aggregates",
        headers={"OpenStack-API-Version": "placement 1.19"},
    )["aggregates"] == []  # fmt: skip
