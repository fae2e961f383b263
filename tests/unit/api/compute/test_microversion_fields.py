"""Every advertised Compute microversion answers with the fields the Compute API
reference documents for it.

The tables below are written from the reference (the API reference's response
parameters and the REST API version history), not from virtfleet's views: each field
with the microversion that added it and, where one did, the one that removed it.
The test walks every microversion from 2.1 to the advertised maximum."""

from __future__ import annotations

from typing import Any

import pytest

from support.api_apps import Apps, Client
from virtfleet.api.compute import versions
from virtfleet.api.wsgi import Microversion

#: (field, first microversion, first microversion without it)
Fields = tuple[tuple[str, str, str | None], ...]

#: GET /servers/{id} and GET /servers/detail as an administrator sees an ACTIVE server.
SERVER: Fields = (
    ("id", "2.1", None),
    ("name", "2.1", None),
    ("links", "2.1", None),
    ("status", "2.1", None),
    ("tenant_id", "2.1", None),
    ("user_id", "2.1", None),
    ("metadata", "2.1", None),
    ("hostId", "2.1", None),
    ("image", "2.1", None),
    ("flavor", "2.1", None),
    ("created", "2.1", None),
    ("updated", "2.1", None),
    ("addresses", "2.1", None),
    ("accessIPv4", "2.1", None),
    ("accessIPv6", "2.1", None),
    ("progress", "2.1", None),  # BUILD and ACTIVE servers
    ("OS-DCF:diskConfig", "2.1", None),
    ("OS-EXT-AZ:availability_zone", "2.1", None),
    ("config_drive", "2.1", None),
    ("key_name", "2.1", None),
    ("OS-SRV-USG:launched_at", "2.1", None),
    ("OS-SRV-USG:terminated_at", "2.1", None),
    ("OS-EXT-STS:vm_state", "2.1", None),
    ("OS-EXT-STS:task_state", "2.1", None),
    ("OS-EXT-STS:power_state", "2.1", None),
    ("os-extended-volumes:volumes_attached", "2.1", None),
    ("security_groups", "2.1", None),
    ("OS-EXT-SRV-ATTR:host", "2.1", None),
    ("OS-EXT-SRV-ATTR:hypervisor_hostname", "2.1", None),
    ("OS-EXT-SRV-ATTR:instance_name", "2.1", None),
    ("OS-EXT-SRV-ATTR:reservation_id", "2.3", None),
    ("OS-EXT-SRV-ATTR:launch_index", "2.3", None),
    ("OS-EXT-SRV-ATTR:hostname", "2.3", None),
    ("OS-EXT-SRV-ATTR:kernel_id", "2.3", None),
    ("OS-EXT-SRV-ATTR:ramdisk_id", "2.3", None),
    ("OS-EXT-SRV-ATTR:root_device_name", "2.3", None),
    ("OS-EXT-SRV-ATTR:user_data", "2.3", None),
    ("locked", "2.9", None),
    ("host_status", "2.16", None),
    ("description", "2.19", None),
    ("tags", "2.26", None),
    ("trusted_image_certificates", "2.63", None),
    ("locked_reason", "2.73", None),
    ("pinned_availability_zone", "2.96", None),
)
#: GET /servers/{id} only (not the list).
SERVER_SHOW_ONLY: Fields = (("server_groups", "2.71", None),)
#: The flavor embedded in a server.
SERVER_FLAVOR: Fields = (
    ("id", "2.1", "2.47"),
    ("links", "2.1", "2.47"),
    ("vcpus", "2.47", None),
    ("ram", "2.47", None),
    ("disk", "2.47", None),
    ("ephemeral", "2.47", None),
    ("swap", "2.47", None),
    ("original_name", "2.47", None),
    ("extra_specs", "2.47", None),
)
#: GET /servers: the summary of each server.
SERVER_SUMMARY: Fields = (("id", "2.1", None), ("name", "2.1", None), ("links", "2.1", None))

