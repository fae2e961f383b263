"""Cold migration and resize between simulated hosts whose agents have instances paths
of their own: the destination pulls the kept root disk from the source's one-time
HTTP offer (size and SHA-256 checked), revert starts the guest again from the
source's kept disk, confirm removes it; a disk that arrives other than offered, or
an offer that cannot be made, rolls the move back with nothing left on the
destination. The transfer's own rules (one GET, the token, the checksum) are
checked on the module's functions."""

from __future__ import annotations

import hashlib
import os
import pathlib
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from support.harness import make_cloud
from virtfleet import errors
from virtfleet.agent import disk_transfer
from virtfleet.db import migration_records as records
from virtfleet.db import servers
from virtfleet.db.base import Base
from virtfleet.db.engine import Database
from virtfleet.db.models import metadata
from virtfleet.objects.rpc_results import DiskOffer

CONTENT = b"root disk of the guest " * 1000


@pytest.fixture
def fleet(tmp_path: pathlib.Path) -> Iterator[Any]:
    """The harness cloud: its agents have instances paths of their own."""
    metadata()
    db = Database(f"sqlite:///{tmp_path / 'test.sqlite'}")
    Base.metadata.create_all(db.engine)
    built = make_cloud(tmp_path, db)
    yield built
    built.stop()


def other(host: str) -> str:
    return "small" if host == "big" else "big"


def boot_with_disk(fleet: Any) -> servers.Server:
    server = fleet.boot()
    disk = os.path.join(fleet.drivers[server.host].instance_dir(server.uuid), "disk")
    pathlib.Path(disk).write_bytes(CONTENT)  # what the guest wrote
    return server


def cold_migrate(fleet: Any, uuid: str, host: str) -> records.Migration:
    servers.update(fleet.db, uuid, task_state="resize_prep")
    started = fleet.conductor.cold_moves.start(uuid, host)
    fleet.conductor.drain(60)
    return records.get(fleet.db, started.id)


def leftovers(fleet: Any, host: str, uuid: str) -> list[str]:
    """The guest's directories in ``host``'s instances path."""
    root = os.path.dirname(fleet.drivers[host].instance_dir(uuid))
    return sorted(name for name in os.listdir(root) if name.startswith(uuid))


def test_the_destination_pulls_the_disk_then_confirm_drops_the_source(fleet: Any) -> None:
    server = boot_with_disk(fleet)
    source, dest = server.host, other(server.host)
    done = cold_migrate(fleet, server.uuid, dest)
    assert (done.status, done.error) == ("finished", None)
    moved = servers.get(fleet.db, server.uuid)
    assert (moved.host, moved.vm_state) == (dest, "resized")
    dest_dir = fleet.drivers[dest].instance_dir(server.uuid)
    assert pathlib.Path(dest_dir, "disk").read_bytes() == CONTENT  # pulled, not shared
    assert leftovers(fleet, dest, server.uuid) == [server.uuid]  # no "_incoming" left
    assert leftovers(fleet, source, server.uuid) == [f"{server.uuid}_resize"]
    assert fleet.drivers[dest].get_power_state(server.uuid) == "running"

    servers.update(fleet.db, server.uuid, task_state="resize_confirming")
    fleet.conductor.cold_moves.confirm(server.uuid)
    fleet.conductor.drain(60)
    assert records.get(fleet.db, done.id).status == "confirmed"
    assert leftovers(fleet, source, server.uuid) == []
    assert fleet.usages(source) == {}


def test_revert_starts_the_guest_again_from_the_sources_kept_disk(fleet: Any) -> None:
    server = boot_with_disk(fleet)
    source, dest = server.host, other(server.host)
    done = cold_migrate(fleet, server.uuid, dest)
    assert done.status == "finished", done.error
    servers.update(fleet.db, server.uuid, task_state="resize_reverting")
    fleet.conductor.cold_moves.revert(server.uuid)
    fleet.conductor.drain(60)
    assert records.get(fleet.db, done.id).status == "reverted"
    back = servers.get(fleet.db, server.uuid)
    assert (back.host, back.vm_state) == (source, "active")
    source_dir = fleet.drivers[source].instance_dir(server.uuid)
    assert pathlib.Path(source_dir, "disk").read_bytes() == CONTENT
    assert leftovers(fleet, dest, server.uuid) == []
    assert leftovers(fleet, source, server.uuid) == [server.uuid]
    assert fleet.usages(dest) == {}


