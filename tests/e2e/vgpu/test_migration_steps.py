"""The mdev steps of live migration as units: XML rewrite, type check, the upgrade
pin, claims across an agent restart, and two claims racing for the last mdev."""

from __future__ import annotations

import datetime
import pathlib
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import update

from support.vgpu_cloud import MDEV_TYPE, TRAIT, fleet_text, make_vgpu_cloud, restart_agent
from virtfleet import conf as vconf
from virtfleet import errors
from virtfleet.agent.mdev.assign import guest_mdev_uuids, mdevs_in_use
from virtfleet.agent.mdev.host import VgpuHost, rewrite_mdev_uuids, unsupported_types
from virtfleet.agent.mdev.providers import GpuProvider
from virtfleet.conductor.moves.mdev import pinned_refusal
from virtfleet.db import mdev_claims
from virtfleet.db import migration_records as records
from virtfleet.db.engine import Database
from virtfleet.db.models.mdev_claims import MdevClaim as ClaimRow
from virtfleet.objects.migrate_data import LibvirtLiveMigrateData

SRC = "11111111-1111-4111-8111-111111111111"
DST = "22222222-2222-4222-8222-222222222222"
XML = f"""<domain type="kvm"><name>g</name><devices>
<hostdev mode="subsystem" type="mdev" model="vfio-pci">
<source><address uuid="{SRC}"/></source></hostdev>
<disk type="file"><source file="/x"/></disk></devices></domain>"""


def data(
    migration: str = "aaaaaaaa-0000-4000-8000-00000000000a", **fields: Any
) -> LibvirtLiveMigrateData:
    return LibvirtLiveMigrateData(
        migration_uuid=migration,
        instance_uuid="aaaaaaaa-0000-4000-8000-00000000000b",
        source_host="vgpu-1",
        dest_host="vgpu-2",
        **fields,
    )


def test_rewrite_replaces_every_mdev_uuid_and_nothing_else() -> None:
    rewritten = rewrite_mdev_uuids(XML, {SRC: DST})
    assert guest_mdev_uuids(rewritten) == (DST,)
    assert SRC not in rewritten and "/x" in rewritten


def test_rewrite_without_a_mapping_aborts() -> None:
    with pytest.raises(
        errors.InvalidInput, match=f"no destination mdev for {SRC}: migration aborted"
    ):
        rewrite_mdev_uuids(XML, {})


def test_rewrite_of_a_guest_without_mdevs_is_the_identity() -> None:
    plain = "<domain><devices/></domain>"
    assert rewrite_mdev_uuids(plain, {}) == plain


def test_type_check_names_what_the_destination_lacks() -> None:
    gpus = [GpuProvider("h", "pci_0000_3b_00_0", "0000:3b:00.0", "nvidia-223", 4)]
    assert unsupported_types({SRC: "nvidia-222", DST: "nvidia-223"}, gpus) == ["nvidia-222"]
    assert unsupported_types({SRC: "nvidia-223"}, gpus) == []


@pytest.mark.parametrize(
    ("pin", "refused"), [(None, False), ("1.1", False), ("1.0", True), ("zed", True)]
)
def test_upgrade_pin_refuses_mdev_guests_below_1_1(pin: str | None, refused: bool) -> None:
    conf = vconf.make_conf(upgrade_levels__compute=pin)
    message = pinned_refusal(conf, data(source_mdev_types={SRC: MDEV_TYPE}))
    assert (message is not None) == refused
    if message:
        assert "host vgpu-2 is pinned to compute object version" in message
    assert pinned_refusal(conf, data()) is None  # a guest without mdevs goes anywhere


@pytest.fixture
def cloud(tmp_path: pathlib.Path, db: Database) -> Iterator[Any]:
    built = make_vgpu_cloud(tmp_path, db, fleet_text(per_gpu=1))
    yield built
    built.stop()


def running_migration(cloud: Any) -> str:
    """The uuid of a migration record the control plane has in progress."""
    created = records.create(
        cloud.db,
        instance_uuid="aaaaaaaa-0000-4000-8000-00000000000b",
        source_compute="vgpu-1",
        source_node="vgpu-1",
        project_id="p",
        user_id="u",
    )
    return records.update(cloud.db, created.id, status="running").uuid


