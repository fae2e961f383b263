"""The console proxy: one listener of the control plane for serial and VNC consoles.

A websocket handshake carrying ``?token=`` (any path) is let through once per token
(:func:`virtfleet.servers.console_tokens.consume`); a refused token (unknown or
forged, expired, used) gets 403 before the upgrade. The proxy then connects to the
agent's relay the token is bound to, sends the relay's secret, and copies bytes
between the websocket (binary messages) and the relay: the guest's serial port, or
its VNC server speaking RFB (which noVNC talks over the websocket). Other GET
requests are the noVNC web client's static files (:mod:`.static`).

A browser always names the page that opens a websocket in its ``Origin`` header: a
handshake whose origin is not this proxy's host (nor a configured public base URL's
host, nor one of ``[console] allowed_origins``) gets 403, so a page on another site
cannot open a console with a token it got hold of. Clients that are not browsers
send no ``Origin`` and are let through on the token alone.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import urllib.parse
from collections.abc import Sequence

from oslo_config import cfg
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve
from websockets.typing import Subprotocol

from virtfleet import errors
from virtfleet.api.console import static
from virtfleet.db.engine import Database
from virtfleet.servers import console_tokens

LOG = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0
CHUNK = 65536
SUBPROTOCOLS = (Subprotocol("binary"),)


class ConsoleProxy:
    """The proxy's listener (``[console] proxy_listen``:``proxy_port``), in threads."""

    def __init__(self, conf: cfg.ConfigOpts, db: Database) -> None:
        self._conf = conf.console
        self._db = db
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._granted: dict[int, console_tokens.ConsoleToken] = {}
        self._lock = threading.Lock()

    # -- lifecycle ------------------------------------------------------------------
    def start(self) -> None:
        if self._server is not None:
            return
        self._server = serve(
            self._session,
            str(self._conf.proxy_listen),
            int(self._conf.proxy_port),
            process_request=self._process_request,
            select_subprotocol=_select_subprotocol,
            compression=None,
            server_header="virtfleet-console-proxy",
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="console-proxy", daemon=True
        )
        self._thread.start()
        LOG.info("console proxy listening on %s", self.base)

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        if self._thread is not None:
            self._thread.join(10)
        self._server = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise errors.Conflict("the console proxy is not running")
        return int(self._server.socket.getsockname()[1])

    @property
    def base(self) -> str:
        """``host:port`` of the listener (brackets around an IPv6 address)."""
        host = str(self._conf.proxy_listen)
        return f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"

    # -- URLs -----------------------------------------------------------------------
    @property
    def token_ttl(self) -> int:
        return int(self._conf.token_ttl)

    def url(self, console_type: str, token: str) -> str:
        """The URL a client opens for ``token``: ``ws://...?token=`` for a serial
        console, the noVNC page with ``?path=%3Ftoken%3D...`` for VNC."""
        if console_type == "serial":
            base = self._conf.serial_base_url or f"ws://{self.base}/"
            return _with_query(base, "token", token)
        base = self._conf.novnc_base_url or f"http://{self.base}/{static.NOVNC_PAGE}"
        return _with_query(base, "path", "?" + urllib.parse.urlencode({"token": token}))

    # -- requests -------------------------------------------------------------------
    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        token = _token_of(request.path)
        upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
        if not upgrade:
            return static.respond(connection, request, str(self._conf.novnc_dir))
        if token is None:
            return connection.respond(403, "Console token missing (?token=).\n")
        refusal = _origin_refusal(request, self._allowed_origins())
        if refusal is not None:
            LOG.info("console proxy: refused a connection: %s", refusal)
            return connection.respond(403, f"{refusal}.\n")
        try:
            granted = console_tokens.consume(self._db, token)
        except console_tokens.TokenRefused as exc:
            LOG.info("console proxy: refused a connection: %s", exc)
            return connection.respond(403, f"Console token refused: {exc}.\n")
        with self._lock:
            self._granted[id(connection)] = granted
        return None

    def _allowed_origins(self) -> frozenset[str]:
        """Origin host names allowed besides the Host header's."""
        bases = (self._conf.serial_base_url, self._conf.novnc_base_url)
        named = {urllib.parse.urlsplit(base).hostname for base in bases if base}
        named.update(str(host).lower() for host in self._conf.allowed_origins)
        return frozenset(host for host in named if host)

    def _session(self, websocket: ServerConnection) -> None:
        with self._lock:
            granted = self._granted.pop(id(websocket), None)
        if granted is None:  # cannot happen: the handshake passed _process_request
            websocket.close(1008, "no console token")
            return
        what = f"{granted.console_type} console of {granted.instance_uuid}"
        try:
            relay = socket.create_connection((granted.host, granted.port), timeout=CONNECT_TIMEOUT)
            relay.sendall(granted.internal_access_path.encode() + b"\n")
            relay.settimeout(None)
        except OSError as exc:
            LOG.warning("console proxy: %s: relay %s:%s unreachable: %s",
                        what, granted.host, granted.port, exc)  # fmt: skip
            websocket.close(1011, "the console is unreachable")
            return
        LOG.info("console proxy: %s opened", what)
        try:
            _join(websocket, relay)
        finally:
            relay.close()
            LOG.info("console proxy: %s closed", what)


def _join(websocket: ServerConnection, relay: socket.socket) -> None:
    """Copy relay bytes to the websocket (a thread) and websocket messages to the
    relay, until either side closes."""

    def upstream() -> None:
        try:
            while data := relay.recv(CHUNK):
                websocket.send(data)
        except (OSError, ConnectionClosed):
            pass
        websocket.close()

    pumping = threading.Thread(target=upstream, name="console-proxy-relay", daemon=True)
    pumping.start()
    try:
        for message in websocket:
            relay.sendall(message if isinstance(message, bytes) else message.encode())
    except (OSError, ConnectionClosed):
        pass
    finally:
        with contextlib.suppress(OSError):
            relay.shutdown(socket.SHUT_RDWR)
        pumping.join(5)


def _select_subprotocol(
    _connection: ServerConnection, offered: Sequence[Subprotocol]
) -> Subprotocol | None:
    """``binary`` when the client offers it (noVNC, websockify clients); none else."""
    return next((p for p in offered if p in SUBPROTOCOLS), None)


def _origin_refusal(request: Request, allowed: frozenset[str]) -> str | None:
    """Why the handshake's ``Origin`` is refused, or None (absent, or a host this
    proxy answers as)."""
    origin = request.headers.get("Origin")
    if origin is None:
        return None  # not a browser
    parts = urllib.parse.urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"Origin header not valid: {origin!r}"
    own = urllib.parse.urlsplit("//" + request.headers.get("Host", "")).hostname
    if parts.hostname != own and parts.hostname not in allowed:
        return f"Origin {origin!r} does not match this console proxy's host"
    return None


def _token_of(path: str) -> str | None:
    values = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query).get("token")
    return values[0] if values else None


def _with_query(base: str, key: str, value: str) -> str:
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}{urllib.parse.urlencode({key: value})}"