#: GET /flavors/{id} and GET /flavors/detail.
FLAVOR: Fields = (
    ("id", "2.1", None),
    ("name", "2.1", None),
    ("links", "2.1", None),
    ("ram", "2.1", None),
    ("disk", "2.1", None),
    ("vcpus", "2.1", None),
    ("swap", "2.1", None),
    ("OS-FLV-EXT-DATA:ephemeral", "2.1", None),
    ("OS-FLV-DISABLED:disabled", "2.1", None),
    ("os-flavor-access:is_public", "2.1", None),
    ("rxtx_factor", "2.1", None),
    ("description", "2.55", None),
    ("extra_specs", "2.61", None),
)
#: GET /flavors: each flavor's summary.
FLAVOR_SUMMARY: Fields = (
    ("id", "2.1", None),
    ("name", "2.1", None),
    ("links", "2.1", None),
    ("description", "2.55", None),
)

#: GET /os-keypairs/{name}.
KEYPAIR_SHOW: Fields = (
    ("name", "2.1", None),
    ("public_key", "2.1", None),
    ("fingerprint", "2.1", None),
    ("user_id", "2.1", None),
    ("id", "2.1", None),
    ("created_at", "2.1", None),
    ("updated_at", "2.1", None),
    ("deleted", "2.1", None),
    ("deleted_at", "2.1", None),
    ("type", "2.2", None),
)
#: Each ``keypair`` of GET /os-keypairs.
KEYPAIR_LIST: Fields = (
    ("name", "2.1", None),
    ("public_key", "2.1", None),
    ("fingerprint", "2.1", None),
    ("type", "2.2", None),
)

#: GET /os-server-groups/{id}.
SERVER_GROUP: Fields = (
    ("id", "2.1", None),
    ("name", "2.1", None),
    ("members", "2.1", None),
    ("policies", "2.1", "2.64"),
    ("metadata", "2.1", "2.64"),
    ("project_id", "2.13", None),
    ("user_id", "2.13", None),
    ("policy", "2.64", None),
    ("rules", "2.64", None),
)

#: GET /os-aggregates/{id}.
AGGREGATE: Fields = (
    ("id", "2.1", None),
    ("name", "2.1", None),
    ("availability_zone", "2.1", None),
    ("hosts", "2.1", None),
    ("metadata", "2.1", None),
    ("created_at", "2.1", None),
    ("updated_at", "2.1", None),
    ("deleted_at", "2.1", None),
    ("deleted", "2.1", None),
    ("uuid", "2.41", None),
)

#: GET /limits: ``absolute``.
LIMITS: Fields = (
    ("maxServerMeta", "2.1", None),
    ("maxPersonality", "2.1", "2.57"),
    ("maxPersonalitySize", "2.1", "2.57"),
    ("maxImageMeta", "2.1", "2.39"),
    ("maxTotalKeypairs", "2.1", None),
    ("maxSecurityGroups", "2.1", "2.36"),
    ("maxSecurityGroupRules", "2.1", "2.36"),
    ("maxServerGroups", "2.1", None),
    ("maxServerGroupMembers", "2.1", None),
    ("maxTotalCores", "2.1", None),
    ("maxTotalInstances", "2.1", None),
    ("maxTotalRAMSize", "2.1", None),
    ("maxTotalFloatingIps", "2.1", "2.36"),
    ("totalCoresUsed", "2.1", None),
    ("totalInstancesUsed", "2.1", None),
    ("totalRAMUsed", "2.1", None),
    ("totalFloatingIpsUsed", "2.1", "2.36"),
    ("totalSecurityGroupsUsed", "2.1", "2.36"),
    ("totalServerGroupsUsed", "2.1", None),
)

MAX = Microversion.parse(versions.MAX_VERSION)
ADVERTISED = [f"2.{minor}" for minor in range(1, MAX.minor + 1)]
PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKh0B0ypHkSM9Qn5SxQoYJ6mYWi0Tl5oQhb0vN0F7b1k t@e"
IMG = "11111111-1111-1111-1111-111111111111"


