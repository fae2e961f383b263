"""The compute nodes repository: upsert, lookups, up/down, enabled/disabled."""

from __future__ import annotations

import dataclasses
import datetime

import pytest

from virtfleet import errors
from virtfleet.db import hosts
from virtfleet.db.engine import Database


@dataclasses.dataclass
class Facts:
    host: str = "kvm-1"
    hypervisor_hostname: str = "kvm-1.example"
    hypervisor_type: str = "QEMU"
    hypervisor_version: int = 8_002_000
    vcpus: int = 32
    memory_mb: int = 65536
    local_gb: int = 500


CPU_INFO = {"arch": "x86_64", "native_arches": ["x86_64", "i686"], "maxphysaddr_bits": 46}


def test_first_report_creates_an_up_enabled_host(db: Database) -> None:
    record = hosts.upsert_host(db, Facts(), CPU_INFO)
    assert record.host == "kvm-1"
    assert record.uuid == hosts.host_uuid("kvm-1")
    assert (record.state, record.status, record.is_usable) == ("up", "enabled", True)
    assert record.cpu_info == CPU_INFO
    assert record.updated_at.tzinfo is not None
    assert hosts.get_host(db, record.id) == record
    assert hosts.get_host_by_uuid(db, record.uuid) == record
    assert hosts.get_host_by_name(db, "kvm-1") == record


def test_host_uuid_is_stable_and_distinct_per_name() -> None:
    assert hosts.host_uuid("a") == hosts.host_uuid("a")
    assert hosts.host_uuid("a") != hosts.host_uuid("b")


def test_second_report_updates_in_place(db: Database) -> None:
    first = hosts.upsert_host(db, Facts(), CPU_INFO)
    second = hosts.upsert_host(db, Facts(vcpus=64, memory_mb=1024), {"arch": "x86_64"})
    assert (second.id, second.uuid) == (first.id, first.uuid)
    assert (second.vcpus, second.memory_mb, second.cpu_info) == (64, 1024, {"arch": "x86_64"})
    assert second.updated_at >= first.updated_at
    assert [h.host for h in hosts.list_hosts(db)] == ["kvm-1"]


def test_list_hosts_in_id_order(db: Database) -> None:
    for name in ("c", "a", "b"):
        hosts.upsert_host(db, Facts(host=name))
    assert [h.host for h in hosts.list_hosts(db)] == ["c", "a", "b"]


@pytest.mark.parametrize(
    ("lookup", "value", "message"),
    [
        (hosts.get_host, 42, "compute node id 42 does not exist"),
        (hosts.get_host_by_uuid, "nope", "compute node uuid 'nope' does not exist"),
        (hosts.get_host_by_name, "ghost", "compute node host 'ghost' does not exist"),
    ],
)
def test_lookup_of_unknown_host_is_not_found(
    db: Database, lookup: object, value: object, message: str
) -> None:
    with pytest.raises(errors.NotFound, match=message):
        lookup(db, value)  # type: ignore[operator]


def test_mark_down_by_name_and_report_brings_it_back(db: Database) -> None:
    hosts.upsert_host(db, Facts())
    assert hosts.mark_down(db, host="kvm-1") == ["kvm-1"]
    assert hosts.get_host_by_name(db, "kvm-1").state == "down"
    assert not hosts.get_host_by_name(db, "kvm-1").is_usable
    assert hosts.mark_down(db, host="kvm-1") == []  # already down
    assert hosts.upsert_host(db, Facts()).state == "up"


def test_mark_down_stale_hosts_only(db: Database) -> None:
    hosts.upsert_host(db, Facts(host="old"))
    cutoff = datetime.datetime.now(datetime.UTC)
    hosts.upsert_host(db, Facts(host="fresh"))
    assert hosts.mark_down(db, older_than=cutoff) == ["old"]
    assert {h.host: h.state for h in hosts.list_hosts(db)} == {"old": "down", "fresh": "up"}


def test_mark_down_needs_exactly_one_selector(db: Database) -> None:
    with pytest.raises(errors.InvalidInput):
        hosts.mark_down(db)
    with pytest.raises(errors.InvalidInput):
        hosts.mark_down(db, host="a", older_than=datetime.datetime.now(datetime.UTC))


def test_disable_survives_reports_and_enable_clears_reason(db: Database) -> None:
    hosts.upsert_host(db, Facts())
    disabled = hosts.set_status(db, "kvm-1", "disabled", "maintenance")
    assert (disabled.status, disabled.disabled_reason) == ("disabled", "maintenance")
    assert hosts.upsert_host(db, Facts()).status == "disabled"
    enabled = hosts.set_status(db, "kvm-1", "enabled", "ignored")
    assert (enabled.status, enabled.disabled_reason) == ("enabled", None)


def test_set_status_rejects_bad_values_and_unknown_hosts(db: Database) -> None:
    hosts.upsert_host(db, Facts())
    with pytest.raises(errors.InvalidInput, match="'off'"):
        hosts.set_status(db, "kvm-1", "off")  # type: ignore[arg-type]
    with pytest.raises(errors.NotFound, match="ghost"):
        hosts.set_status(db, "ghost", "disabled")


def test_delete_host(db: Database) -> None:
    hosts.upsert_host(db, Facts())
    hosts.delete_host(db, "kvm-1")
    assert hosts.list_hosts(db) == []
    with pytest.raises(errors.NotFound):
        hosts.delete_host(db, "kvm-1")
