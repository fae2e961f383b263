"""The dashboard's route table and policy, its session cookie and CSRF tokens, the
operator actions as Compute API requests, escaping, and its 4xx answers."""

from __future__ import annotations

import datetime
import json
import re
import uuid
from collections.abc import Iterable
from typing import Any

import pytest
import webob
from sqlalchemy import insert

from support.dashboard_app import Dashboard
from support.route_tables import check_route_table
from virtfleet.api.dashboard import session
from virtfleet.api.dashboard.routes import ROUTES
from virtfleet.api.policy import dashboard as dashboard_rules
from virtfleet.api.wsgi import StartResponse, WSGIEnviron
from virtfleet.db.engine import Database
from virtfleet.db.models.compute import Server
from virtfleet.db.models.hosts import ComputeNode

RULE = re.compile(r"virtfleet:dashboard:[a-z_]+")
EVIL = '<script>alert("x")</script>'
PAGES = (
    "/dashboard/",
    "/dashboard/hosts",
    "/dashboard/gpus",
    "/dashboard/servers",
    "/dashboard/migrations",
    "/dashboard/actions",
)
JSON = (
    "/dashboard/api/fleet",
    "/dashboard/api/hosts",
    "/dashboard/api/gpus",
    "/dashboard/api/servers",
    "/dashboard/api/migrations",
    "/dashboard/api/actions",
)


def add_host(db: Database, name: str, **fields: Any) -> None:
    now = datetime.datetime.now(datetime.UTC)
    row = {
        "uuid": str(uuid.uuid4()),
        "host": name,
        "hypervisor_type": "QEMU",
        "hypervisor_version": 8002000,
        "hypervisor_hostname": name,
        "vcpus": 8,
        "memory_mb": 8192,
        "local_gb": 100,
        "state": "up",
        "status": "enabled",
        "cpu_info": {"arch": "x86_64", "emulated_arches": ["aarch64"], "maxphysaddr_bits": 46},
        "created_at": now,
        "updated_at": now,
        **fields,
    }
    with db.write() as conn:
        conn.execute(insert(ComputeNode.__table__), [row])


def add_server(db: Database, name: str, host: str | None = None) -> str:
    server_uuid = str(uuid.uuid4())
    with db.write() as conn:
        conn.execute(
            insert(Server.__table__),
            [
                {
                    "uuid": server_uuid,
                    "name": name,
                    "project_id": "p",
                    "user_id": "u",
                    "flavor": {"name": "small"},
                    "image_ref": str(uuid.uuid4()),
                    "image": {},
                    "guest_request": {"arch": "aarch64", "emulated": True},
                    "vm_state": "active",
                    "task_state": None,
                    "host": host,
                }
            ],
        )
    return server_uuid


@pytest.fixture
def dash(db: Database) -> Dashboard:
    return Dashboard(db)


def test_every_route_has_a_handler_and_a_registered_rule() -> None:
    check_route_table(ROUTES, RULE)
    registered = {rule.name for rule in dashboard_rules.RULES}
    assert {route.policy for route in ROUTES} == registered


@pytest.mark.parametrize("path", PAGES + JSON)
def test_an_admin_sees_every_page_and_a_member_gets_403_naming_the_rule(
    dash: Dashboard, path: str
) -> None:
    assert dash.get(path).status_int == 200
    refused = dash.get(path, roles="member")
    assert refused.status_int == 403
    assert re.search(r"virtfleet:dashboard:[a-z_]+", refused.text)
    if "/api/" in path:
        assert refused.json["error"]["code"] == 403


def test_pages_escape_names_and_carry_no_inline_script(db: Database, dash: Dashboard) -> None:
    add_host(db, EVIL)
    add_server(db, EVIL, host=EVIL)
    for path in ("/dashboard/hosts", "/dashboard/servers", "/dashboard/?notice=" + EVIL):
        page = dash.get(path)
        assert page.status_int == 200
        assert EVIL not in page.text
        assert "notice=" in path or "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]
        scripts = re.findall(r"<script[^>]*>", page.text)
        assert scripts == ['<script src="/dashboard/static/dashboard.js" defer>']
    missing = dash.get("/dashboard/hosts/" + "%3Cscript%3E")
    assert missing.status_int == 404 and "&lt;script&gt;" in missing.text


