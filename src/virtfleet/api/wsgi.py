"""A small WSGI toolkit shared by the three APIs: one route table per API, JSON
helpers, microversion parsing, and errors that each API renders in its own format.

Every API has the same shape: a ``routes.py`` whose ``ROUTES`` rows are
:class:`Route` (method, path template, handler, policy rule name), handlers in
``handlers/<resource>.py`` that take the API's dependencies first
(``handler(deps, req, **path_params) -> Response``), bound with :func:`bind` and served
by a :class:`Router`. Handlers raise :class:`HTTPError` (or a :mod:`virtfleet.errors`
exception, which the API's error mapper turns into one). Nothing here knows which API
it serves.
"""

from __future__ import annotations

import functools
import io
import json
import math
import re
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import webob

from virtfleet import errors

Handler = Callable[..., webob.Response]
WSGIEnviron = dict[str, Any]
StartResponse = Callable[..., Any]


class Request(webob.Request):  # type: ignore[misc]
    """A webob request with JSON and microversion helpers."""

    def json_body_or_400(self) -> Any:
        """The decoded JSON body; malformed or missing JSON is a 400 naming the problem.

        Strict JSON only: no ``NaN``/``Infinity``, numbers a database column can hold
        (integers of 64 bits, finite floats), no lone UTF-16 surrogates in strings,
        nesting at most :data:`MAX_JSON_DEPTH` deep; a body over
        :data:`MAX_JSON_BODY_BYTES` is a 413.
        """
        if (self.content_length or 0) > MAX_JSON_BODY_BYTES:
            raise _too_large(f"{self.content_length} bytes")
        if not self.body:
            raise HTTPError(400, "Malformed request body: the body is empty, JSON expected.")
        try:
            data = json.loads(self.body, parse_constant=_refuse_constant)
        except RecursionError:
            raise HTTPError(400, "Malformed request body: JSON nested too deeply.") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise HTTPError(400, f"Malformed request body: {exc}.") from None
        _check_json_values(data)
        return data

    @property
    def microversion(self) -> Microversion:
        mv = self.environ.get("virtfleet.microversion")
        if not isinstance(mv, Microversion):
            raise RuntimeError("microversion was not negotiated for this request")
        return mv

    @property
    def request_id(self) -> str:
        rid = self.environ.setdefault(REQUEST_ID_ENVIRON_KEY, f"req-{uuid.uuid4()}")
        return str(rid)


MAX_JSON_DEPTH = 64
#: No API body comes near this (Nova's default limit is 112 KiB); image data is not
#: JSON and is streamed, so uploads are not bounded by it.
MAX_JSON_BODY_BYTES = 1024 * 1024
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON (numbers must be finite)")