def assert_rolled_back(fleet: Any, server: servers.Server, done: records.Migration) -> None:
    source, dest = server.host, other(server.host)
    assert done.status == "error"
    back = servers.get(fleet.db, server.uuid)
    assert (back.host, back.vm_state, back.task_state) == (source, "active", None)
    assert fleet.drivers[source].get_power_state(server.uuid) == "running"
    source_dir = fleet.drivers[source].instance_dir(server.uuid)
    assert pathlib.Path(source_dir, "disk").read_bytes() == CONTENT
    assert server.uuid not in fleet.drivers[dest].list_instance_uuids()
    assert leftovers(fleet, dest, server.uuid) == []
    assert leftovers(fleet, source, server.uuid) == [server.uuid]
    assert fleet.usages(dest) == {}
    assert fleet.usages(source)


def test_a_disk_that_arrives_other_than_offered_rolls_the_move_back(
    fleet: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = boot_with_disk(fleet)
    real = disk_transfer.checksum
    monkeypatch.setattr(disk_transfer, "checksum", lambda path: (real(path)[0], "0" * 64))
    done = cold_migrate(fleet, server.uuid, other(server.host))
    assert "SHA-256" in (done.error or ""), done.error
    assert_rolled_back(fleet, server, done)


def test_an_offer_the_source_cannot_make_rolls_the_move_back(fleet: Any) -> None:
    server = boot_with_disk(fleet)
    source = server.host
    # the source's listener address is not one of this machine's
    fleet.agents[source].conf.set_override("disk_transfer_address", "192.0.2.1", "libvirt")
    done = cold_migrate(fleet, server.uuid, other(source))
    assert "cannot listen on 192.0.2.1" in (done.error or ""), done.error
    assert_rolled_back(fleet, server, done)


# -- the transfer itself --------------------------------------------------------------


def test_an_offer_serves_one_get_with_its_token(tmp_path: pathlib.Path) -> None:
    source = tmp_path / "disk"
    source.write_bytes(CONTENT)
    offered = disk_transfer.offer(str(source), "127.0.0.1", 0, 30)
    assert offered.size == len(CONTENT)
    assert offered.sha256 == hashlib.sha256(CONTENT).hexdigest()
    target = tmp_path / "pulled"
    disk_transfer.fetch(offered, str(target), 10)
    assert target.read_bytes() == CONTENT
    with pytest.raises(errors.HypervisorError, match="disk transfer from"):
        disk_transfer.fetch(offered, str(tmp_path / "again"), 2)  # served once only
    assert not (tmp_path / "again").exists()


def test_a_wrong_token_is_refused_and_withdraws_the_offer(tmp_path: pathlib.Path) -> None:
    source = tmp_path / "disk"
    source.write_bytes(CONTENT)
    offered = disk_transfer.offer(str(source), "127.0.0.1", 0, 30)
    guess = DiskOffer(url=offered.url, token="guess", size=offered.size, sha256=offered.sha256)
    with pytest.raises(errors.HypervisorError, match="403"):
        disk_transfer.fetch(guess, str(tmp_path / "stolen"), 10)
    assert not (tmp_path / "stolen").exists()
    with pytest.raises(errors.HypervisorError):  # the right token comes too late
        disk_transfer.fetch(offered, str(tmp_path / "late"), 2)


def test_an_offer_nobody_takes_closes_after_its_lifetime(tmp_path: pathlib.Path) -> None:
    source = tmp_path / "disk"
    source.write_bytes(CONTENT)
    before = {t.name for t in threading.enumerate()}
    offered = disk_transfer.offer(str(source), "127.0.0.1", 0, 0.5)
    port = offered.url.rsplit(":", 1)[1].split("/")[0]
    thread = next(t for t in threading.enumerate() if t.name == f"disk-transfer-{port}")
    assert thread.name not in before
    thread.join(10)
    assert not thread.is_alive()
    with pytest.raises(OSError):
        urllib.request.urlopen(offered.url, timeout=2)
    with pytest.raises(errors.NotFound):
        disk_transfer.offer(str(tmp_path / "missing"), "127.0.0.1", 0, 1)
