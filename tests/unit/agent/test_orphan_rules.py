"""The rules without a cloud: when a host counts as down, which domains the agent
owns, when an orphan's files must stay, and malformed conductor replies."""

from __future__ import annotations

import dataclasses
import datetime
import pathlib

import pytest

from virtfleet import errors
from virtfleet.agent import orphans
from virtfleet.agent.orphans import Orphan
from virtfleet.agent.rpcapi import CONDUCTOR_SERVER, CONDUCTOR_TOPIC, ConductorClient
from virtfleet.db.hosts import HostRecord
from virtfleet.objects.rpc_results import OrphanDomain
from virtfleet.rpc.transport import LocalTransport
from virtfleet.virt.libvirt import migration as policy
from virtfleet.virt.libvirt.config.domain import METADATA_NS

NOW = datetime.datetime(2026, 1, 1, 12, 0, tzinfo=datetime.UTC)
UUID = "0b6f4e3c-5a9e-4f0e-9d52-3c1f1a2b3c4d"


def record(state: str = "up", age: float = 0.0) -> HostRecord:
    return HostRecord(
        id=1, uuid="u", host="h", hypervisor_type="QEMU", hypervisor_version=1,
        hypervisor_hostname="h", vcpus=1, memory_mb=1, local_gb=1, cpu_info={},
        state=state,  # type: ignore[arg-type]  # Literal from a parameter
        status="enabled", updated_at=NOW - datetime.timedelta(seconds=age),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("state", "age", "down_after", "down"),
    [
        ("up", 10, 60, False),
        ("up", 61, 60, True),
        ("down", 0, 60, True),  # marked: down whatever its age
        ("up", 10_000, 0, False),  # 0: only the mark counts
    ],
)
def test_host_is_down_when_marked_or_silent_too_long(
    state: str, age: float, down_after: float, down: bool
) -> None:
    assert record(state, age).is_down(down_after, now=NOW) is down


def domain_xml(uuid: str, meta_uuid: str | None, instance_dir: str | None) -> str:
    meta = ""
    if meta_uuid is not None:
        directory = f"<vf:instance-dir>{instance_dir}</vf:instance-dir>" if instance_dir else ""
        meta = (
            f"<metadata><vf:instance xmlns:vf='{METADATA_NS}'><vf:uuid>{meta_uuid}</vf:uuid>"
            f"{directory}</vf:instance></metadata>"
        )
    return f"<domain type='qemu'><name>vf-{uuid}</name><uuid>{uuid}</uuid>{meta}</domain>"


@dataclasses.dataclass
class XmlDriver:
    xml: dict[str, str]
    destroyed: list[tuple[str, bool]] = dataclasses.field(default_factory=list)

    def list_instance_uuids(self) -> list[str]:
        return sorted(self.xml)

    def get_domain_xml(self, instance_uuid: str) -> str:
        if instance_uuid not in self.xml:
            raise errors.NotFound(instance_uuid)
        return self.xml[instance_uuid]

    def get_power_state(self, instance_uuid: str) -> str:
        self.get_domain_xml(instance_uuid)
        return "running"

    def destroy(self, instance_uuid: str, remove_files: bool = True) -> None:
        self.destroyed.append((instance_uuid, remove_files))
        self.xml.pop(instance_uuid, None)


def test_owned_domains_need_metadata_of_their_own_uuid_under_the_instances_path() -> None:
    base = "/srv/vf/instances"
    ids = [f"00000000-0000-4000-8000-00000000000{i}" for i in range(5)]
    driver = XmlDriver(
        {
            ids[0]: domain_xml(ids[0], ids[0], f"{base}/{ids[0]}"),  # ours
            ids[1]: domain_xml(ids[1], None, None),  # no metadata
            ids[2]: domain_xml(ids[2], ids[0], f"{base}/{ids[2]}"),  # someone else's uuid
            ids[3]: domain_xml(ids[3], ids[3], f"/elsewhere/{ids[3]}"),  # not our path
            ids[4]: "<domain><name>vf-x</name>",  # unreadable
        }
    )
    assert orphans.owned_domains(driver, base) == {ids[0]: f"{base}/{ids[0]}"}
    assert orphans.owned_domains(driver, base + "-other") == {}


