"""The Compute API's body schemas: every route taking a body has one for each
advertised microversion, and the schemas answer with the handlers' messages."""

from __future__ import annotations

from typing import Any

import pytest

from virtfleet.api.compute.routes import ROUTES, SERVER_ACTIONS
from virtfleet.api.compute.schemas import Versioned, explain, flavor, server_action
from virtfleet.api.compute.schemas.bodies import BODIES
from virtfleet.api.compute.versions import KNOWN, MIN_VERSION
from virtfleet.api.validation import validate
from virtfleet.api.wsgi import HTTPError, Microversion

#: Routes that answer 404/405 below a microversion: their schemas start there.
FIRST_VERSION = {
    ("PUT", "/v2.1/flavors/{flavor_id}"): "2.55",
    ("POST", "/v2.1/os-aggregates/{aggregate_id}/images"): "2.81",
    ("POST", "/v2.1/servers/{server_id}/migrations/{migration_id}/action"): "2.22",
    ("POST", "/v2.1/servers/{server_id}/remote-consoles"): "2.6",
    ("PUT", "/v2.1/servers/{server_id}/tags"): "2.26",
    ("PUT", "/v2.1/servers/{server_id}/tags/{tag}"): "2.26",
}
BODY_METHODS = ("POST", "PUT", "PATCH")


def _check_table(table: Versioned, first: str) -> None:
    versions = [version for version, _ in table]
    assert versions, "empty schema table"
    assert all(v in KNOWN for v in versions), versions
    parsed = [Microversion.parse(v) for v in versions]
    assert parsed == sorted(parsed, reverse=True), f"{versions} not newest first"
    assert versions[-1] == first, f"{versions} does not start at {first}"


def test_every_route_taking_a_body_has_a_schema_per_microversion() -> None:
    taking = {(r.method, r.path) for r in ROUTES if r.method in BODY_METHODS}
    assert taking == set(BODIES), "routes and BODIES disagree"
    for key, table in BODIES.items():
        _check_table(table, FIRST_VERSION.get(key, MIN_VERSION))


def test_every_server_action_has_an_argument_schema() -> None:
    assert {a.name for a in SERVER_ACTIONS} == set(server_action.ACTIONS)
    for table in server_action.ACTIONS.values():
        _check_table(table, MIN_VERSION)


def _message(data: Any, schema: Any) -> str:
    with pytest.raises(HTTPError) as caught:
        validate(data, schema)
    assert caught.value.status == 400
    return caught.value.message


@pytest.mark.parametrize(
    ("schema", "block", "message"),
    [
        (
            server_action.MIGRATE_LIVE_V2_1,
            "auto",
            "Invalid input for field/attribute block_migration: 'auto' "
            "needs microversion 2.25 or later.",
        ),
        (
            server_action.MIGRATE_LIVE_V2_25,
            "AUTO",
            "Invalid input for field/attribute block_migration: 'auto' "
            "needs microversion 2.25 or later.",
        ),
        (
            server_action.MIGRATE_LIVE_V2_30,
            "maybe",
            "Invalid input for field/attribute block_migration. Value: 'maybe'. "
            "Expected a boolean.",
        ),
    ],
)
def test_migrate_live_block_migration_per_version(schema: Any, block: str, message: str) -> None:
    assert _message({"host": None, "block_migration": block}, schema) == message


def test_migrate_live_fields_per_version() -> None:
    validate({"host": "h", "block_migration": "auto"}, server_action.MIGRATE_LIVE_V2_25)
    validate(
        {"host": "h", "block_migration": True, "disk_over_commit": False},
        server_action.MIGRATE_LIVE_V2_1,
    )
    assert _message(
        {"host": None, "block_migration": "auto", "disk_over_commit": False},
        server_action.MIGRATE_LIVE_V2_25,
    ) == (
        "Invalid input for os-migrateLive: additional properties are not allowed "
        "('disk_over_commit' unexpected)."
    )
    assert "'force' unexpected" in _message(
        {"host": "h", "block_migration": "auto", "force": True}, server_action.MIGRATE_LIVE_V2_25
    )
    validate(
        {"host": "h", "block_migration": "auto", "force": True}, server_action.MIGRATE_LIVE_V2_30
    )
    assert _message({}, server_action.MIGRATE_LIVE_V2_30) == (
        "Invalid input for os-migrateLive: 'host' is a required property."
    )


def test_flavor_description_only_from_2_55() -> None:
    body = {"flavor": {"name": "f", "ram": 1, "vcpus": 1, "description": "d"}}
    validate(body, flavor.CREATE_V2_55)
    assert _message(body, flavor.CREATE_V2_1) == (
        "Invalid input for flavor: additional properties are not allowed "
        "('description' unexpected)."
    )


def test_extra_spec_messages_name_the_key() -> None:
    assert _message({"extra_specs": {"ok": "1", "bad/key": "1"}}, flavor.SPECS_CREATE_V2_1) == (
        "Invalid extra spec key 'bad/key': use 1-255 letters, digits, "
        "'_', '-', '.', ':' and spaces."
    )
    assert _message({"hw:cpu": True}, flavor.SPECS_UPDATE_V2_1) == (
        "Invalid extra spec hw:cpu=True: values must be strings or numbers."
    )
    assert _message({"hw:cpu": "x" * 256}, flavor.SPECS_UPDATE_V2_1) == (
        "Invalid extra spec hw:cpu: the value is longer than 255 characters."
    )


def test_explain_messages() -> None:
    assert _message(
        {"explain": {"flavorRef": "1", "imageRef": "i", "zone": 1, "a": 2}}, explain.EXPLAIN_V2_1
    ) == ("Unknown field(s) a, zone; allowed: flavorRef, host, imageRef, limit.")
    assert _message({"explain": {"imageRef": "i"}}, explain.EXPLAIN_V2_1) == (
        "Invalid input for field/attribute flavorRef. Value: None. Expected a non-empty string."
    )
    assert _message([], explain.EXPLAIN_V2_1) == (
        'The body must be {"explain": {"flavorRef": ..., "imageRef": ...}}.'
    )


@pytest.mark.parametrize("swap", [False, 0, "", [], {}, None, 5, "5"])
def test_flavor_swap_falsy_means_none(swap: Any) -> None:
    validate({"flavor": {"name": "f", "ram": 1, "vcpus": 1, "swap": swap}}, flavor.CREATE_V2_1)


@pytest.mark.parametrize("swap", [True, [1], 1.5])
def test_flavor_swap_other_values_are_refused(swap: Any) -> None:
    body = {"flavor": {"name": "f", "ram": 1, "vcpus": 1, "swap": swap}}
    assert _message(body, flavor.CREATE_V2_1) == (
        f"Invalid input for field/attribute swap. Value: {swap!r}. Expected an integer."
    )
