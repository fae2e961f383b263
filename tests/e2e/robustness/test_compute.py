"""Compute API: fuzzed bodies and query strings never give a 5xx; known-bad values
give a 400 naming the field (regressions of 500s found by this directory included)."""

from __future__ import annotations

import urllib.parse
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.e2e.robustness.checks import FUZZ, error_message, refused
from tests.e2e.robustness.strategies import QUERY_VALUES, VALUES, fields_of

from support.fuzz_cloud import HOSTS, FuzzCloud

C = "/compute/v2.1"


# ------------------------------------------------------------------ servers


@FUZZ
@given(
    body=fields_of(
        {
            "name": st.just("fuzzed"),
            "flavorRef": st.just("FLAVOR"),
            "imageRef": st.just("IMAGE"),
            "metadata": st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
            "networks": st.sampled_from(["auto", "none", []]),
            "min_count": st.just(1),
            "max_count": st.just(1),
            "availability_zone": st.just("nova"),
            "block_device_mapping_v2": st.just([]),
        }
    )
)
def test_server_create_never_5xx(cloud: FuzzCloud, body: dict[str, Any]) -> None:
    ids = {"FLAVOR": cloud.flavor_id, "IMAGE": cloud.image_id}
    body = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    reply = cloud.call("POST", f"{C}/servers", {"server": body})
    error_message(reply, f"{C}/servers")
    if reply.status == 202:  # a valid boot: do not let the fleet fill up
        cloud.call("DELETE", f"{C}/servers/{reply.json()['server']['id']}")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", ["x"]),
        ("name", ""),
        ("flavorRef", 5),
        ("imageRef", {"id": "x"}),
        ("metadata", ["a"]),
        ("metadata", {"k": 1}),
        ("min_count", True),
        ("min_count", 2**63),
        ("max_count", "many"),
        ("networks", [{"uuid": "x"}]),
        ("availability_zone", "mars"),
        ("key_name", "k"),
        ("block_device_mapping_v2", {"a": 1}),
        ("personality", []),
    ],
)
def test_server_create_names_the_bad_field(cloud: FuzzCloud, field: str, value: Any) -> None:
    body = {"name": "bad", "flavorRef": cloud.flavor_id, "imageRef": cloud.image_id}
    body[field] = value
    refused(cloud.call("POST", f"{C}/servers", {"server": body}), f"{C}/servers", 400, field)


SERVER_QUERY = ("name", "status", "flavor", "image", "marker", "limit", "host", "sort_key")
FLAVOR_QUERY = ("minRam", "minDisk", "marker", "limit", "is_public", "sort_key")
MIGRATION_QUERY = (
    "instance_uuid",
    "host",
    "source_compute",
    "status",
    "migration_type",
    "changes-since",
    "changes-before",
    "project_id",
    "user_id",
    "marker",
    "limit",
)


def query_strings(names: tuple[str, ...]) -> st.SearchStrategy[str]:
    pairs = st.lists(
        st.tuples(st.sampled_from(names) | st.text(max_size=5), QUERY_VALUES), max_size=4
    )
    return pairs.map(urllib.parse.urlencode)


@FUZZ
@given(
    path=st.sampled_from(
        [f"{C}/servers", f"{C}/servers/detail", f"{C}/flavors", f"{C}/flavors/detail"]
    ),
    query=query_strings(SERVER_QUERY + FLAVOR_QUERY),
)
def test_list_query_strings_never_5xx(cloud: FuzzCloud, path: str, query: str) -> None:
    error_message(cloud.call("GET", f"{path}?{query}"), path)


@FUZZ
@given(
    version=st.sampled_from(["2.1", "2.23", "2.59", "2.80", "latest"]),
    query=query_strings(MIGRATION_QUERY),
)
def test_os_migrations_filters_never_5xx(cloud: FuzzCloud, version: str, query: str) -> None:
    path = f"{C}/os-migrations"
    headers = {"OpenStack-API-Version": f"compute {version}"}
    error_message(cloud.call("GET", f"{path}?{query}", headers=headers), path)


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("servers?limit=abc", "limit"),
        ("servers?limit=-1", "limit"),
        ("servers?limit=99999999999999999999", "limit"),  # regression: took a slice of it
        ("servers?marker=nope", "nope"),
        ("servers?name=%28a", "name"),
        ("servers/detail?name=%FF", "name"),  # regression: 500 (UnicodeDecodeError)
        ("flavors?minRam=1e3", "minRam"),
        ("flavors?minDisk=-5", "minDisk"),
        ("flavors?is_public=maybe", "is_public"),
        ("os-migrations?changes-since=yesterday", "changes-since"),
        # regression: 500 (OverflowError converting to UTC)
        ("os-migrations?changes-before=9999-12-31T23:59:59-23:00", "changes-before"),
        ("os-migrations?limit=9223372036854775808", "limit"),
        ("os-migrations?marker=nope", "nope"),
        ("os-migrations?instance_uuid=%C3%28", "instance_uuid"),
    ],
)
def test_bad_query_value_is_named(cloud: FuzzCloud, query: str, named: str) -> None:
    path = f"{C}/{query}"
    refused(cloud.call("GET", path), path, 400, named)


