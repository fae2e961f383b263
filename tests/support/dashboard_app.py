"""The dashboard as the control plane mounts it (session gate, authorizer, router) in
the test mode, over a test's database, with a stand-in Compute API that records the
requests the operator actions send and answers as told."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import webob

from virtfleet import conf as vconf
from virtfleet.api.dashboard import make_dashboard_app
from virtfleet.api.dashboard.deps import DashboardDeps
from virtfleet.api.dashboard.session import SessionGate
from virtfleet.api.policy.enforcer import Authorizer, with_authorizer
from virtfleet.api.wsgi import PrefixDispatcher, StartResponse, WSGIEnviron
from virtfleet.db.engine import Database


@dataclass
class FakeCompute:
    """Answers every request with ``status`` and ``body``; keeps what it was sent."""

    status: int = 202
    body: Any = None
    seen: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        req = webob.Request(environ)
        self.seen.append(
            {
                "method": req.method,
                "path": req.path_info,
                "body": json.loads(req.body) if req.body else None,
                "roles": req.headers.get("X-Roles"),
                "version": req.headers.get("OpenStack-API-Version"),
            }
        )
        resp = webob.Response(status=self.status)
        if self.body is not None:
            resp.body = json.dumps(self.body).encode()
            resp.content_type = "application/json"
        result: Iterable[bytes] = resp(environ, start_response)
        return result


def _root(environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not here"]


@dataclass
class Dashboard:
    db: Database
    compute: FakeCompute = field(default_factory=FakeCompute)
    cookie: str | None = None

    def __post_init__(self) -> None:
        conf = vconf.make_conf(api__auth_strategy="noauth", compute__host_down_after=0)
        app = make_dashboard_app(DashboardDeps(self.db, conf, self.compute))
        apis = PrefixDispatcher({"dashboard": app}, root=_root)
        self.app = SessionGate(with_authorizer(apis, Authorizer(conf)), noauth=True)

    def get(self, path: str, roles: str | None = None) -> webob.Response:
        req = webob.Request.blank(path)
        return self._send(req, roles)

    def post(
        self, path: str, form: dict[str, str], roles: str | None = None, raw: bytes | None = None
    ) -> webob.Response:
        req = webob.Request.blank(path, method="POST", POST=form)
        if raw is not None:
            req.body = raw
            req.content_type = "application/json"
        return self._send(req, roles)

    def _send(self, req: webob.Request, roles: str | None) -> webob.Response:
        if roles is not None:
            req.headers["X-Roles"] = roles
        if self.cookie is not None:
            req.headers["Cookie"] = f"virtfleet_dashboard={self.cookie}"
        resp = req.get_response(self.app)
        found = re.search(r"virtfleet_dashboard=([^;]*)", resp.headers.get("Set-Cookie", ""))
        if found and self.cookie is None:
            self.cookie = found[1]
        return resp

    def csrf(self, page: str = "/dashboard/servers") -> str:
        """The CSRF token a page of this session's forms carry."""
        found = re.search(r'name="csrf" value="([0-9a-f]+)"', self.get(page).text)
        assert found, "the page has no form with a CSRF token"
        return found[1]
