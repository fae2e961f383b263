"""The version list, the version document and microversion negotiation."""

from __future__ import annotations

import ast
import pathlib

import pytest

from virtfleet.api.placement import microversion
from virtfleet.api.placement.microversion import VERSIONS

from .conftest import Client

PACKAGE = pathlib.Path(microversion.__file__).parent
GATES = ("since", "require", "at_least")


def _gated_versions() -> dict[str, list[str]]:
    """Every version literal passed to a gate, or heading a row of a versioned table
    (``("1.14", schema, ...)``), in the package, with where it is used."""
    found: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "microversion.py":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in GATES:
                literal = node.args[-1]
                if isinstance(literal, ast.Constant) and isinstance(literal.value, str):
                    found.setdefault(literal.value, []).append(path.name)
            if isinstance(node, ast.Tuple) and node.elts:
                head = node.elts[0]
                if (
                    isinstance(head, ast.Constant)
                    and isinstance(head.value, str)
                    and head.value in VERSIONS
                    and len(node.elts) >= 2
                ):
                    found.setdefault(head.value, []).append(path.name)
    return found


# Versions with no behaviour of their own in the HTTP layer, and why.
NOT_GATED_HERE = {
    "1.0": "the baseline",
    "1.22": "`!TRAIT` is parsed by placement.query.parse_required, given the version",
    "1.32": "`!AGG` is parsed by placement.query.parse_member_of, given the version",
}


def test_versions_are_sequential_from_1_0() -> None:
    minors = [int(v.split(".")[1]) for v in VERSIONS]
    assert all(v.startswith("1.") for v in VERSIONS)
    assert minors == list(range(len(VERSIONS)))


def test_every_version_has_a_gate_and_every_gate_a_version() -> None:
    gated = _gated_versions()
    assert set(gated) <= set(VERSIONS), f"gates use unlisted versions: {set(gated) - set(VERSIONS)}"
    ungated = set(VERSIONS) - set(gated) - set(NOT_GATED_HERE)
    assert not ungated, f"versions without any versioned behaviour: {sorted(ungated)}"


def test_gate_with_unknown_version_is_a_programming_error(client: Client) -> None:
    with pytest.raises(ValueError, match=r"1\.99"):
        microversion.at_least(microversion.POLICY.maximum, "1.99")


def test_version_document_needs_no_header(client: Client) -> None:
    reply = client.get("/", version=None)
    assert reply.status == 200
    (doc,) = reply.json["versions"]
    assert doc["id"] == "v1.0"
    assert doc["min_version"] == "1.0"
    assert doc["max_version"] == "1.39"
    assert doc["status"] == "CURRENT"
    assert doc["links"][0]["rel"] == "self"


def test_response_names_the_negotiated_version(client: Client) -> None:
    assert client.get("/", version="1.14").headers["OpenStack-API-Version"] == "placement 1.14"
    assert client.get("/", version="latest").headers["OpenStack-API-Version"] == "placement 1.39"
    assert client.get("/", version=None).headers["OpenStack-API-Version"] == "placement 1.0"
    assert "OpenStack-API-Version" in client.get("/", version="1.0").headers["Vary"]


def test_unacceptable_version_is_406_with_the_range(client: Client) -> None:
    reply = client.get("/", version="1.40")
    assert reply.status == 406
    error = reply.error
    assert error["min_version"] == "1.0"
    assert error["max_version"] == "1.39"
    assert "1.40" in error["detail"]
    assert client.get("/resource_providers", version="2.0").status == 406


def test_malformed_version_is_400(client: Client) -> None:
    reply = client.get("/resource_providers", version="one.two")
    assert reply.status == 400
    assert "one.two" in reply.error["detail"]


def test_endpoint_before_its_version_is_404(client: Client) -> None:
    assert client.get("/traits", version="1.5").status == 404
    assert client.get("/traits", version="1.6").status == 200
    assert client.get("/resource_classes", version="1.1").status == 404
    assert client.get("/usages?project_id=p", version="1.8").status == 404
    assert client.get("/allocation_candidates?resources=VCPU:1", version="1.9").status == 404


def test_cache_headers_from_1_15(client: Client) -> None:
    old = client.get("/resource_providers", version="1.14")
    new = client.get("/resource_providers", version="1.15")
    assert "Last-Modified" not in old.headers
    assert new.headers["Cache-Control"] == "no-cache"
    assert new.headers["Last-Modified"].endswith("GMT")