def test_the_session_cookie_is_http_only_strict_and_scoped(dash: Dashboard) -> None:
    page = dash.get("/dashboard/")
    cookie = page.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/dashboard" in cookie
    assert dash.cookie and session.csrf_token(dash.cookie) in page.text
    assert dash.cookie not in page.text  # the session value itself is never in a page


def test_live_migrate_needs_the_sessions_csrf_token(db: Database, dash: Dashboard) -> None:
    server = add_server(db, "vm", host="h1")
    path = f"/dashboard/servers/{server}/live-migrate"
    form = {"host": "h2", "next": "/dashboard/migrations"}
    dash.get("/dashboard/")  # the session
    for bad in ({}, {"csrf": "0" * 64}, {"csrf": session.csrf_token("another session")}):
        refused = dash.post(path, {**form, **bad})
        assert refused.status_int == 403 and "CSRF token" in refused.text
    assert dash.compute.seen == []
    done = dash.post(path, {**form, "csrf": dash.csrf()})
    assert done.status_int == 303
    assert done.location.endswith("/dashboard/migrations?notice=live-migrate")
    assert dash.compute.seen == [
        {
            "method": "POST",
            "path": f"/v2.1/servers/{server}/action",
            "body": {"os-migrateLive": {"host": "h2", "block_migration": "auto"}},
            "roles": None,
            "version": "compute 2.80",
        }
    ]


def test_a_form_from_a_new_browser_without_a_page_is_refused(db: Database) -> None:
    fresh = Dashboard(db)  # no cookie yet: a cross-site form would look like this
    refused = fresh.post("/dashboard/servers/x/delete", {"csrf": session.csrf_token("guess")})
    assert refused.status_int == 403


def test_a_refused_action_shows_the_compute_apis_message_escaped(
    db: Database, dash: Dashboard
) -> None:
    server = add_server(db, "vm", host="h1")
    dash.compute.status = 409
    dash.compute.body = {"conflictingRequest": {"code": 409, "message": f"Cannot {EVIL}"}}
    shown = dash.post(f"/dashboard/servers/{server}/delete", {"csrf": dash.csrf()})
    assert shown.status_int == 409
    assert "Cannot &lt;script&gt;" in shown.text and EVIL not in shown.text
    assert dash.compute.seen[-1]["method"] == "DELETE"


def test_disable_and_enable_a_host_as_os_services_requests(db: Database, dash: Dashboard) -> None:
    add_host(db, "h1")
    csrf = dash.csrf()
    done = dash.post("/dashboard/hosts/h1/disable", {"csrf": csrf, "reason": "maintenance"})
    assert done.status_int == 303 and done.location.endswith("notice=disable")
    sent = dash.compute.seen[-1]
    assert sent["method"] == "PUT" and sent["path"].startswith("/v2.1/os-services/")
    assert sent["body"] == {"status": "disabled", "disabled_reason": "maintenance"}
    assert dash.post("/dashboard/hosts/h1/enable", {"csrf": csrf}).status_int == 303
    assert dash.compute.seen[-1]["body"] == {"status": "enabled"}
    missing = dash.post("/dashboard/hosts/nope/disable", {"csrf": csrf})
    assert missing.status_int == 404 and "Host &#39;nope&#39;" in missing.text


def test_actions_refuse_other_media_types_and_long_fields(db: Database, dash: Dashboard) -> None:
    server = add_server(db, "vm")
    path = f"/dashboard/servers/{server}/live-migrate"
    assert dash.post(path, {}, raw=b"{}").status_int == 415
    long = dash.post(path, {"csrf": dash.csrf(), "host": "h" * 256})
    assert long.status_int == 400 and "&#39;host&#39;" in long.text


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("limit=0", "'limit'"),
        ("limit=501", "'limit'"),
        ("offset=-1", "'offset'"),
        ("offset=abc", "'offset'"),
        ("state=sideways", "'state'"),
        ("name=" + "n" * 300, "'name'"),
    ],
)
def test_bad_query_parameters_are_400_naming_them(dash: Dashboard, query: str, named: str) -> None:
    answer = dash.get(f"/dashboard/api/hosts?{query}")
    assert answer.status_int == 400 and named in answer.json["error"]["message"]
    assert dash.get(f"/dashboard/hosts?{query}").status_int == 400


