"""POST /reshaper (1.30): Nova's upgrade path that moves VGPU inventory, with the
allocations on it, from the compute node to one child provider per physical GPU."""

from __future__ import annotations

from typing import Any

import pytest

from virtfleet.placement.service import PlacementService
from virtfleet.placement.types import Inventory

from .conftest import CN1, CONSUMER, CONSUMER2, PROJECT, USER, Client, generation_of

PGPU0 = "90000000-0000-4000-8000-0000000000a0"
PGPU1 = "90000000-0000-4000-8000-0000000000a1"


@pytest.fixture
def vgpu_root(service: PlacementService) -> None:
    """cn1 with 8 VCPU and 4 VGPU on the root; two consumers with 1 VGPU each; two
    empty GPU children (as Nova's driver reports them before it reshapes)."""
    service.create_provider("cn1", uuid=CN1)
    service.set_inventories(CN1, 0, {"VCPU": Inventory(total=8), "VGPU": Inventory(total=4)})
    for consumer in (CONSUMER, CONSUMER2):
        service.replace_allocations(consumer, {CN1: {"VCPU": 2, "VGPU": 1}}, PROJECT, USER, None)
    service.create_provider("cn1_pgpu0", uuid=PGPU0, parent_uuid=CN1)
    service.create_provider("cn1_pgpu1", uuid=PGPU1, parent_uuid=CN1)


def _consumer(rp_vgpu: str, generation: int = 1, typed: bool = True) -> dict[str, Any]:
    found: dict[str, Any] = {
        "allocations": {
            CN1: {"resources": {"VCPU": 2}},
            rp_vgpu: {"resources": {"VGPU": 1}},
        },
        "project_id": PROJECT,
        "user_id": USER,
        "consumer_generation": generation,
    }
    if typed:  # consumer_type is required from 1.38 and unknown before
        found["consumer_type"] = "INSTANCE"
    return found


def _body(client: Client, typed: bool = True) -> dict[str, Any]:
    return {
        "inventories": {
            CN1: {
                "inventories": {"VCPU": {"total": 8}},
                "resource_provider_generation": generation_of(client, CN1),
            },
            PGPU0: {
                "inventories": {"VGPU": {"total": 2}},
                "resource_provider_generation": generation_of(client, PGPU0),
            },
            PGPU1: {
                "inventories": {"VGPU": {"total": 2}},
                "resource_provider_generation": generation_of(client, PGPU1),
            },
        },
        "allocations": {
            CONSUMER: _consumer(PGPU0, typed=typed),
            CONSUMER2: _consumer(PGPU1, typed=typed),
        },
    }


def _state(client: Client) -> dict[str, Any]:
    """Everything a reshape may change, to show that a failed one changed nothing."""
    return {
        "inventories": {
            rp: client.get(f"/resource_providers/{rp}/inventories").json
            for rp in (CN1, PGPU0, PGPU1)
        },
        "allocations": {c: client.get(f"/allocations/{c}").json for c in (CONSUMER, CONSUMER2)},
    }


def test_vgpu_inventory_moves_to_the_children_with_its_allocations(
    client: Client, vgpu_root: None
) -> None:
    before = generation_of(client, CN1)
    reply = client.post("/reshaper", _body(client))
    assert reply.status == 204, reply.text
    root = client.get(f"/resource_providers/{CN1}/inventories").json
    assert set(root["inventories"]) == {"VCPU"}
    assert root["resource_provider_generation"] > before
    for rp in (PGPU0, PGPU1):
        inventories = client.get(f"/resource_providers/{rp}/inventories").json["inventories"]
        assert inventories["VGPU"]["total"] == 2
    first = client.get(f"/allocations/{CONSUMER}").json
    assert {rp: a["resources"] for rp, a in first["allocations"].items()} == {
        CN1: {"VCPU": 2},
        PGPU0: {"VGPU": 1},
    }
    assert first["consumer_generation"] == 2
    assert first["consumer_type"] == "INSTANCE"
    assert client.get(f"/resource_providers/{PGPU1}/usages").json["usages"] == {"VGPU": 1}
    assert client.get(f"/resource_providers/{CN1}/usages").json["usages"] == {"VCPU": 4}
    # New VGPU requests land on the children, one left on each.
    reply = client.get("/allocation_candidates?resources=VCPU:1,VGPU:1")
    vgpu_providers = {
        rp
        for r in reply.json["allocation_requests"]
        for rp, a in r["allocations"].items()
        if "VGPU" in a["resources"]
    }
    assert vgpu_providers == {PGPU0, PGPU1}