def _check_json_values(data: Any) -> None:
    """400 naming the JSON pointer of the first value no handler could store: an
    integer beyond 64 bits, a float overflowing to infinity, a string with a lone
    surrogate, or nesting deeper than :data:`MAX_JSON_DEPTH` (iterative walk)."""
    pending: list[tuple[str, Any, int]] = [("", data, 0)]
    while pending:
        where, value, depth = pending.pop()
        problem = None
        if depth > MAX_JSON_DEPTH:
            problem = f"nested more than {MAX_JSON_DEPTH} levels deep"
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
            problem = f"integer {value} is out of range (at most {INT64_MAX})"
        elif isinstance(value, float) and not math.isfinite(value):
            problem = "number is out of range (too large for a float)"
        elif isinstance(value, str) and not _encodable(value):
            problem = f"string {value!r} is not valid Unicode (lone surrogate)"
        elif isinstance(value, dict):
            for key, item in value.items():
                if not _encodable(key):
                    problem = f"key {key!r} is not valid Unicode (lone surrogate)"
                    break
                pending.append((f"{where}/{key}", item, depth + 1))
        elif isinstance(value, list):
            pending.extend((f"{where}/{i}", item, depth + 1) for i, item in enumerate(value))
        if problem is not None:
            raise HTTPError(400, f"Malformed request body at {where or '/'}: {problem}.")


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class HTTPError(Exception):
    """An error response: status, human message, optional stable error code."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = dict(headers or {})


BODY_PIECE_BYTES = 256 * 1024


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> webob.Response:
    """A JSON response (``body=None`` gives an empty body, e.g. for 204)."""
    resp = webob.Response(status=status)
    if body is not None:
        resp.content_type = "application/json"
        resp.charset = None
        data = json.dumps(body).encode()
        if len(data) > BODY_PIECE_BYTES:
            # cheroot copies its whole pending buffer on every send(): one large body
            # costs time quadratic in its size, pieces of it do not.
            resp.app_iter = [
                data[i : i + BODY_PIECE_BYTES] for i in range(0, len(data), BODY_PIECE_BYTES)
            ]
            resp.content_length = len(data)
        else:
            resp.body = data
    else:
        resp.content_type = None
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    return resp


# --------------------------------------------------------------------------- versions


@dataclass(frozen=True, order=True)
class Microversion:
    """An API microversion such as 2.60 or 1.39."""

    major: int
    minor: int

    @classmethod
    def parse(cls, text: str) -> Microversion:
        match = re.fullmatch(r"\s*(\d+)\.(\d+)\s*", text)
        if not match:
            raise ValueError(text)
        return cls(int(match[1]), int(match[2]))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    def matches(self, minimum: str, maximum: str | None = None) -> bool:
        """True when ``minimum <= self <= maximum`` (``maximum`` open if None)."""
        if self < Microversion.parse(minimum):
            return False
        return maximum is None or self <= Microversion.parse(maximum)


@dataclass(frozen=True)
class VersionPolicy:
    """How an API negotiates microversions: its service type, range and headers."""

    service_type: str
    minimum: Microversion
    maximum: Microversion
    legacy_header: str | None = None  # e.g. X-OpenStack-Nova-API-Version
    #: The service's own wording of a malformed and of an unacceptable version, as
    #: ``str.format`` templates over ``requested``, ``minimum`` and ``maximum``.
    malformed_message: str | None = None
    unacceptable_message: str | None = None

    def negotiate(self, headers: Mapping[str, str]) -> Microversion:
        """The requested version ('latest' = max, absent = min); 406 when out of range,
        400 when malformed."""
        requested = None
        for value in headers.get("OpenStack-API-Version", "").split(","):
            service, _, text = value.strip().partition(" ")
            if service.lower() == self.service_type:
                requested = text.strip()
        if requested is None and self.legacy_header:
            requested = headers.get(self.legacy_header)
        if requested is None:
            return self.minimum
        if requested.lower() == "latest":
            return self.maximum
        try:
            version = Microversion.parse(requested)
        except ValueError:
            message = (
                f"Invalid microversion {requested!r} for {self.service_type}: expected "
                f"MAJOR.MINOR between {self.minimum} and {self.maximum}, or 'latest'."
            )
            if self.malformed_message is not None:
                message = self._worded(self.malformed_message, requested)
            raise HTTPError(400, message, code="invalid_microversion") from None
        if not self.minimum <= version <= self.maximum:
            message = (
                f"Unacceptable version header: {self.service_type} {version} is not "
                f"supported; this service supports {self.minimum} to {self.maximum}."
            )
            if self.unacceptable_message is not None:
                message = self._worded(self.unacceptable_message, requested)
            raise HTTPError(406, message, code="unacceptable_microversion")
        return version

    def _worded(self, template: str, requested: str) -> str:
        return template.format(requested=requested, minimum=self.minimum, maximum=self.maximum)

    def response_headers(self, version: Microversion) -> dict[str, str]:
        headers = {
            "OpenStack-API-Version": f"{self.service_type} {version}",
            "Vary": "OpenStack-API-Version",
        }
        if self.legacy_header:
            headers[self.legacy_header] = str(version)
            headers["Vary"] += f", {self.legacy_header}"
        return headers


# ---------------------------------------------------------------------------- routing


class Route(NamedTuple):
    """One row of an API's route table.

    ``policy`` names the policy rule that guards the route in Nova / Glance /
    Placement style (``os_compute_api:servers:create``, ``get_image``,
    ``placement:resource_providers:list``); the router records it in the WSGI
    environment as ``virtfleet.policy`` for whatever enforces it. Version documents
    carry a rule name too (their default allows anyone).
    """

    method: str
    path: str
    handler: Handler
    policy: str


def bind(routes: Iterable[Route], *deps: Any) -> list[Route]:
    """The route table with each handler given the API's dependencies first."""
    return [route._replace(handler=functools.partial(route.handler, *deps)) for route in routes]