def test_claims_survive_an_agent_restart_without_leak_or_double_assignment(cloud: Any) -> None:
    # in progress as far as the control plane knows (agents reap claims of ended ones)
    incoming = data(running_migration(cloud), source_mdev_types={SRC: MDEV_TYPE})
    mapping = cloud.agents["vgpu-2"].vgpus.claim_destination(incoming)
    (claimed,) = mapping.values()
    restart_agent(cloud, "vgpu-2")  # the agent dies mid-migration and comes back
    vgpus: VgpuHost = cloud.agents["vgpu-2"].vgpus
    assert vgpus.store.claimed() == {claimed}  # fresh and unused: not reaped
    assert vgpus.claim_destination(incoming) == mapping  # pre_live_migration again: same
    # a boot may land on vgpu-2 (placement has room) but never gets the claimed mdev
    guest = cloud.boot(**{"resources:VGPU": "1", f"trait:{TRAIT}": "required"})
    if guest.host == "vgpu-2":
        assert claimed not in guest_mdev_uuids(cloud.conductor.get_domain_xml(guest.uuid))
    # another migration gets another mdev, or is refused when none is left
    try:
        other = vgpus.claim_destination(data("aaaaaaaa-0000-4000-8000-00000000000c",
                                             source_mdev_types={SRC: MDEV_TYPE}))  # fmt: skip
        assert claimed not in other.values()
    except errors.InvalidInput as exc:
        assert "not enough free mdevs of type nvidia-222" in str(exc)
    # the migration never finishes: its claim goes stale and the next start reaps it
    long_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
    with cloud.db.write() as conn:
        conn.execute(
            update(ClaimRow).where(ClaimRow.migration_uuid == incoming.migration_uuid)
            .values(created_at=long_ago)
        )  # fmt: skip
    restart_agent(cloud, "vgpu-2")
    assert mdev_claims.for_migration(cloud.db, incoming.migration_uuid) == []


def test_reaper_releases_a_claim_whose_guest_already_runs_here(cloud: Any) -> None:
    guest = cloud.boot(**{"resources:VGPU": "1", f"trait:{TRAIT}": "required"})
    (mdev,) = guest_mdev_uuids(cloud.conductor.get_domain_xml(guest.uuid))
    assert mdevs_in_use(cloud.drivers[guest.host].connection) == {mdev: guest.uuid}
    mdev_claims.claim(cloud.db, guest.host, guest.uuid, "done", {SRC: mdev}, {})
    assert cloud.agents[guest.host].vgpus.reap_stale() == ["done"]
    assert mdev_claims.list_claims(cloud.db) == []


def test_two_claims_racing_for_the_last_mdev_one_wins(cloud: Any) -> None:
    # vgpu-2 has 2 GPUs x 1 mdev; one is taken by a guest already, one is left. Two
    # agents' views (no shared lock, as after a restart or with two workers) race.
    cloud.agents["vgpu-2"].vgpus.claim_destination(
        data("aaaaaaaa-0000-4000-8000-0000000000f0", source_mdev_types={SRC: MDEV_TYPE})
    )
    agent = cloud.agents["vgpu-2"]
    views = [VgpuHost(agent.vgpus.conn, agent.conf, "vgpu-2", agent.vgpus.store) for _ in (1, 2)]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def race(view: VgpuHost, migration: str) -> None:
        barrier.wait()
        try:
            view.claim_destination(data(migration, source_mdev_types={SRC: MDEV_TYPE}))
            outcomes.append("won")
        except errors.InvalidInput:
            outcomes.append("refused")

    threads = [
        threading.Thread(target=race, args=(v, f"aaaaaaaa-0000-4000-8000-00000000000{i}"))
        for i, v in enumerate(views, start=1)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["refused", "won"]
    held = [c.mdev_uuid for c in mdev_claims.list_claims(cloud.db, "vgpu-2")]
    assert len(held) == len(set(held)) == 2