def test_a_stale_provider_generation_is_409_and_nothing_moves(
    client: Client, vgpu_root: None
) -> None:
    body = _body(client)
    body["inventories"][PGPU1]["resource_provider_generation"] += 1
    before = _state(client)
    reply = client.post("/reshaper", body)
    assert reply.status == 409
    assert reply.error["code"] == "placement.concurrent_update"
    assert PGPU1 in reply.error["detail"]
    assert _state(client) == before


def test_a_stale_consumer_generation_is_409_and_nothing_moves(
    client: Client, vgpu_root: None
) -> None:
    body = _body(client)
    body["allocations"][CONSUMER2] = _consumer(PGPU1, generation=7)
    before = _state(client)
    reply = client.post("/reshaper", body)
    assert reply.status == 409
    assert reply.error["code"] == "placement.concurrent_update"
    assert _state(client) == before


def test_removing_a_class_still_in_use_is_409(client: Client, vgpu_root: None) -> None:
    body = _body(client)
    body["allocations"] = {}
    before = _state(client)
    reply = client.post("/reshaper", body)
    assert reply.status == 409
    assert reply.error["code"] == "placement.inventory.inuse"
    assert _state(client) == before


def test_allocations_that_do_not_fit_are_409(client: Client, vgpu_root: None) -> None:
    body = _body(client)
    body["inventories"][PGPU0]["inventories"]["VGPU"]["total"] = 1
    body["allocations"][CONSUMER2] = _consumer(PGPU0)
    before = _state(client)
    reply = client.post("/reshaper", body)
    assert reply.status == 409
    assert "capacity" in reply.error["detail"]
    assert _state(client) == before


def test_bad_input_is_400_and_old_versions_404(client: Client, vgpu_root: None) -> None:
    assert client.post("/reshaper", _body(client, typed=False), version="1.29").status == 404
    assert client.post("/reshaper", _body(client), version="1.30").status == 400
    unknown = _body(client)
    unknown["inventories"]["70000000-0000-4000-8000-000000000000"] = {
        "inventories": {},
        "resource_provider_generation": 0,
    }
    reply = client.post("/reshaper", unknown)
    assert reply.status == 400
    assert reply.error["code"] == "placement.resource_provider.not_found"
    missing = _body(client)
    del missing["allocations"]
    assert client.post("/reshaper", missing).status == 400
    no_class = _body(client)
    no_class["inventories"][PGPU0]["inventories"] = {"CUSTOM_NOPE": {"total": 1}}
    assert client.post("/reshaper", no_class).status == 400
    no_type = client.post("/reshaper", _body(client, typed=False), version="1.38")
    assert no_type.status == 400
    assert "consumer_type" in no_type.error["detail"]
    text = client.post(
        "/reshaper", raw=b"{}", headers={"Content-Type": "text/plain"}, version="1.30"
    )
    assert text.status == 415


def test_the_1_30_form_without_consumer_types(client: Client, vgpu_root: None) -> None:
    reply = client.post("/reshaper", _body(client, typed=False), version="1.30")
    assert reply.status == 204, reply.text
    assert client.get(f"/resource_providers/{PGPU0}/usages").json["usages"] == {"VGPU": 1}