POLICY_ENVIRON_KEY = "virtfleet.policy"
#: The matched route's template with its API's prefix (``/compute/servers/{server_id}``).
ROUTE_ENVIRON_KEY = "virtfleet.route"
#: The request's id (``req-<uuid>``); set by the observing middleware, else made here.
REQUEST_ID_ENVIRON_KEY = "virtfleet.request_id"
#: Where the application keeps its authorizer (see :func:`enforce`).
AUTHORIZER_ENVIRON_KEY = "virtfleet.authorizer"


def enforce(req: Request, rule: str) -> None:
    """Record ``rule`` as the request's policy rule and check it with the application's
    authorizer (a 403 :class:`HTTPError` when the caller does not pass it). An API app
    built on its own, without the application around it, has no authorizer."""
    req.environ[POLICY_ENVIRON_KEY] = rule
    authorize = req.environ.get(AUTHORIZER_ENVIRON_KEY)
    if authorize is not None:
        authorize(req, rule)


@dataclass(frozen=True)
class CompiledRoute:
    """A :class:`Route` with its path template compiled to a regex."""

    route: Route
    pattern: re.Pattern[str] = field(compare=False)

    @property
    def method(self) -> str:
        return self.route.method

    @property
    def template(self) -> str:
        return self.route.path


def _compile(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)
    regex = ""
    for i, part in enumerate(parts):
        regex += re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)"
    return re.compile(f"^{regex}/?$")


class ErrorRenderer(Protocol):
    """Renders an HTTPError in one API's own error format."""

    def __call__(self, req: Request, error: HTTPError) -> webob.Response: ...


class Router:
    """One API's route table: :class:`Route` rows (method, path, handler, policy).

    Unknown paths are 404, known paths with another method 405 (with ``Allow``);
    :mod:`virtfleet.errors` exceptions map to 400/404/409; anything else is logged and
    rendered as a 500 in the API's format (never a traceback).
    """

    def __init__(
        self,
        routes: Iterable[Route],
        render_error: ErrorRenderer,
        versions: VersionPolicy | None = None,
        unversioned: Sequence[str] = ("/",),
        streaming: Sequence[str] = (),
    ) -> None:
        self.routes = [CompiledRoute(Route(*route), _compile(route[1])) for route in routes]
        self.render_error = render_error
        self.versions = versions
        self.unversioned = set(unversioned)
        self.streaming = set(streaming)  # templates whose handlers bound their own bodies

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        req = Request(environ)
        try:
            resp = self.dispatch(req)
        except HTTPError as exc:
            resp = self.render_error(req, exc)
            for key, value in exc.headers.items():
                resp.headers[key] = value
        mv = environ.get("virtfleet.microversion")
        if self.versions and isinstance(mv, Microversion):
            for key, value in self.versions.response_headers(mv).items():
                resp.headers.setdefault(key, value)
        resp.headers.setdefault("X-OpenStack-Request-Id", req.request_id)
        result: Iterable[bytes] = resp(environ, start_response)
        return result

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """The route serving ``method path`` and its path parameters (HEAD is served
        by GET); 405 with ``Allow`` for a known path, 404 otherwise."""
        allowed: list[str] = []
        for compiled in self.routes:
            found = compiled.pattern.match(path)
            if not found:
                continue
            if compiled.method != method and not (method == "HEAD" and compiled.method == "GET"):
                allowed.append(compiled.method)
                continue
            return compiled.route, found.groupdict()
        if allowed:
            raise HTTPError(
                405,
                f"The method {method} is not allowed for {path}.",
                headers={"Allow": ", ".join(sorted(set(allowed)))},
            )
        raise HTTPError(404, f"The resource could not be found: {path}.")

    def dispatch(self, req: Request) -> webob.Response:
        _check_utf8(req)
        path = req.path_info or "/"
        route, params = self.match(req.method, path)
        req.environ[ROUTE_ENVIRON_KEY] = req.script_name + route.path
        enforce(req, route.policy)
        if route.path not in self.streaming:
            _bound_body(req)
        if self.versions and path not in self.unversioned:
            req.environ["virtfleet.microversion"] = self.versions.negotiate(req.headers)
        try:
            return route.handler(req, **params)
        except HTTPError:
            raise
        except errors.VirtfleetError as exc:
            raise to_http_error(exc) from exc
        except Exception as exc:  # a bug: keep the process up, say so, log it
            import logging

            logging.getLogger(__name__).exception("unexpected error in %s %s", req.method, path)
            raise HTTPError(500, f"Unexpected error: {type(exc).__name__}") from exc


