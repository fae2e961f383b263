"""A live-migrating maxphysaddr guest only moves to a host that could have booted it:
the destination is chosen by the scheduler from the server's own flavor and image, so
the address-space trait and the host-bits filter apply, also to a named host."""

from __future__ import annotations

import time
from typing import Any

from support.fleet_cloud import FleetCloud
from virtfleet.db import migration_records

EMULATE_42 = {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "42"}
CAN_RUN_42 = {"bits46", "bits52", "passthrough"}


def migrate(fleet: FleetCloud, uuid: str, host: str | None) -> migration_records.Migration:
    """Start a live migration and wait until it and the server's task end; its record."""
    reply = fleet.call(
        "POST",
        f"/compute/v2.1/servers/{uuid}/action",
        {"os-migrateLive": {"host": host, "block_migration": "auto"}},
        microversion="2.96",
    )
    assert reply.status == 202, reply.body
    deadline = time.monotonic() + 60
    while True:
        (record,) = migration_records.list_migrations(fleet.control.db, instance_uuid=uuid)[:1]
        if not record.in_progress and show(fleet, uuid)["status"] != "MIGRATING":
            return record
        assert time.monotonic() < deadline, f"migration still {record.status}"
        time.sleep(0.05)


def show(fleet: FleetCloud, uuid: str) -> dict[str, Any]:
    return dict(fleet.call("GET", f"/compute/v2.1/servers/{uuid}").body["server"])


def test_live_migration_destinations_satisfy_maxphysaddr(fleet: FleetCloud) -> None:
    image_id = fleet.image("img-lm")
    assert fleet.flavor("lm-42", 1024, EMULATE_42).status == 200
    server = fleet.boot("lm-1", "lm-42", image_id)
    uuid = server["id"]
    try:
        source = server["OS-EXT-SRV-ATTR:host"]
        assert source in CAN_RUN_42
        for refused_host in ("bits39", "no-bits", "old-libvirt"):
            record = migrate(fleet, uuid, refused_host)
            assert record.status == migration_records.ERROR, record
            assert record.error is not None
            shown = show(fleet, uuid)
            assert (shown["status"], shown["OS-EXT-SRV-ATTR:host"]) == ("ACTIVE", source)
            assert fleet.control.placement.get_consumer_allocations(record.uuid).allocations == {}
        reasons = {
            r.dest_compute: r.error
            for r in migration_records.list_migrations(fleet.control.db, instance_uuid=uuid)
        }
        assert "have fewer than 42 physical address bits" in str(reasons["bits39"])
        assert "report no physical address bits" in str(reasons["no-bits"])
        assert "COMPUTE_ADDRESS_SPACE_EMULATED" in str(reasons["old-libvirt"])

        record = migrate(fleet, uuid, None)  # the scheduler picks
        assert record.status == migration_records.COMPLETED, record.error
        moved = show(fleet, uuid)
        assert moved["OS-EXT-SRV-ATTR:host"] in CAN_RUN_42 - {source}
        assert '<maxphysaddr mode="emulate" bits="42"/>' in fleet.domain_xml(uuid)
    finally:
        fleet.delete_server(uuid)