def expected(table: Fields, version: str) -> set[str]:
    at = Microversion.parse(version)
    return {
        name
        for name, added, removed in table
        if Microversion.parse(added) <= at and (removed is None or at < Microversion.parse(removed))
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One cloud of each resource: an ACTIVE server, a flavor, a key pair, a server
    group and an aggregate."""
    from support.api_apps import make_apps

    apps: Apps = make_apps(tmp_path_factory.mktemp("microversions"))
    c = apps.compute()
    flavor = {"name": "small", "id": "f1", "ram": 512, "vcpus": 1, "disk": 1}
    assert c.post("/v2.1/flavors", {"flavor": flavor}).status == 200
    image = {"id": IMG, "name": "img", "disk_format": "raw", "container_format": "bare"}
    assert apps.image().post("/v2/images", image).status == 201
    apps.image().request(
        "PUT", f"/v2/images/{IMG}/file", raw=b"x" * 64, content_type="application/octet-stream"
    )
    boot = {"name": "vm", "flavorRef": "f1", "imageRef": IMG, "networks": "none"}
    server = c.post("/v2.1/servers", {"server": boot}).json["server"]["id"]
    key = {"keypair": {"name": "k", "public_key": PUBLIC_KEY}}
    assert c.post("/v2.1/os-keypairs", key).status == 201
    group = c.post("/v2.1/os-server-groups", {"server_group": {"name": "g", "policy": "affinity"}})
    aggregate = c.post("/v2.1/os-aggregates", {"aggregate": {"name": "a"}})
    return {
        "apps": apps,
        "server": server,
        "group": group.json["server_group"]["id"],
        "aggregate": aggregate.json["aggregate"]["id"],
    }


def get(world: dict[str, Any], version: str, path: str) -> Any:
    client: Client = world["apps"].compute(version)
    reply = client.get(path)
    assert reply.status == 200, (version, path, reply.body)
    assert reply.headers["OpenStack-API-Version"] == f"compute {version}"
    return reply.json


def test_every_advertised_version_is_walked() -> None:
    assert ADVERTISED[0] == versions.MIN_VERSION and ADVERTISED[-1] == versions.MAX_VERSION


@pytest.mark.parametrize("version", ADVERTISED)
def test_server_fields(world: dict[str, Any], version: str) -> None:
    server = world["server"]
    shown = get(world, version, f"/v2.1/servers/{server}")["server"]
    assert set(shown) == expected(SERVER + SERVER_SHOW_ONLY, version)
    assert set(shown["flavor"]) == expected(SERVER_FLAVOR, version)
    listed = get(world, version, "/v2.1/servers/detail")["servers"]
    assert [set(s) for s in listed] == [expected(SERVER, version)]
    summary = get(world, version, "/v2.1/servers")["servers"]
    assert [set(s) for s in summary] == [expected(SERVER_SUMMARY, version)]


@pytest.mark.parametrize("version", ADVERTISED)
def test_flavor_fields(world: dict[str, Any], version: str) -> None:
    shown = get(world, version, "/v2.1/flavors/f1")["flavor"]
    assert set(shown) == expected(FLAVOR, version)
    # 2.75: swap is 0 (an integer) where it used to be ''
    assert shown["swap"] == (0 if Microversion.parse(version) >= Microversion(2, 75) else "")
    detail = get(world, version, "/v2.1/flavors/detail")["flavors"]
    assert [set(f) for f in detail] == [expected(FLAVOR, version)]
    summary = get(world, version, "/v2.1/flavors")["flavors"]
    assert [set(f) for f in summary] == [expected(FLAVOR_SUMMARY, version)]


@pytest.mark.parametrize("version", ADVERTISED)
def test_keypair_fields(world: dict[str, Any], version: str) -> None:
    shown = get(world, version, "/v2.1/os-keypairs/k")["keypair"]
    assert set(shown) == expected(KEYPAIR_SHOW, version)
    listed = get(world, version, "/v2.1/os-keypairs")["keypairs"]
    assert [set(k["keypair"]) for k in listed] == [expected(KEYPAIR_LIST, version)]


@pytest.mark.parametrize("version", ADVERTISED)
def test_group_aggregate_and_limit_fields(world: dict[str, Any], version: str) -> None:
    group = get(world, version, f"/v2.1/os-server-groups/{world['group']}")["server_group"]
    assert set(group) == expected(SERVER_GROUP, version)
    aggregate = get(world, version, f"/v2.1/os-aggregates/{world['aggregate']}")["aggregate"]
    assert set(aggregate) == expected(AGGREGATE, version)
    absolute = get(world, version, "/v2.1/limits")["limits"]["absolute"]
    assert set(absolute) == expected(LIMITS, version)
