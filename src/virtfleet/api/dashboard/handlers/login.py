"""Logging in and out. The login form takes a username, password and project (in the
Default domain unless given), asks Keystone (``[keystone_authtoken]
www_authenticate_uri``) for a project-scoped token, and keeps it in the session cookie
until the token expires; the password is never stored. Logging out forgets the cookie.
In the test mode (``noauth``) there is nothing to log in to: the login page says so."""

from __future__ import annotations

import datetime
import logging

import webob
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from oslo_config import cfg

from virtfleet.api.dashboard import render, session
from virtfleet.api.dashboard.deps import DashboardDeps
from virtfleet.api.wsgi import Request
from virtfleet.identity.layout import DOMAIN

LOG = logging.getLogger(__name__)
MAX_FIELD = 255
KEYSTONE_TIMEOUT = 30.0


def form(deps: DashboardDeps, req: Request) -> webob.Response:
    """GET /dashboard/login: the login form (``next``: the page to go to after)."""
    return render.page(
        req,
        "login.html",
        noauth=deps.noauth,
        next=session.safe_next(req.GET.get("next")),
        error="",
        username="",
        project="",
    )


def login(deps: DashboardDeps, req: Request) -> webob.Response:
    """POST /dashboard/login: a token for ``username``/``password`` in ``project``
    (``domain`` optional), kept in the session cookie; the form again with the reason
    when Keystone refuses."""
    target = session.safe_next(req.POST.get("next"))
    if deps.noauth:
        return webob.Response(status=303, location=target)
    fields = {k: str(req.POST.get(k, "")).strip() for k in ("username", "project", "domain")}
    password = str(req.POST.get("password", ""))
    missing = [k for k in ("username", "project") if not fields[k]] + (
        [] if password else ["password"]
    )
    too_long = [k for k, v in {**fields, "password": password}.items() if len(v) > MAX_FIELD]

    def again(status: int, error: str) -> webob.Response:
        return render.page(
            req,
            "login.html",
            status=status,
            noauth=False,
            next=target,
            error=error,
            username=fields["username"][:MAX_FIELD],
            project=fields["project"][:MAX_FIELD],
        )

    if missing:
        return again(400, f"Please fill in: {', '.join(missing)}.")
    if too_long:
        return again(400, f"Too long (at most {MAX_FIELD} characters): {', '.join(too_long)}.")
    auth_url = _keystone_url(deps.conf)
    if not auth_url:
        return again(503, "This cloud has no Keystone configured ([keystone_authtoken]).")
    domain = fields["domain"] or DOMAIN
    auth = v3.Password(
        auth_url=auth_url,
        username=fields["username"],
        password=password,
        project_name=fields["project"],
        user_domain_name=domain,
        project_domain_name=domain,
    )
    try:
        access = auth.get_access(ks_session.Session(timeout=KEYSTONE_TIMEOUT))
    except ks_exceptions.Unauthorized:
        return again(401, "Keystone refused these credentials (username, password or project).")
    except ks_exceptions.ClientException as exc:
        LOG.warning("dashboard login: Keystone at %s did not answer: %s", auth_url, exc)
        return again(503, f"Keystone at {auth_url} did not answer; try again later.")
    lifetime = _seconds_left(access.expires)
    if not access.auth_token:  # Keystone always sends one with a 201
        return again(503, f"Keystone at {auth_url} answered without a token.")
    resp = webob.Response(status=303, location=target)
    name, value = session.cookie_header(access.auth_token, lifetime, session.is_secure(req.environ))
    resp.headers.add(name, value)
    return resp


def logout(deps: DashboardDeps, req: Request) -> webob.Response:
    """POST /dashboard/logout: forget the session cookie, back to the login page."""
    resp = webob.Response(status=303, location=f"{session.PREFIX}/login")
    name, value = session.cookie_header("", 0, session.is_secure(req.environ))
    resp.headers.add(name, value)
    return resp


def _keystone_url(conf: cfg.ConfigOpts | None) -> str | None:
    if conf is None:
        return None
    try:
        found = conf.keystone_authtoken.www_authenticate_uri
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
        return None
    return str(found) if found else None


def _seconds_left(expires: datetime.datetime | None) -> int:
    if expires is None:
        return 3600
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=datetime.UTC)
    return max(int((expires - datetime.datetime.now(datetime.UTC)).total_seconds()), 0)