def test_non_utf8_path_is_a_400(cloud: FuzzCloud) -> None:
    """Regression: an undecodable path raised out of the WSGI app (no response)."""
    path = f"{C}/servers/%FF%FE"
    refused(cloud.call("GET", path), path, 400, "UTF-8")


# ------------------------------------------------------------------ flavors


@FUZZ
@given(
    body=fields_of(
        {
            "name": st.text(min_size=1, max_size=10),
            "ram": st.integers(1, 4096),
            "vcpus": st.integers(1, 8),
            "disk": st.integers(0, 10),
            "swap": st.integers(0, 10),
            "OS-FLV-EXT-DATA:ephemeral": st.integers(0, 10),
            "rxtx_factor": st.floats(0.1, 10),
            "os-flavor-access:is_public": st.booleans(),
            "description": st.text(max_size=10) | st.none(),
            "id": st.uuids().map(str),
        }
    )
)
def test_flavor_create_never_5xx(cloud: FuzzCloud, body: dict[str, Any]) -> None:
    reply = cloud.call("POST", f"{C}/flavors", {"flavor": body})
    error_message(reply, f"{C}/flavors")
    if reply.status == 200:
        cloud.call("DELETE", f"{C}/flavors/{reply.json()['flavor']['id']}")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ram", 2**63),  # regression: 500 (OverflowError in SQLite)
        ("ram", 2**31),  # Nova's bound for flavor sizes
        ("ram", True),
        ("vcpus", 0),
        ("vcpus", "two"),
        ("disk", -1),
        ("disk", 1.5),
        ("swap", [1]),
        ("OS-FLV-EXT-DATA:ephemeral", 2**40),
        ("rxtx_factor", "nan"),  # was stored as NaN (and answered as invalid JSON)
        ("rxtx_factor", "inf"),
        ("rxtx_factor", 0),
        ("os-flavor-access:is_public", "perhaps"),
        ("id", 2**64),  # regression: 500
        ("id", "a/b"),
        ("id", ["x"]),
        ("description", 5),
    ],
)
def test_flavor_create_names_the_bad_field(cloud: FuzzCloud, field: str, value: Any) -> None:
    body = {"name": f"bad-{field}", "ram": 512, "vcpus": 1, field: value}
    reply = cloud.call("POST", f"{C}/flavors", {"flavor": body})
    refused(reply, f"{C}/flavors", 400, field)


SPEC_KEYS = st.sampled_from(
    [
        "resources:VCPU",
        "resources1:CUSTOM_X",
        "resources:NOPE",
        "trait:HW_CPU_X86_AVX2",
        "trait2:CUSTOM_Y",
        "group_policy",
        "same_subtree",
        "hw:cpu_policy",
        "hw:mem_page_size",
        "hw:maxphysaddr_mode",
        "hw:maxphysaddr_bits",
        "hw:unknown",
        "quota:disk_read_bytes_sec",
    ]
)
SPEC_VALUES = (
    st.sampled_from(["required", "forbidden", "isolate", "1", "0", "-1", "dedicated", "2MB", "48"])
    | VALUES
)


@FUZZ
@given(specs=st.dictionaries(SPEC_KEYS | st.text(max_size=10), SPEC_VALUES, max_size=3))
def test_extra_specs_never_5xx_and_accepted_ones_explain(
    cloud: FuzzCloud, specs: dict[str, Any]
) -> None:
    """Whatever the extra specs API accepts, the scheduler can explain a boot with."""
    created = cloud.call(
        "POST", f"{C}/flavors", {"flavor": {"name": "specs", "ram": 256, "vcpus": 1}}
    )
    assert created.status == 200, created.body
    flavor = created.json()["flavor"]["id"]
    try:
        path = f"{C}/flavors/{flavor}/os-extra_specs"
        reply = cloud.call("POST", path, {"extra_specs": specs})
        error_message(reply, path)
        if reply.status == 200:
            body = {"explain": {"flavorRef": flavor, "imageRef": cloud.image_id}}
            explained = cloud.call("POST", f"{C}/os-scheduler-explain", body)
            error_message(explained, f"{C}/os-scheduler-explain")
    finally:
        cloud.call("DELETE", f"{C}/flavors/{flavor}")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("hw:cpu_policy", "nope"),
        ("hw:maxphysaddr_bits", "99"),
        ("resources:VCPU", "-1"),
        ("resources:VCPU", "lots"),
        ("resources:NOT_A_CLASS", "1"),
        ("trait:NOT_A_TRAIT", "required"),
        ("trait:CUSTOM_X", "maybe"),
        ("group_policy", "sometimes"),
        ("hw:no_such_spec", "1"),
        ("bad/key", "1"),
        ("hw:cpu_policy", True),
        ("hw:cpu_policy", {"a": 1}),
    ],
)
def test_bad_extra_spec_is_named(cloud: FuzzCloud, key: str, value: Any) -> None:
    path = f"{C}/flavors/{cloud.flavor_id}/os-extra_specs"
    refused(cloud.call("POST", path, {"extra_specs": {key: value}}), path, 400, key)


