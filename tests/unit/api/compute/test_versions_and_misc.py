"""Version documents, microversion negotiation, the version table, and the small
resources (limits, availability zones, key pairs, extensions), root and identity stubs."""

from __future__ import annotations

import webob

from support.api_apps import Apps, Client
from virtfleet.api.compute import versions
from virtfleet.api.versions import make_identity_stub_app, make_root_app
from virtfleet.api.wsgi import Microversion


def test_version_documents(apps: Apps) -> None:
    c = apps.compute(version=None)
    index = c.get("/").json["versions"]
    assert index[0]["id"] == "v2.1"
    assert index[0]["version"] == "2.96" and index[0]["min_version"] == "2.1"
    assert index[0]["links"][0]["href"] == "http://localhost/compute/v2.1/"
    assert c.get("/v2.1").json["version"]["version"] == "2.96"
    assert c.get("/v2.1/").status == 200


def test_negotiation_headers(apps: Apps) -> None:
    c = apps.compute(version=None)
    plain = c.get("/v2.1/flavors")
    assert plain.headers["OpenStack-API-Version"] == "compute 2.1"
    latest = c.get("/v2.1/flavors", headers={"OpenStack-API-Version": "compute latest"})
    assert latest.headers["OpenStack-API-Version"] == "compute 2.96"
    legacy = c.get("/v2.1/flavors", headers={"X-OpenStack-Nova-API-Version": "2.60"})
    assert legacy.headers["X-OpenStack-Nova-API-Version"] == "2.60"


def test_unknown_microversion_is_406_in_compute_format(apps: Apps) -> None:
    c = apps.compute(version=None)
    reply = c.get("/v2.1/servers", headers={"OpenStack-API-Version": "compute 2.97"})
    assert reply.status == 406
    assert reply.json["HTTPNotAcceptable"]["code"] == 406
    assert "2.97" in reply.json["HTTPNotAcceptable"]["message"]
    malformed = c.get("/v2.1/servers", headers={"OpenStack-API-Version": "compute two"})
    assert malformed.status == 400 and "badRequest" in malformed.json


def test_version_table_is_sorted_unique_and_guarded() -> None:
    parsed = [Microversion.parse(v) for v, _ in versions.VERSIONS]
    assert parsed == sorted(set(parsed))
    assert all(comment for _, comment in versions.VERSIONS)
    assert str(versions.POLICY.maximum) == versions.MAX_VERSION == "2.96"


def test_at_least_refuses_versions_missing_from_the_table(apps: Apps) -> None:
    req = webob.Request.blank("/")
    req.environ["virtfleet.microversion"] = Microversion(2, 50)
    from virtfleet.api.wsgi import Request

    request = Request(req.environ)
    assert versions.at_least(request, "2.47")
    assert not versions.at_least(request, "2.53")
    try:
        versions.at_least(request, "2.48")
    except ValueError as exc:
        assert "2.48" in str(exc)
    else:  # pragma: no cover - the guard is the point of the test
        raise AssertionError("a version outside VERSIONS must be refused")


def test_limits(apps: Apps) -> None:
    absolute = apps.compute().get("/v2.1/limits").json["limits"]["absolute"]
    assert absolute["maxTotalInstances"] == -1 and absolute["totalInstancesUsed"] == 0
    assert "maxPersonality" not in absolute and "maxImageMeta" not in absolute
    old = apps.compute("2.1").get("/v2.1/limits").json["limits"]["absolute"]
    assert {"maxPersonality", "maxImageMeta", "maxSecurityGroups"} <= old.keys()


def test_zones_keypairs_extensions(apps: Apps) -> None:
    c = apps.compute()
    zones = c.get("/v2.1/os-availability-zone/detail").json["availabilityZoneInfo"]
    assert zones == [{"zoneName": "nova", "zoneState": {"available": False}, "hosts": {}}]
    assert c.get("/v2.1/os-availability-zone").status == 200
    assert c.get("/v2.1/os-keypairs").json == {"keypairs": []}
    assert c.get("/v2.1/extensions").json == {"extensions": []}
    assert c.get("/v2.1/os-aggregates").json == {"aggregates": []}


def test_root_document_lists_the_services() -> None:
    reply = Client(make_root_app(), "").get("/")
    services = {s["type"]: s["links"][0]["href"] for s in reply.json["services"]}
    assert services == {
        "compute": "http://localhost/compute/",
        "image": "http://localhost/image/",
        "network": "http://localhost/networking/",
        "placement": "http://localhost/placement/",
    }
    assert Client(make_root_app(), "").get("/nope").status == 404


def test_identity_stub_serves_only_discovery() -> None:
    client = Client(make_identity_stub_app(), "/identity")
    assert client.get("/").status == 300
    version = client.get("/v3").json["version"]
    assert version["id"].startswith("v3.")
    assert version["links"][0]["href"] == "http://localhost/identity/v3/"
    assert client.get("/v3/projects").status == 404
