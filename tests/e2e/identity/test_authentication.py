"""Every API request needs a valid Keystone token; only version documents do not."""

from __future__ import annotations

import pytest

from support.clouds import admin_session
from support.identity_cloud import MEMBER_PASSWORD, IdentityCloud, ensure_member
from virtfleet.identity import catalog
from virtfleet.identity.session import password_session

PROTECTED = [
    ("GET", "/compute/v2.1/servers"),
    ("GET", "/compute/v2.1/flavors"),
    ("GET", "/compute/v2.1/os-hypervisors"),
    ("GET", "/image/v2/images"),
    ("GET", "/placement/resource_providers"),
    ("DELETE", "/placement/allocations/7d8f3c1e-0000-4000-8000-000000000001"),
    ("PUT", "/placement/resource_providers/7d8f3c1e-0000-4000-8000-000000000002/inventories"),
]
PUBLIC = ["/", "/compute/", "/compute/v2.1", "/image/versions", "/placement/"]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_anonymous_request_is_401_with_where_to_authenticate(
    cloud: IdentityCloud, method: str, path: str
) -> None:
    reply = cloud.call(method, path, body={} if method == "PUT" else None)
    assert reply.status == 401, reply.body
    assert reply.headers["WWW-Authenticate"] == f'Keystone uri="{cloud.keystone.auth_url}"'


def test_a_made_up_token_is_401(cloud: IdentityCloud) -> None:
    reply = cloud.call("GET", "/compute/v2.1/servers", headers={"X-Auth-Token": "gAAAAAbogus"})
    assert reply.status == 401


def test_claimed_roles_without_a_token_are_401(cloud: IdentityCloud) -> None:
    headers = {"X-Roles": "admin", "X-Project-Id": "admin", "X-Identity-Status": "Confirmed"}
    assert cloud.call("GET", "/compute/v2.1/servers", headers=headers).status == 401


@pytest.mark.parametrize("path", PUBLIC)
def test_version_documents_need_no_token(cloud: IdentityCloud, path: str) -> None:
    assert cloud.call("GET", path).status in (200, 300)


def test_a_valid_token_is_served(cloud: IdentityCloud) -> None:
    assert cloud.call("GET", "/compute/v2.1/servers", "admin").status == 200
    assert cloud.call("GET", "/image/v2/images", "admin").status == 200
    assert cloud.call("GET", "/placement/resource_providers", "admin").status == 200


def test_the_token_decides_the_project_not_the_headers(cloud: IdentityCloud) -> None:
    reply = cloud.call(
        "POST",
        "/image/v2/images",
        "member-a",
        body={"name": "mine", "disk_format": "raw", "container_format": "bare"},
        headers={"X-Project-Id": "someone-else"},
    )
    assert reply.status == 201, reply.body
    project_a = cloud.sessions["member-a"].get_project_id()
    assert reply.body["owner"] == project_a


def test_metrics_need_a_token_and_the_metrics_reader_role(cloud: IdentityCloud) -> None:
    """``/metrics`` against the real Keystone: anonymous 401, a project member 403, a
    user given the ``metrics_reader`` role (as docs/observability.md says) and the admin
    200 with the exposition."""
    assert cloud.keystone is not None
    admin = catalog.IdentityAdmin(admin_session(cloud.keystone), cloud.keystone.auth_url)
    ensure_member(admin, "project-a", "scraper")
    base, session = admin.base, admin.session
    roles = session.get(f"{base}/roles?name=metrics_reader").json()["roles"]
    role_id = (
        roles[0]["id"]
        if roles
        else session.post(f"{base}/roles", json={"role": {"name": "metrics_reader"}}).json()[
            "role"
        ]["id"]
    )
    project_id = session.get(f"{base}/projects?name=project-a").json()["projects"][0]["id"]
    user_id = session.get(f"{base}/users?name=scraper").json()["users"][0]["id"]
    session.put(f"{base}/projects/{project_id}/users/{user_id}/roles/{role_id}")
    cloud.sessions["scraper"] = password_session(
        cloud.keystone.auth_url, "scraper", MEMBER_PASSWORD, "project-a"
    )

    anonymous = cloud.call("GET", "/metrics")
    assert anonymous.status == 401
    assert anonymous.headers["WWW-Authenticate"] == f'Keystone uri="{cloud.keystone.auth_url}"'
    member = cloud.call("GET", "/metrics", "member-a")
    assert member.status == 403, member.body
    assert "virtfleet:metrics" in str(member.body)
    for who in ("scraper", "admin"):
        reply = cloud.call("GET", "/metrics", who)
        assert reply.status == 200, (who, reply.body)
        assert reply.headers["Content-Type"].startswith("text/plain")
        assert "virtfleet_api_request_duration_seconds_count{" in reply.body
