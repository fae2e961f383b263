"""Authentication of every API request: keystonemiddleware's ``auth_token``.

With ``[api] auth_strategy = keystone`` (the default) a request needs a valid Keystone
token (``X-Auth-Token``), else it gets 401 with ``WWW-Authenticate: Keystone uri=...``;
``auth_token`` replaces the caller's ``X-Roles`` / ``X-Project-Id`` / ``X-User-Id``
headers with those of the token, which is what the handlers and the policy read. Only
the version documents are served without a token (clients discover versions first).

``noauth`` skips all of it and trusts the caller's headers: it exists for tests and is
logged as a warning when an application is built with it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from keystonemiddleware import auth_token
from oslo_config import cfg

from virtfleet.api import token_cache
from virtfleet.api.wsgi import StartResponse, WSGIEnviron

LOG = logging.getLogger(__name__)

WSGIApp = Callable[[WSGIEnviron, StartResponse], Iterable[bytes]]

#: The dashboard's login page, logging out, its script and style (its other pages take
#: the token from the session cookie: :mod:`virtfleet.api.dashboard.session`).
DASHBOARD_PUBLIC_PATHS = frozenset(
    {
        "/dashboard/login",
        "/dashboard/logout",
        "/dashboard/static/dashboard.js",
        "/dashboard/static/dashboard.css",
    }
)

#: Paths answered without a token: the root and each API's version documents.
PUBLIC_PATHS = frozenset(
    {
        "/",
        "/compute",
        "/compute/",
        "/compute/v2.1",
        "/compute/v2.1/",
        "/image",
        "/image/",
        "/image/versions",
        "/image/v2",
        "/image/v2/",
        "/networking",
        "/networking/",
        "/networking/v2.0",
        "/networking/v2.0/",
        "/placement",
        "/placement/",
    }
    | DASHBOARD_PUBLIC_PATHS
)

#: Request headers that only auth_token may set; a public path never sees a caller's.
IDENTITY_HEADERS = (
    "HTTP_X_IDENTITY_STATUS",
    "HTTP_X_SERVICE_IDENTITY_STATUS",
    "HTTP_X_ROLES",
    "HTTP_X_PROJECT_ID",
    "HTTP_X_USER_ID",
    "HTTP_X_SERVICE_ROLES",
)

NOAUTH_WARNING = (
    "[api] auth_strategy = noauth: the APIs do NOT authenticate requests; anyone who "
    "reaches the port is an administrator. For tests only, never on a network."
)


def is_noauth(conf: cfg.ConfigOpts) -> bool:
    return bool(conf.api.auth_strategy == "noauth")


class AuthGate:
    """Public paths go to ``app`` directly, everything else through ``auth_token``."""

    def __init__(self, app: WSGIApp, conf: cfg.ConfigOpts) -> None:
        self.app = app
        # tokens are cached in virtfleet's bounded cache (api/token_cache.py), handed
        # over in the environment, unless memcached is configured
        settings = {"oslo_config_config": conf, "cache": token_cache.ENVIRON_KEY}
        self.protected: WSGIApp = auth_token.AuthProtocol(app, settings)
        shared = bool(conf.keystone_authtoken.memcached_servers)
        self.token_cache = None if shared else token_cache.TokenCache()

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "") in PUBLIC_PATHS:
            for key in IDENTITY_HEADERS:
                environ.pop(key, None)
            return self.app(environ, start_response)
        if self.token_cache is not None:
            environ[token_cache.ENVIRON_KEY] = self.token_cache
        return self.protected(environ, start_response)


def protect(app: WSGIApp, conf: cfg.ConfigOpts) -> WSGIApp:
    """``app`` behind the authentication that ``[api] auth_strategy`` names."""
    if is_noauth(conf):
        LOG.warning(NOAUTH_WARNING)
        return app
    return AuthGate(app, conf)
