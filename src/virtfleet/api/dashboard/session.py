"""The browser's session: a Keystone token kept in an HttpOnly, SameSite=Strict cookie
scoped to ``/dashboard``, and the per-session CSRF token of the dashboard's forms.

:class:`SessionGate` sits in front of authentication: for a ``/dashboard`` request it
hands the cookie's token to keystonemiddleware as ``X-Auth-Token`` (so a dashboard
request is checked exactly as an API request is), sends a browser without a valid
token to the login page, and in the unauthenticated test mode (``noauth``) gives the
browser a random session value instead, so forms carry a CSRF token there too.
An API client may send ``X-Auth-Token`` itself; such a request is not a browser's
and needs no CSRF token (a cross-site form cannot set that header).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import urllib.parse
from collections.abc import Iterable
from http import cookies
from typing import Any

from virtfleet.api.auth import DASHBOARD_PUBLIC_PATHS, WSGIApp
from virtfleet.api.wsgi import StartResponse, WSGIEnviron

PREFIX = "/dashboard"
COOKIE = "virtfleet_dashboard"
#: The request's session value (the token, or the test mode's random value).
SESSION_KEY = "virtfleet.dashboard.session"
#: True when the session value came from the cookie (a browser): forms need CSRF.
FROM_COOKIE_KEY = "virtfleet.dashboard.from_cookie"
#: Paths served to anyone (the login form, logging out, the script and style).
PUBLIC = DASHBOARD_PUBLIC_PATHS
#: At most this many characters of cookie are taken as a token (Fernet tokens are ~200).
MAX_TOKEN = 4096


def csrf_token(session: str) -> str:
    """The CSRF token of a session: a one-way digest of the session value, so a page
    shows it without showing the token, and it is the same on every server."""
    return hashlib.sha256(b"virtfleet dashboard csrf\0" + session.encode()).hexdigest()


def csrf_ok(session: str | None, offered: str | None) -> bool:
    if not session or not offered:
        return False
    return hmac.compare_digest(csrf_token(session), offered)


def cookie_header(value: str, max_age: int, secure: bool) -> tuple[str, str]:
    """``Set-Cookie`` keeping ``value`` for ``max_age`` seconds (0: delete it)."""
    parts = [
        f"{COOKIE}={value}",
        f"Path={PREFIX}",
        f"Max-Age={max(max_age, 0)}",
        "HttpOnly",
        "SameSite=Strict",
    ]
    if secure:
        parts.append("Secure")
    return ("Set-Cookie", "; ".join(parts))


def is_secure(environ: WSGIEnviron) -> bool:
    return environ.get("wsgi.url_scheme") == "https"


def read_cookie(environ: WSGIEnviron) -> str | None:
    jar = cookies.SimpleCookie()
    try:
        jar.load(environ.get("HTTP_COOKIE", ""))
    except cookies.CookieError:
        return None
    morsel = jar.get(COOKIE)
    if morsel is None or not morsel.value or len(morsel.value) > MAX_TOKEN:
        return None
    return morsel.value


def login_location(environ: WSGIEnviron) -> str:
    """The login page, with the page asked for as ``next``."""
    wanted = environ.get("PATH_INFO", "") or PREFIX
    query = environ.get("QUERY_STRING", "")
    if query:
        wanted += "?" + query
    return f"{PREFIX}/login?" + urllib.parse.urlencode({"next": wanted})


def safe_next(value: str | None) -> str:
    """A ``next`` location that stays in the dashboard (no open redirect)."""
    if (
        value
        and value.startswith(f"{PREFIX}/")
        and not value.startswith("//")
        and "\\" not in value
        and not any(ord(c) < 0x20 for c in value)
        and not value.startswith(f"{PREFIX}/login")
    ):
        return value
    return f"{PREFIX}/"


def _is_page(environ: WSGIEnviron) -> bool:
    """A page a browser navigates to (a redirect to the login page helps it)."""
    path = str(environ.get("PATH_INFO", ""))
    return environ.get("REQUEST_METHOD") == "GET" and not path.startswith(f"{PREFIX}/api/")


def _redirect(
    start_response: StartResponse, location: str, clear: bool, secure: bool
) -> list[bytes]:
    headers = [("Location", location), ("Content-Type", "text/plain"), ("Content-Length", "0")]
    if clear:
        headers.append(cookie_header("", 0, secure))
    start_response("303 See Other", headers)
    return [b""]


class SessionGate:
    """The dashboard's cookie in front of ``app`` (the authenticated application)."""

    def __init__(self, app: WSGIApp, noauth: bool) -> None:
        self.app = app
        self.noauth = noauth

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        if path != PREFIX and not path.startswith(f"{PREFIX}/"):
            return self.app(environ, start_response)
        cookie = read_cookie(environ)
        if self.noauth:
            return self._noauth(environ, start_response, cookie)
        header = environ.get("HTTP_X_AUTH_TOKEN")
        if header:
            environ[SESSION_KEY], environ[FROM_COOKIE_KEY] = header, False
        elif cookie:
            environ["HTTP_X_AUTH_TOKEN"] = cookie
            environ[SESSION_KEY], environ[FROM_COOKIE_KEY] = cookie, True
        if path in PUBLIC:
            return self.app(environ, start_response)
        if not header and not cookie and _is_page(environ):
            return _redirect(start_response, login_location(environ), False, is_secure(environ))
        if not _is_page(environ):
            return self.app(environ, start_response)
        return self._page(environ, start_response, cookie is not None and not header)

    def _page(
        self, environ: WSGIEnviron, start_response: StartResponse, by_cookie: bool
    ) -> Iterable[bytes]:
        """A page: a token Keystone refused (expired, revoked) sends the browser to
        the login page and forgets the cookie."""
        refused: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if status.startswith("401"):
                refused["status"] = status
                return lambda data: None
            return start_response(status, headers, exc_info)

        body = self.app(environ, capture)
        if not refused:
            return body
        close = getattr(body, "close", None)
        if close is not None:
            close()
        return _redirect(start_response, login_location(environ), by_cookie, is_secure(environ))

    def _noauth(
        self, environ: WSGIEnviron, start_response: StartResponse, cookie: str | None
    ) -> Iterable[bytes]:
        """Test mode: identity from the headers as the API's; a random session value
        in the cookie so that forms still carry (and need) a CSRF token."""
        if cookie:
            environ[SESSION_KEY], environ[FROM_COOKIE_KEY] = cookie, True
            return self.app(environ, start_response)
        minted = secrets.token_urlsafe(32)
        environ[SESSION_KEY], environ[FROM_COOKIE_KEY] = minted, True
        environ["virtfleet.dashboard.minted"] = True  # a form must come from a page

        def with_cookie(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            headers = [*headers, cookie_header(minted, 12 * 3600, is_secure(environ))]
            return start_response(status, headers, exc_info)

        return self.app(environ, with_cookie)