def _bound_body(req: Request) -> None:
    """413 for a body over :data:`MAX_JSON_BODY_BYTES`, before reading it; a chunked
    body is read up to that size (never further) and kept for the handler."""
    if req.content_length is not None:
        if req.content_length > MAX_JSON_BODY_BYTES:
            raise _too_large(f"{req.content_length} bytes")
        return
    if not req.environ.get("wsgi.input_terminated"):  # no body to read
        return
    data = req.environ["wsgi.input"].read(MAX_JSON_BODY_BYTES + 1)
    if len(data) > MAX_JSON_BODY_BYTES:
        raise _too_large("a chunked body")
    req.environ["wsgi.input"] = io.BytesIO(data)
    req.environ["CONTENT_LENGTH"] = str(len(data))


def _too_large(what: str) -> HTTPError:
    return HTTPError(
        413,
        f"Request body too large: {what}; a request body may have at most "
        f"{MAX_JSON_BODY_BYTES} bytes.",
    )


def _check_utf8(req: Request) -> None:
    """400 when the path or a query parameter is not UTF-8 once percent-decoded
    (webob would raise UnicodeDecodeError wherever a handler first reads it)."""
    raw_path = req.environ.get("PATH_INFO", "").encode("latin-1", "replace")
    try:
        raw_path.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPError(400, f"The path {raw_path!r} is not valid UTF-8.") from None
    query = req.environ.get("QUERY_STRING", "")
    for pair in query.split("&"):
        raw = urllib.parse.unquote_to_bytes(pair.replace("+", " "))
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            name = raw.split(b"=", 1)[0].decode("utf-8", "replace")
            raise HTTPError(
                400, f"Query parameter {name!r} is not valid UTF-8 ({raw!r})."
            ) from None


def to_http_error(exc: errors.VirtfleetError) -> HTTPError:
    """Map a virtfleet exception onto an HTTP status."""
    status = 500
    if isinstance(exc, errors.InvalidInput):
        status = 400
    elif isinstance(exc, errors.NotFound):
        status = 404
    elif isinstance(exc, errors.TooLarge):
        status = 413
    elif isinstance(exc, errors.Conflict):
        status = 409
    elif isinstance(exc, errors.OverQuota):
        status = exc.status
    elif isinstance(exc, errors.Unavailable):
        status = 503
    code = getattr(exc, "code", None)
    return HTTPError(status, exc.message, code=code if isinstance(code, str) else None)


class PrefixDispatcher:
    """Routes by the first path segment to one WSGI app per API (``/compute``,
    ``/image``, ``/placement``), adjusting SCRIPT_NAME/PATH_INFO as WSGI expects."""

    def __init__(
        self,
        apps: Mapping[str, Callable[[WSGIEnviron, StartResponse], Iterable[bytes]]],
        root: Callable[[WSGIEnviron, StartResponse], Iterable[bytes]],
    ) -> None:
        self.apps = dict(apps)
        self.root = root

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or "/"
        first = path.lstrip("/").split("/", 1)[0]
        app = self.apps.get(first)
        if app is None:
            return self.root(environ, start_response)
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + "/" + first
        environ["PATH_INFO"] = path[len(first) + 1 :] or "/"
        return app(environ, start_response)
