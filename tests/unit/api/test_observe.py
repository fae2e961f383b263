"""The observing middleware: request ids on every answer and in the request's log
lines, and each request counted by route template and status."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

import pytest
import webob

from virtfleet.api.observe import observed
from virtfleet.api.wsgi import (
    HTTPError,
    PrefixDispatcher,
    Request,
    Route,
    Router,
    StartResponse,
    WSGIEnviron,
    json_response,
)
from virtfleet.observability import logs, metrics, request_id

LOG = logging.getLogger("test.observe")


def _thing(req: Request, thing_id: str) -> webob.Response:
    """A thing, with the id the handler saw and logged under."""
    LOG.warning("showing %s", thing_id)
    return json_response({"id": thing_id, "request": req.request_id})


def _render(req: Request, error: HTTPError) -> webob.Response:
    return json_response({"message": error.message}, error.status)


def _refuse(environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
    """As auth_token answers: a 401 of its own, before any router."""
    start_response("401 Unauthorized", [("Content-Type", "text/plain")])
    return [b"no token"]


APP = observed(
    PrefixDispatcher(
        {
            "widgets": Router([Route("GET", "/things/{thing_id}", _thing, "w:show")], _render),
            "locked": _refuse,
        },
        root=Router([], _render),
    )
)


def call(path: str, method: str = "GET", **headers: str) -> webob.Response:
    return Request.blank(path, method=method, headers=headers).get_response(APP)


def count(method: str, route: str, status: str) -> float:
    value = metrics.REGISTRY.get_sample_value(
        "virtfleet_api_request_duration_seconds_count",
        {"method": method, "route": route, "status": status},
    )
    return value or 0.0


def test_every_answer_gets_a_new_request_id_that_the_handler_sees() -> None:
    first, second = call("/widgets/things/a"), call("/widgets/things/a")
    rid = first.headers["x-openstack-request-id"]
    assert request_id.is_valid(rid)
    assert first.json["request"] == rid
    assert second.headers["x-openstack-request-id"] != rid


def test_a_clients_well_formed_request_id_is_kept() -> None:
    mine = f"req-{uuid.uuid4()}"
    reply = call("/widgets/things/a", **{"X-OpenStack-Request-ID": mine})
    assert reply.headers["x-openstack-request-id"] == mine
    assert reply.json["request"] == mine


@pytest.mark.parametrize(  # fixed ids: every pytest-xdist worker collects the same tests
    "given",
    [
        "hello",
        "req-6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b-extra",
        "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b",
    ],
)
def test_a_malformed_client_request_id_is_replaced(given: str) -> None:
    reply = call("/widgets/things/a", **{"X-OpenStack-Request-ID": given})
    rid = reply.headers["x-openstack-request-id"]
    assert rid != given and request_id.is_valid(rid)
    assert reply.status_int == 200


def test_answers_made_before_any_router_carry_the_id_too() -> None:
    mine = f"req-{uuid.uuid4()}"
    reply = call("/locked/anything", **{"X-OpenStack-Request-ID": mine})
    assert reply.status_int == 401
    assert reply.headers.getall("x-openstack-request-id") == [mine]


def test_the_requests_log_lines_carry_its_id(caplog: pytest.LogCaptureFixture) -> None:
    caplog.handler.addFilter(logs.RequestIdFilter())
    mine = f"req-{uuid.uuid4()}"
    with caplog.at_level(logging.WARNING, logger="test.observe"):
        call("/widgets/things/b", **{"X-OpenStack-Request-ID": mine})
        LOG.warning("after the request")
    during, after = (r for r in caplog.records if r.name == "test.observe")
    assert (during.getMessage(), getattr(during, "request_id", None)) == ("showing b", mine)
    assert getattr(after, "request_id", None) == "-"
    assert request_id.current() is None


def test_requests_are_counted_by_route_template_method_and_status() -> None:
    template = "/widgets/things/{thing_id}"
    before = {
        "ok": count("GET", template, "200"),
        "405": count("OTHER", "unmatched", "405"),
        "404": count("GET", "unmatched", "404"),
        "401": count("GET", "unmatched", "401"),
    }
    for name in ("x", "y", "z"):  # three ids, one template
        assert call(f"/widgets/things/{name}").status_int == 200
    assert call("/widgets/things/x", method="BREW").status_int == 405
    assert call("/nowhere").status_int == 404
    assert call("/locked/x").status_int == 401
    assert count("GET", template, "200") == before["ok"] + 3
    assert count("OTHER", "unmatched", "405") == before["405"] + 1
    assert count("GET", "unmatched", "404") == before["404"] + 1
    assert count("GET", "unmatched", "401") == before["401"] + 1
    assert (
        metrics.REGISTRY.get_sample_value(
            "virtfleet_api_request_duration_seconds_count",
            {"method": "GET", "route": "/widgets/things/x", "status": "200"},
        )
        is None
    )  # never one series per id


def test_each_request_is_one_access_line_under_its_id(caplog: pytest.LogCaptureFixture) -> None:
    caplog.handler.addFilter(logs.RequestIdFilter())
    mine = f"req-{uuid.uuid4()}"
    with caplog.at_level(logging.INFO, logger="virtfleet.api.access"):
        ok = call("/widgets/things/b?limit=2", **{"X-OpenStack-Request-ID": mine})
        call("/locked/x%0Ainjected line", method="DELETE")
        call("/nowhere", method="BREW")
    lines = [r for r in caplog.records if r.name == "virtfleet.api.access"]
    assert getattr(lines[0], "request_id", None) == mine
    assert lines[0].getMessage() == (
        f'- "GET /widgets/things/b?limit=2" status: 200 len: {ok.content_length} '
        f"time: {lines[0].args[-1]:.3f}s"  # type: ignore[index]  # the format's arguments
    )
    # the path as sent, percent-encoded: one line whatever the client put in it
    assert '"DELETE /locked/x%0Ainjected%20line" status: 401 len: -' in lines[1].getMessage()
    assert "\n" not in lines[1].getMessage()
    assert '"OTHER /nowhere" status: 404 ' in lines[2].getMessage()