def test_static_files_and_unknown_ones(dash: Dashboard) -> None:
    script = dash.get("/dashboard/static/dashboard.js")
    assert script.status_int == 200 and script.content_type == "text/javascript"
    assert "textContent" in script.text and "innerHTML" not in script.text
    assert dash.get("/dashboard/static/../../etc/passwd").status_int == 404
    assert dash.get("/dashboard/static/secret.py").status_int == 404


def test_the_login_page_in_the_test_mode_says_there_is_nothing_to_log_in_to(
    dash: Dashboard,
) -> None:
    page = dash.get("/dashboard/login")
    assert page.status_int == 200 and "noauth" in page.text


@pytest.mark.parametrize(
    ("wanted", "kept"),
    [
        ("/dashboard/hosts?x=1", "/dashboard/hosts?x=1"),
        ("https://evil.example/", "/dashboard/"),
        ("//evil.example/dashboard/", "/dashboard/"),
        ("/dashboard/\\evil", "/dashboard/"),
        ("/dashboard/login", "/dashboard/"),
        (None, "/dashboard/"),
    ],
)
def test_next_locations_stay_in_the_dashboard(wanted: str | None, kept: str) -> None:
    assert session.safe_next(wanted) == kept


# ------------------------------------------------------------- with Keystone tokens


class TokenChecker:
    """Stands in for auth_token + the APIs: 401 for the token ``expired``."""

    def __init__(self) -> None:
        self.tokens: list[str | None] = []

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        token = environ.get("HTTP_X_AUTH_TOKEN")
        self.tokens.append(token)
        status = "401 Unauthorized" if token == "expired" else "200 OK"
        start_response(status, [("Content-Type", "application/json")])
        return [json.dumps({"token": token}).encode()]


def keystone_get(
    path: str, cookie: str | None = None, header: str | None = None
) -> tuple[webob.Response, TokenChecker]:
    checker = TokenChecker()
    req = webob.Request.blank(path)
    if cookie:
        req.headers["Cookie"] = f"{session.COOKIE}={cookie}"
    if header:
        req.headers["X-Auth-Token"] = header
    return req.get_response(session.SessionGate(checker, noauth=False)), checker


def test_with_keystone_a_browser_without_a_session_goes_to_the_login_page() -> None:
    resp, checker = keystone_get("/dashboard/hosts?name=a")
    assert resp.status_int == 303
    assert resp.location.endswith("/dashboard/login?next=%2Fdashboard%2Fhosts%3Fname%3Da")
    assert checker.tokens == []  # never reached the APIs
    api, _ = keystone_get("/dashboard/api/hosts")
    assert api.status_int == 200  # JSON is left to auth_token (its 401)


def test_with_keystone_the_cookie_is_the_requests_token() -> None:
    resp, checker = keystone_get("/dashboard/", cookie="tok-1")
    assert resp.status_int == 200 and checker.tokens == ["tok-1"]
    resp, checker = keystone_get("/dashboard/", cookie="tok-1", header="tok-2")
    assert checker.tokens == ["tok-2"]  # an API client's own header wins
    resp, checker = keystone_get("/compute/v2.1/servers", cookie="tok-1")
    assert checker.tokens == [None]  # the cookie is the dashboard's only


def test_with_keystone_an_expired_token_sends_the_browser_to_log_in_again() -> None:
    resp, _ = keystone_get("/dashboard/servers", cookie="expired")
    assert resp.status_int == 303 and "/dashboard/login?next=" in resp.location
    assert "Max-Age=0" in resp.headers["Set-Cookie"]
    api, _ = keystone_get("/dashboard/api/servers", cookie="expired")
    assert api.status_int == 401  # scripts see the 401 (and reload the page)
