"""An embedded cloud whose APIs validate tokens against the session's real Keystone
(``[keystone_authtoken]``, as `virtfleet server` does), with two projects that have a
member each."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from keystoneauth1 import session as ks_session

from support.clouds import EmbeddedView, Recipe, admin_session
from virtfleet.identity import catalog
from virtfleet.identity.session import password_session

FLEET = """
hosts:
  - {name: kvm-a, arch: x86_64, virt_type: kvm, cpus: 8, memory_mb: 16384, disk_gb: 100}
"""
MEMBER_PASSWORD = "member-password-0"
RECIPE = Recipe(fleet=FLEET, source="identity-fleet.yaml", auth="keystone")
MEMBERS = (("project-a", "member-a"), ("project-b", "member-b"))


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class IdentityCloud(EmbeddedView):
    """The cloud, its Keystone, and sessions of the admin and of each project member
    (:func:`add_members`)."""

    sessions: dict[str, ks_session.Session] = field(default_factory=dict)

    def token(self, who: str) -> str:
        return str(self.sessions[who].get_token())

    def call(
        self,
        method: str,
        path: str,
        who: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Reply:
        """One request as ``who`` (None: anonymous) with a JSON ``body`` or ``raw``
        bytes; never raises on an HTTP status."""
        data = raw if raw is not None else json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.endpoint + path, data=data, method=method)
        req.add_header("Accept", "application/json")
        if body is not None:
            req.add_header("Content-Type", "application/json")
        if raw is not None:
            req.add_header("Content-Type", "application/octet-stream")
        for key, value in (headers or {}).items():
            req.add_header(key, value)
        if who is not None:
            req.add_header("X-Auth-Token", self.token(who))
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                raw, status, got = resp.read(), resp.status, dict(resp.headers)
        except urllib.error.HTTPError as exc:
            raw, status, got = exc.read(), exc.code, dict(exc.headers)
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        return Reply(status, parsed, got)


def ensure_member(admin: catalog.IdentityAdmin, project: str, user: str) -> None:
    """Project ``project`` with user ``user`` holding the ``member`` role in it."""
    base = admin.base
    session = admin.session
    found = session.get(f"{base}/projects?name={project}").json()["projects"]
    project_id = (
        found[0]["id"]
        if found
        else session.post(
            f"{base}/projects", json={"project": {"name": project, "domain_id": "default"}}
        ).json()["project"]["id"]
    )
    users = session.get(f"{base}/users?name={user}").json()["users"]
    user_id = (
        users[0]["id"]
        if users
        else session.post(
            f"{base}/users",
            json={"user": {"name": user, "domain_id": "default", "password": MEMBER_PASSWORD}},
        ).json()["user"]["id"]
    )
    role_id = session.get(f"{base}/roles?name=member").json()["roles"][0]["id"]
    session.put(f"{base}/projects/{project_id}/users/{user_id}/roles/{role_id}")


def add_members(cloud: IdentityCloud, members: tuple[tuple[str, str], ...] = MEMBERS) -> None:
    """Projects with a member each (default: two), and sessions of the admin and the
    members."""
    assert cloud.keystone is not None, "an identity cloud's recipe has auth='keystone'"
    keystone = cloud.keystone
    admin = catalog.IdentityAdmin(admin_session(keystone), keystone.auth_url)
    for project, user in members:
        ensure_member(admin, project, user)
    cloud.sessions["admin"] = admin_session(keystone)
    for project, user in members:
        cloud.sessions[user] = password_session(keystone.auth_url, user, MEMBER_PASSWORD, project)
