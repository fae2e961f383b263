"""The conductor's answer to "which of my domains should not be here": from the
servers, hosts and migration records alone."""

from __future__ import annotations

import types
import uuid as uuidlib

import pytest

from virtfleet import errors
from virtfleet.conductor.orphans import find_orphans
from virtfleet.db import hosts, servers
from virtfleet.db import migration_records as records
from virtfleet.db.engine import Database
from virtfleet.objects.guest_request import GuestRequest


def add_host(db: Database, name: str, hostname: str | None = None) -> None:
    report = types.SimpleNamespace(
        host=name, hypervisor_hostname=hostname or name, hypervisor_type="QEMU",
        hypervisor_version=1, vcpus=4, memory_mb=4096, local_gb=10,
    )  # fmt: skip
    hosts.upsert_host(db, report, {})


def add_server(db: Database, host: str | None, **fields: object) -> str:
    server = servers.create(
        db,
        guest_request=GuestRequest(),
        name="s",
        flavor={},
        image_ref="i",
        image={},
        project_id="p",
        user_id="u",
    )
    values: dict[str, object] = {"host": host, "vm_state": "active", "task_state": None}
    servers.update(db, server.uuid, **{**values, **fields})
    return server.uuid


def migrate(db: Database, uuid: str, source: str, dest: str, status: str) -> str:
    record = records.create(
        db, instance_uuid=uuid, source_compute=source, source_node=source,
        dest_compute=dest, project_id="p", user_id="u",
    )  # fmt: skip
    records.update(db, record.id, status=status)
    return record.uuid


@pytest.fixture
def fleet(db: Database) -> Database:
    records.ensure_table(db)
    for name in ("a", "b", "c"):
        add_host(db, name)
    return db


def reasons(db: Database, host: str, uuids: list[str]) -> dict[str, tuple[str, str | None]]:
    return {o.uuid: (o.reason, o.recorded_host) for o in find_orphans(db, host, uuids)}


def test_deleted_unknown_and_elsewhere_are_orphans_here_is_not(fleet: Database) -> None:
    here = add_server(fleet, "a")
    deleted = add_server(fleet, "a")
    servers.delete(fleet, deleted)
    elsewhere = add_server(fleet, "b")
    nowhere = add_server(fleet, None)
    unknown = str(uuidlib.uuid4())

    found = reasons(fleet, "a", [here, deleted, elsewhere, nowhere, unknown])

    assert found == {
        deleted: ("deleted", None),
        elsewhere: ("elsewhere", "b"),
        nowhere: ("elsewhere", None),
        unknown: ("unknown", None),
    }


def test_a_migration_in_progress_protects_the_guest_on_both_sides_only(fleet: Database) -> None:
    uuid = add_server(fleet, "a")
    migrate(fleet, uuid, "a", "b", records.RUNNING)
    assert reasons(fleet, "b", [uuid]) == {}  # the destination
    assert reasons(fleet, "c", [uuid]) == {uuid: ("elsewhere", "a")}  # not involved

    moved = add_server(fleet, "b")  # recorded on b, migrating back from b to a
    migrate(fleet, moved, "b", "a", records.PREPARING)
    assert reasons(fleet, "a", [moved]) == {}


def test_ended_migrations_do_not_protect_and_own_markers_are_named(fleet: Database) -> None:
    uuid = add_server(fleet, "a")
    failed = migrate(fleet, uuid, "a", "b", records.FAILED)
    later = migrate(fleet, uuid, "a", "c", records.CANCELLED)
    (orphan,) = find_orphans(fleet, "b", [uuid])
    assert (orphan.reason, orphan.own_migrations) == ("elsewhere", (failed,))
    (on_c,) = find_orphans(fleet, "c", [uuid])
    assert on_c.own_migrations == (later,)


def test_a_server_still_migrating_or_on_the_same_machine_is_left_alone(fleet: Database) -> None:
    settling = add_server(fleet, "a", task_state="migrating")  # completed, not yet moved
    assert reasons(fleet, "b", [settling]) == {}
    add_host(fleet, "twin", hostname="a")  # a second agent on a's hypervisor
    assert reasons(fleet, "twin", [add_server(fleet, "a")]) == {}


def test_the_asking_host_must_be_named(fleet: Database) -> None:
    with pytest.raises(errors.InvalidInput, match="host"):
        find_orphans(fleet, "", [str(uuidlib.uuid4())])


def test_a_host_that_never_reported_is_down(fleet: Database) -> None:
    assert hosts.host_is_down(fleet, "never-seen", 60)
    assert not hosts.host_is_down(fleet, "a", 60)
    hosts.mark_down(fleet, host="a")
    assert hosts.host_is_down(fleet, "a", 60)