def test_extra_spec_put_body_must_match_the_uri(cloud: FuzzCloud) -> None:
    path = f"{C}/flavors/{cloud.flavor_id}/os-extra_specs/hw:cpu_policy"
    refused(cloud.call("PUT", path, {"hw:mem_page_size": "small"}), path, 400, "hw:cpu_policy")


# ------------------------------------------------------------------ actions


ACTION_NAMES = st.sampled_from(
    ["os-stop", "os-start", "reboot", "os-getConsoleOutput", "os-migrateLive", "pause"]
)


@FUZZ
@given(
    action=ACTION_NAMES | st.text(max_size=10),
    argument=fields_of(
        {
            "type": st.sampled_from(["HARD", "SOFT", "hard"]),
            "length": st.integers(-2, 50),
            "host": st.sampled_from([*HOSTS, None]),
            "block_migration": st.sampled_from(["auto", True, False]),
            "force": st.booleans(),
        }
    )
    | VALUES,
    version=st.sampled_from(["2.1", "2.24", "2.30", "latest"]),
)
def test_server_actions_never_5xx(
    cloud: FuzzCloud, action: str, argument: Any, version: str
) -> None:
    path = f"{C}/servers/{cloud.victim_id}/action"
    headers = {"OpenStack-API-Version": f"compute {version}"}
    error_message(cloud.call("POST", path, {action: argument}, headers=headers), path)


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"reboot": {"type": "GENTLE"}}, "GENTLE"),
        ({"reboot": None}, "type"),
        ({"os-getConsoleOutput": {"length": "ten"}}, "length"),
        ({"os-getConsoleOutput": {"length": -2}}, "length"),
        ({"os-getConsoleOutput": {"length": 2**63}}, "/os-getConsoleOutput/length"),
        ({"os-getConsoleOutput": []}, "os-getConsoleOutput"),
        ({"os-migrateLive": {"host": None}}, "block_migration"),
        ({"os-migrateLive": {"block_migration": "auto"}}, "host"),
        ({"os-migrateLive": {"host": ["a"], "block_migration": "auto"}}, "host"),
        ({"os-migrateLive": {"host": None, "block_migration": "maybe"}}, "block_migration"),
        ({"os-migrateLive": {"host": None, "block_migration": 1.5}}, "block_migration"),
        ({"os-migrateLive": {"host": "fuzz-b", "block_migration": "auto", "force": "x"}}, "force"),
        ({"os-migrateLive": {"host": None, "block_migration": "auto", "extra": 1}}, "extra"),
        ({"os-migrateLive": {"host": "no-such-host", "block_migration": "auto"}}, "no-such-host"),
        ({"os-migrateLive": "fuzz-b"}, "os-migrateLive"),
        ({"os-frobnicate": None}, "os-frobnicate"),
        ({"os-stop": None, "os-start": None}, "exactly one"),
    ],
)
def test_bad_action_is_named(cloud: FuzzCloud, body: dict[str, Any], named: str) -> None:
    path = f"{C}/servers/{cloud.server_id}/action"
    refused(cloud.call("POST", path, body), path, 400, named)


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("GET", "migrations/abc"),
        ("GET", "migrations/0"),
        ("DELETE", "migrations/9223372036854775808"),  # regression: 500 (OverflowError)
        ("DELETE", "migrations/1.5"),
    ],
)
def test_bad_migration_id_is_named(cloud: FuzzCloud, method: str, suffix: str) -> None:
    path = f"{C}/servers/{cloud.server_id}/{suffix}"
    refused(cloud.call(method, path), path, 400, "migration_id")


# ------------------------------------------------------------------ explain


@FUZZ
@given(
    body=fields_of(
        {
            "flavorRef": st.just("FLAVOR"),
            "imageRef": st.just("IMAGE"),
            "host": st.sampled_from([*HOSTS, "nowhere"]),
            "limit": st.integers(1, 10),
        }
    )
)
def test_explain_never_5xx(cloud: FuzzCloud, body: dict[str, Any]) -> None:
    ids = {"FLAVOR": cloud.flavor_id, "IMAGE": cloud.image_id}
    body = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    path = f"{C}/os-scheduler-explain"
    error_message(cloud.call("POST", path, {"explain": body}), path)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("limit", 0),
        ("limit", True),
        ("limit", "5"),
        ("limit", 2**63),
        ("host", 7),
        ("flavorRef", None),
        ("imageRef", ["x"]),
        ("colour", "blue"),
    ],
)
def test_bad_explain_field_is_named(cloud: FuzzCloud, field: str, value: Any) -> None:
    body = {"flavorRef": cloud.flavor_id, "imageRef": cloud.image_id, field: value}
    path = f"{C}/os-scheduler-explain"
    refused(cloud.call("POST", path, {"explain": body}), path, 400, field)
