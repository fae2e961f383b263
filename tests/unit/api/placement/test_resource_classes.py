"""/resource_classes[/{name}]."""

from __future__ import annotations

from virtfleet.placement.service import PlacementService
from virtfleet.placement.types import Inventory

from .conftest import CN1, Client, Topology


def test_list_has_standard_classes_with_links(client: Client) -> None:
    classes = client.get("/resource_classes").json["resource_classes"]
    names = [c["name"] for c in classes]
    assert {"VCPU", "MEMORY_MB", "DISK_GB"} <= set(names)
    vcpu = next(c for c in classes if c["name"] == "VCPU")
    assert vcpu["links"] == [{"rel": "self", "href": "/placement/resource_classes/VCPU"}]


def test_post_creates_custom_class(client: Client) -> None:
    reply = client.post("/resource_classes", {"name": "CUSTOM_SLICE_4"})
    assert reply.status == 201
    assert reply.headers["Location"].endswith("/placement/resource_classes/CUSTOM_SLICE_4")
    assert client.get("/resource_classes/CUSTOM_SLICE_4").json["name"] == "CUSTOM_SLICE_4"
    again = client.post("/resource_classes", {"name": "CUSTOM_SLICE_4"})
    assert again.status == 409
    assert "CUSTOM_SLICE_4" in again.error["detail"]


def test_post_refuses_non_custom_names(client: Client) -> None:
    for name in ("VCPU", "SLICE", "CUSTOM_lower", ""):
        assert client.post("/resource_classes", {"name": name}).status == 400, name


def test_put_is_create_or_verify_from_1_7(client: Client) -> None:
    assert client.put("/resource_classes/CUSTOM_X", version="1.7").status == 201
    assert client.put("/resource_classes/CUSTOM_X", version="1.7").status == 204
    assert client.put("/resource_classes/VCPU", version="1.7").status == 400


def test_put_before_1_7_is_a_rename(client: Client) -> None:
    """(Inventories and allocations following it: test_conformance.)"""
    client.post("/resource_classes", {"name": "CUSTOM_OLD"})
    reply = client.put("/resource_classes/CUSTOM_OLD", {"name": "CUSTOM_NEW"}, version="1.6")
    assert reply.status == 200
    assert reply.json["name"] == "CUSTOM_NEW"
    assert client.put("/resource_classes/CUSTOM_NEW", {"name": "VCPU"}, version="1.6").status == 400


def test_show_unknown_is_404(client: Client) -> None:
    assert client.get("/resource_classes/CUSTOM_NOPE").status == 404


def test_delete(client: Client, service: PlacementService, one_compute: Topology) -> None:
    client.post("/resource_classes", {"name": "CUSTOM_GONE"})
    assert client.delete("/resource_classes/CUSTOM_GONE").status == 204
    assert client.delete("/resource_classes/CUSTOM_GONE").status == 404
    assert client.delete("/resource_classes/VCPU").status == 400
    client.post("/resource_classes", {"name": "CUSTOM_USED"})
    generation, _ = service.get_inventories(CN1)
    service.set_inventory(CN1, generation, "CUSTOM_USED", Inventory(total=1))
    assert client.delete("/resource_classes/CUSTOM_USED").status == 409


def test_resource_classes_need_1_2(client: Client) -> None:
    assert client.get("/resource_classes", version="1.1").status == 404
    assert client.post("/resource_classes", {"name": "CUSTOM_A"}, version="1.1").status == 404
