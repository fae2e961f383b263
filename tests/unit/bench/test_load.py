"""The bulk loader leaves what the PlacementService's own writes would leave."""

from __future__ import annotations

import pathlib
from typing import Any

from virtfleet.bench import load
from virtfleet.bench.fleet import Fleet, generate
from virtfleet.bench.runner import create_schema
from virtfleet.db import hosts as host_db
from virtfleet.db.engine import Database
from virtfleet.placement.service import PlacementService


def _through_the_service(svc: PlacementService, fleet: Fleet) -> None:
    for rc in fleet.custom_resource_classes:
        svc.ensure_resource_class(rc)
    for trait in fleet.custom_traits:
        svc.ensure_trait(trait)
    for p in fleet.providers():
        generation = svc.create_provider(p.name, p.uuid, p.parent_uuid).generation
        if p.inventories:
            generation = svc.set_inventories(p.uuid, generation, p.inventories)
        if p.traits:
            svc.set_provider_traits(p.uuid, generation, p.traits)
    for c in fleet.consumers():
        svc.replace_allocations(c.uuid, c.allocations, c.project_id, c.user_id, None)


def _state(svc: PlacementService, fleet: Fleet) -> dict[str, Any]:
    providers = {p.uuid: (p.name, p.parent_uuid, p.root_uuid) for p in svc.list_providers()}
    return {
        "providers": providers,
        "inventories": {u: svc.get_inventories(u)[1] for u in providers},
        "traits": {u: svc.get_provider_traits(u)[1] for u in providers},
        "usages": {u: svc.provider_usages(u)[1] for u in providers},
        "consumers": {
            c.uuid: {
                rp: dict(a.resources)
                for rp, a in svc.get_consumer_allocations(c.uuid).allocations.items()
            }
            for c in fleet.consumers()
        },
        "classes": svc.list_resource_classes(),
        "custom_traits": svc.list_traits("startswith:CUSTOM_"),
    }


def _database(path: pathlib.Path) -> Database:
    db = Database(f"sqlite:///{path}")
    create_schema(db)
    return db


def test_bulk_load_equals_loading_through_the_service(tmp_path: pathlib.Path) -> None:
    fleet = generate(30, seed=5)
    bulk_db, api_db = _database(tmp_path / "bulk.sqlite"), _database(tmp_path / "api.sqlite")
    load.load_fleet(bulk_db, fleet)
    _through_the_service(PlacementService(api_db), fleet)

    bulk = _state(PlacementService(bulk_db), fleet)
    assert len(bulk["providers"]) == len(fleet.providers())
    assert any(bulk["usages"].values())
    assert bulk == _state(PlacementService(api_db), fleet)


def test_every_host_has_a_compute_node_record_named_after_its_root(
    tmp_path: pathlib.Path,
) -> None:
    fleet = generate(20)
    db = _database(tmp_path / "bulk.sqlite")
    load.load_fleet(db, fleet)
    records = {r.uuid: r for r in host_db.list_hosts(db)}
    assert set(records) == {h.uuid for h in fleet.hosts}
    for host in fleet.hosts:
        assert host.uuid == host_db.host_uuid(host.name)
        assert records[host.uuid].is_usable
        info = records[host.uuid].cpu_info
        assert info["arch"] == host.arch
        assert set(info["machine_types"]) == {*info["native_arches"], *host.emulates}
        assert set(info["emulated_arches"]) == set(host.emulates)