def test_files_stay_when_shared_or_marked_by_another_hosts_migration(
    tmp_path: pathlib.Path,
) -> None:
    directory = tmp_path / UUID
    directory.mkdir()
    deleted = Orphan(UUID, "deleted", own_migrations=("m-here",))
    never_asked = lambda host: pytest.fail(f"asked {host} about shared storage")  # noqa: E731
    assert orphans.why_keep_files(deleted, str(directory), never_asked) is None

    policy.mark_prepared(str(directory), "m-here")  # a migration to this very host
    assert orphans.why_keep_files(deleted, str(directory), never_asked) is None
    policy.mark_prepared(str(directory), "m-there")  # one that prepared it for another
    reason = orphans.why_keep_files(deleted, str(directory), never_asked)
    assert reason is not None and "m-there" in reason

    fresh = tmp_path / "fresh" / UUID
    fresh.mkdir(parents=True)
    elsewhere = Orphan(UUID, "elsewhere", recorded_host="b")
    for shared, kept in ((False, False), (True, True)):
        reason = orphans.why_keep_files(elsewhere, str(fresh), lambda host, s=shared: s)
        assert (reason is not None) is kept, (shared, reason)
    with pytest.raises(orphans.SharingUnknownError, match="cannot ask b"):
        orphans.why_keep_files(elsewhere, str(fresh), lambda host: None)

    not_an_instance_dir = orphans.why_keep_files(deleted, str(tmp_path), never_asked)
    assert not_an_instance_dir is not None and "not named after" in not_an_instance_dir


def test_reap_removes_files_only_when_allowed_and_skips_vanished_domains(
    tmp_path: pathlib.Path,
) -> None:
    base = str(tmp_path)
    other = "11111111-2222-4333-8444-555555555555"
    driver = XmlDriver({UUID: domain_xml(UUID, UUID, f"{base}/{UUID}")})
    owned = {UUID: f"{base}/{UUID}", other: f"{base}/{other}"}  # other vanished meanwhile
    found = [
        Orphan(UUID, "elsewhere", recorded_host="b"),
        Orphan(other, "deleted"),
        Orphan("not-asked", "deleted"),
    ]
    handled = orphans.handle_orphans("a", orphans.REAP, driver, owned, found, lambda h: True)
    assert handled == [UUID]
    assert driver.destroyed == [(UUID, False)]  # shared with b: only the domain

    driver = XmlDriver({UUID: domain_xml(UUID, UUID, f"{base}/{UUID}")})
    found = [Orphan(UUID, "elsewhere", recorded_host="b")]
    unreachable = orphans.handle_orphans("a", orphans.REAP, driver, owned, found, lambda h: None)
    assert unreachable == [] and driver.destroyed == []  # asked again at the next report


def test_a_domain_of_an_unknown_server_is_only_warned_about(tmp_path: pathlib.Path) -> None:
    driver = XmlDriver({UUID: domain_xml(UUID, UUID, f"{tmp_path}/{UUID}")})
    owned = {UUID: f"{tmp_path}/{UUID}"}
    found = [Orphan(UUID, "unknown")]
    handled = orphans.handle_orphans("a", orphans.REAP, driver, owned, found, lambda h: True)
    assert handled == [UUID] and driver.destroyed == []


class NonListConductor:
    def orphan_domains(self, host: str, instance_uuids: list[str]) -> dict[str, str]:
        return {"uuid": UUID}


def test_malformed_replies_are_refused() -> None:
    transport = LocalTransport()
    transport.serve(CONDUCTOR_TOPIC, CONDUCTOR_SERVER, NonListConductor())
    try:
        with pytest.raises(errors.RPCError, match="answered a dict, expected list"):
            ConductorClient(transport).orphan_domains("a", [UUID])
    finally:
        transport.close()
    with pytest.raises(ValueError, match="bored"):
        OrphanDomain(uuid=UUID, reason="bored")
    parsed = orphans.as_orphans([Orphan(UUID, "deleted", own_migrations=("m",)).as_object()])
    assert parsed == [Orphan(UUID, "deleted", own_migrations=("m",))]
