"""The shared WSGI toolkit: routing, errors, microversion negotiation."""

from __future__ import annotations

import json

import pytest
import webob

from virtfleet import errors
from virtfleet.api.wsgi import (
    HTTPError,
    Microversion,
    PrefixDispatcher,
    Request,
    Route,
    Router,
    VersionPolicy,
    json_response,
)


def render(req: Request, error: HTTPError) -> webob.Response:
    return json_response(
        {"error": {"status": error.status, "message": error.message}}, error.status
    )


def echo(req: Request, name: str) -> webob.Response:
    return json_response({"name": name, "version": str(req.microversion)})


def boom(req: Request) -> webob.Response:
    raise ZeroDivisionError("secret internals")


def missing(req: Request) -> webob.Response:
    raise errors.NotFound("Flavor 'x' could not be found.")


def body(req: Request) -> webob.Response:
    return json_response(req.json_body_or_400())


POLICY = VersionPolicy(
    "compute", Microversion(2, 1), Microversion(2, 60), "X-OpenStack-Nova-API-Version"
)
APP = Router(
    [
        Route("GET", "/things/{name}", echo, "test:things:show"),
        Route("POST", "/things", body, "test:things:create"),
        Route("GET", "/boom", boom, "test:boom"),
        Route("GET", "/missing", missing, "test:missing"),
    ],
    render,
    POLICY,
)


def call(path: str, method: str = "GET", **kwargs: object) -> webob.Response:
    return webob.Request.blank(path, method=method, **kwargs).get_response(APP)


def test_path_parameters_and_default_version() -> None:
    resp = call("/things/abc")
    assert resp.status_int == 200
    assert resp.json == {"name": "abc", "version": "2.1"}
    assert resp.headers["OpenStack-API-Version"] == "compute 2.1"
    assert resp.headers["X-OpenStack-Request-Id"].startswith("req-")


@pytest.mark.parametrize(
    ("header", "value", "expected"),
    [
        ("OpenStack-API-Version", "compute 2.47", "2.47"),
        ("OpenStack-API-Version", "compute latest", "2.60"),
        ("OpenStack-API-Version", "placement 1.5, compute 2.10", "2.10"),
        ("X-OpenStack-Nova-API-Version", "2.30", "2.30"),
    ],
)
def test_microversion_negotiation(header: str, value: str, expected: str) -> None:
    resp = call("/things/a", headers={header: value})
    assert resp.json["version"] == expected


def test_unsupported_microversion_is_406_naming_the_range() -> None:
    resp = call("/things/a", headers={"OpenStack-API-Version": "compute 2.99"})
    assert resp.status_int == 406
    assert "2.1 to 2.60" in resp.json["error"]["message"]


def test_malformed_microversion_is_400() -> None:
    resp = call("/things/a", headers={"OpenStack-API-Version": "compute two"})
    assert resp.status_int == 400
    assert "two" in resp.json["error"]["message"]


def test_unknown_path_is_404_and_wrong_method_405_with_allow() -> None:
    assert call("/nothing").status_int == 404
    resp = call("/things/a", method="DELETE")
    assert resp.status_int == 405
    assert resp.headers["Allow"] == "GET"


def test_malformed_json_is_400_naming_the_problem() -> None:
    resp = call("/things", method="POST", body=b"{not json")
    assert resp.status_int == 400
    assert "Malformed request body" in resp.json["error"]["message"]
    assert call("/things", method="POST", body=b"").status_int == 400


def test_domain_errors_map_to_status() -> None:
    resp = call("/missing")
    assert resp.status_int == 404
    assert resp.json["error"]["message"] == "Flavor 'x' could not be found."


def test_unexpected_errors_are_500_without_internals() -> None:
    resp = call("/boom")
    assert resp.status_int == 500
    assert "secret internals" not in resp.text
    assert "Traceback" not in resp.text


def test_prefix_dispatcher_strips_the_prefix() -> None:
    def app(environ: dict[str, object], start_response: object) -> list[bytes]:
        start = start_response  # type: ignore[assignment]
        start("200 OK", [("Content-Type", "application/json")])  # type: ignore[operator]
        return [json.dumps([environ["SCRIPT_NAME"], environ["PATH_INFO"]]).encode()]

    dispatcher = PrefixDispatcher({"compute": app}, root=app)
    resp = webob.Request.blank("/compute/v2.1/servers").get_response(dispatcher)
    assert resp.json == ["/compute", "/v2.1/servers"]
    resp = webob.Request.blank("/compute").get_response(dispatcher)
    assert resp.json == ["/compute", "/"]
    resp = webob.Request.blank("/").get_response(dispatcher)
    assert resp.json == ["", "/"]


def test_a_large_json_answer_is_sent_in_pieces_with_its_full_length() -> None:
    body = {"items": ["x" * 1000] * 1000}  # about 1 MB
    resp = json_response(body)
    pieces = list(resp.app_iter)
    assert len(pieces) > 1 and all(len(p) <= 256 * 1024 for p in pieces)
    assert resp.content_length == sum(map(len, pieces))
    assert json.loads(b"".join(pieces)) == body
    small = json_response({"a": 1})
    assert list(small.app_iter) == [b'{"a": 1}']
