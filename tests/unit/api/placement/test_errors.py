"""The error body and the errors every endpoint shares."""

from __future__ import annotations

import pytest

from virtfleet.api.placement import errors

from .conftest import CN1, Client, Topology


def test_error_body_format(client: Client) -> None:
    reply = client.get("/resource_providers/d0000000-0000-4000-8000-00000000000d")
    assert reply.status == 404
    assert reply.headers["Content-Type"].startswith("application/json")
    error = reply.error
    assert set(error) == {"status", "title", "detail", "code", "request_id"}
    assert error["status"] == 404
    assert error["title"] == "Not Found"
    assert error["request_id"].startswith("req-")
    assert error["request_id"] == reply.headers["X-OpenStack-Request-Id"]


def test_code_appears_from_1_23(client: Client) -> None:
    path = "/resource_providers/d0000000-0000-4000-8000-00000000000d"
    assert "code" not in client.get(path, version="1.22").error
    assert "code" in client.get(path, version="1.23").error


def test_unknown_path_is_404_and_wrong_method_405(client: Client) -> None:
    assert client.get("/nothing_here").status == 404
    assert client.get("/nothing_here").error["code"] == errors.DEFAULT
    reply = client.request("PATCH", "/resource_providers")
    assert reply.status == 405
    assert reply.headers["Allow"] == "GET, POST"
    assert client.post(f"/resource_providers/{CN1}/usages", {}).status == 405


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/resource_providers"),
        ("PUT", f"/resource_providers/{CN1}"),
        ("PUT", f"/resource_providers/{CN1}/inventories"),
        ("PUT", f"/resource_providers/{CN1}/traits"),
        ("PUT", "/allocations/a0000000-0000-4000-8000-00000000000a"),
        ("POST", "/allocations"),
        ("POST", "/resource_classes"),
    ],
)
def test_malformed_json_is_400(
    client: Client, one_compute: Topology, method: str, path: str
) -> None:
    for raw in (b"{not json", b"", b"\xff\xfe"):
        reply = client.request(method, path, raw=raw)
        assert reply.status == 400, (path, raw)
        assert "Malformed request body" in reply.error["detail"]


def test_wrong_content_type_is_415(client: Client) -> None:
    reply = client.request(
        "POST", "/resource_providers", raw=b'{"name": "x"}', headers={"Content-Type": "text/plain"}
    )
    assert reply.status == 415
    assert "text/plain" in reply.error["detail"]


def test_codes_are_the_published_strings() -> None:
    assert {
        "placement.undefined_code",
        "placement.inventory.inuse",
        "placement.concurrent_update",
        "placement.duplicate_name",
        "placement.resource_provider.inuse",
        "placement.resource_provider.cannot_delete_parent",
        "placement.resource_provider.not_found",
        "placement.query.duplicate_key",
        "placement.query.bad_value",
        "placement.query.missing_value",
    } == errors.CODES


def test_every_route_answers_a_bad_version_with_406(client: Client) -> None:
    from virtfleet.api.placement.routes import ROUTES

    for method, template, _, _ in ROUTES:
        path = template.format(uuid=CN1, resource_class="VCPU", name="CUSTOM_X", consumer_uuid=CN1)
        reply = client.request(method, path, version="1.99")
        assert reply.status == 406, (method, path)
