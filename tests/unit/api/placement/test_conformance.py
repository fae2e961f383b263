"""Behaviours where the Placement reference answers differently from what a reader
might guess: each test pins the reference's answer."""

from __future__ import annotations

import json

import webob

from virtfleet.placement.service import PlacementService

from .conftest import CN1, CN2, CONSUMER, Client, Topology, allocate, generation_of

INV = f"/resource_providers/{CN1}/inventories"
AC = "/allocation_candidates"


def test_post_inventory_needs_no_generation(client: Client, one_compute: Topology) -> None:
    reply = client.post(INV, {"resource_class": "DISK_GB", "total": 100})
    assert reply.status == 201, reply.text
    assert reply.json["total"] == 100
    stale = client.post(
        INV, {"resource_class": "VGPU", "total": 1, "resource_provider_generation": 0}
    )
    assert stale.status == 409
    assert stale.error["code"] == "placement.concurrent_update"
    missing = client.post(INV, {"resource_class": "VGPU"})
    assert missing.status == 400
    assert "total" in missing.error["detail"]


def test_lowering_inventory_in_use_is_allowed(
    client: Client, service: PlacementService, one_compute: Topology
) -> None:
    allocate(service, CONSUMER, CN1, VCPU=6)
    body = {
        "resource_provider_generation": generation_of(client, CN1),
        "inventories": {"VCPU": {"total": 4}, "MEMORY_MB": {"total": 4096}},
    }
    reply = client.put(INV, body)
    assert reply.status == 200, reply.text
    assert client.get(f"/resource_providers/{CN1}/usages").json["usages"]["VCPU"] == 6
    assert client.get(f"{AC}?resources=VCPU:1").json["allocation_requests"] == []
    body = {
        "resource_provider_generation": generation_of(client, CN1),
        "inventories": {"MEMORY_MB": {"total": 4096}},
    }
    removed = client.put(INV, body)
    assert removed.status == 409
    assert removed.error["code"] == "placement.inventory.inuse"


def test_delete_all_inventories_before_1_5_is_405(client: Client, one_compute: Topology) -> None:
    assert client.delete(INV, version="1.4").status == 405
    assert client.get(INV).json["inventories"]


def test_rename_a_custom_class_by_put_before_1_7(
    client: Client, service: PlacementService, one_compute: Topology
) -> None:
    service.ensure_resource_class("CUSTOM_OLD")
    generation = generation_of(client, CN1)
    client.post(INV, {"resource_class": "CUSTOM_OLD", "total": 4})
    allocate(service, CONSUMER, CN1, CUSTOM_OLD=1)
    assert client.get(f"{AC}?resources=CUSTOM_OLD:1").json["allocation_requests"]
    reply = client.put("/resource_classes/CUSTOM_OLD", {"name": "CUSTOM_NEW"}, version="1.6")
    assert reply.status == 200, reply.text
    assert reply.json["name"] == "CUSTOM_NEW"
    assert client.get("/resource_classes/CUSTOM_OLD", version="1.6").status == 404
    assert client.get(f"{INV}/CUSTOM_NEW").json["total"] == 4
    allocations = client.get(f"/allocations/{CONSUMER}").json["allocations"]
    assert allocations[CN1]["resources"] == {"CUSTOM_NEW": 1}
    (request,) = client.get(f"{AC}?resources=CUSTOM_NEW:1").json["allocation_requests"]
    assert request["allocations"] == {CN1: {"resources": {"CUSTOM_NEW": 1}}}
    assert generation_of(client, CN1) > generation
    standard = client.put("/resource_classes/VCPU", {"name": "CUSTOM_CPU"}, version="1.6")
    assert standard.status == 400
    service.ensure_resource_class("CUSTOM_OTHER")
    taken = client.put("/resource_classes/CUSTOM_NEW", {"name": "CUSTOM_OTHER"}, version="1.6")
    assert taken.status == 409
    gone = client.put("/resource_classes/CUSTOM_GONE", {"name": "CUSTOM_X"}, version="1.6")
    assert gone.status == 404


def test_repeated_query_parameters(client: Client, two_computes: Topology) -> None:
    both = f"{AC}?resources=VCPU:1&required=HW_ARCH_X86_64&required=HW_ARCH_AARCH64"
    # From 1.39 repeated `required` are ANDed: no host has both arches.
    assert client.get(both).json["allocation_requests"] == []
    # Before 1.39 the last one counts (upstream's behaviour).
    old = client.get(both, version="1.38").json["allocation_requests"]
    assert [list(r["allocations"]) for r in old] == [[CN2]]
    agg_a = "ad000000-0000-4000-8000-00000000000a"
    agg_b = "ad000000-0000-4000-8000-00000000000b"
    body = {
        "aggregates": [agg_a, agg_b],
        "resource_provider_generation": generation_of(client, CN2),
    }
    client.put(f"/resource_providers/{CN2}/aggregates", body)
    repeated = f"{AC}?resources=VCPU:1&member_of={agg_a}&member_of=in:{agg_b},{agg_a}"
    assert client.get(repeated, version="1.23").status == 400
    found = client.get(repeated, version="1.24").json["allocation_requests"]
    assert [list(r["allocations"]) for r in found] == [[CN2]]


def test_content_negotiation(client: Client, one_compute: Topology) -> None:
    html = client.get(f"/resource_providers/{CN1}", headers={"Accept": "text/html"})
    assert html.status == 406
    assert "application/json" in html.error["detail"]
    assert "min_version" not in html.error  # only a microversion 406 names the range
    anything = client.get(f"/resource_providers/{CN1}", headers={"Accept": "*/*"})
    assert anything.status == 200
    bare = webob.Request.blank("/resource_providers", method="POST", script_name="/placement")
    bare.headers["OpenStack-API-Version"] = "placement 1.39"
    bare.body = b'{"name": "y"}'
    answer = bare.get_response(client.app)
    assert answer.status_int == 415
    assert "None" in json.loads(answer.text)["errors"][0]["detail"]
    assert client.get("/resource_providers?name=y").json["resource_providers"] == []


def test_microversion_error_wording(client: Client) -> None:
    too_new = client.get("/resource_providers", version="1.99")
    assert too_new.status == 406
    assert too_new.error["detail"] == "Invalid microversion: Unacceptable version header: 1.99"
    bad = client.get("/resource_providers", version="one.two")
    assert bad.status == 400
    assert bad.error["detail"] == "Invalid microversion: invalid version string: one.two"


def test_cache_headers_on_every_kind_of_read(client: Client, one_compute: Topology) -> None:
    for path in (f"/resource_providers/{CN1}", INV, f"{AC}?resources=VCPU:1", "/traits"):
        reply = client.get(path)
        assert reply.headers["Cache-Control"] == "no-cache", path
        assert reply.headers["Last-Modified"].endswith("GMT"), path
    for path in (f"/resource_providers/{CN1}", INV, f"{AC}?resources=VCPU:1"):
        assert "Last-Modified" not in client.get(path, version="1.14").headers, path
