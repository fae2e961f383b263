"""The HTTP listener of the APIs: cheroot, bounded against slow and idle clients.

- a fixed pool of ``[api] workers_threads`` threads (never grows);
- a listen backlog of ``[api] listen_backlog`` (bursts of connections queue in the
  kernel instead of being reset);
- every request must arrive (head, and a body up to 64 KiB) within ``[api]
  header_timeout`` seconds before a worker takes it (:mod:`~virtfleet.api.request_gate`);
- each read of a larger body, and an idle keep-alive connection, times out after
  ``[api] client_socket_timeout`` seconds, and the whole of such a body must arrive
  within ``[api] body_timeout`` (plus its size at ``body_min_rate``;
  :mod:`~virtfleet.api.body_deadline`).
"""

from __future__ import annotations

import threading
from typing import Any

from cheroot import wsgi
from oslo_config import cfg

from virtfleet import errors
from virtfleet.api.body_deadline import SOCKET_ENVIRON_KEY, with_body_deadline
from virtfleet.api.request_gate import RequestGate
from virtfleet.conf.api import listen_address


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` -> (host, port); ConfigError naming ``[api] listen`` otherwise."""
    try:
        return listen_address(value)
    except ValueError as exc:
        raise errors.ConfigError(f"[api] listen: {exc}") from None


class _GatedServer(wsgi.Server):
    """cheroot's WSGI server with connections passing the request gate first."""

    gate: RequestGate

    def process_conn(self, conn: Any) -> None:
        self.gate.admit(conn)

    def deliver(self, conn: Any) -> None:
        super().process_conn(conn)


class _Gateway(wsgi.Gateway_10):
    """cheroot's WSGI 1.0 gateway, with the connection's socket in the environment
    (for the body deadline's watchdog)."""

    def get_environ(self) -> Any:
        env = super().get_environ()  # type: ignore[no-untyped-call]  # cheroot's, untyped
        env[SOCKET_ENVIRON_KEY] = self.req.conn.socket
        return env


class HttpListener:
    """The HTTP listener of the three APIs, served on a daemon thread."""

    def __init__(
        self, app: Any, api_conf: cfg.ConfigOpts.GroupAttr, listen: str | None = None
    ) -> None:
        """``listen`` (``HOST:PORT``) instead of ``[api] listen``, for another service
        with the same limits (the metadata service)."""
        threads = api_conf.workers_threads
        app = with_body_deadline(app, api_conf.body_timeout, api_conf.body_min_rate)
        self._server = _GatedServer(
            parse_listen(listen or api_conf.listen),
            app,
            numthreads=threads,
            max=threads,
            request_queue_size=api_conf.listen_backlog,
            timeout=api_conf.client_socket_timeout,
            server_name="virtfleet",
        )
        self._server.gateway = _Gateway
        self._header_timeout = api_conf.header_timeout
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        host, port = self._server.bind_addr[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        """Bind (``OSError`` when the port is taken) and serve."""
        self._server.gate = RequestGate(self._server.deliver, self._header_timeout)
        self._server.prepare()
        self._thread = threading.Thread(target=self._server.serve, name="http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.stop()
        gate = getattr(self._server, "gate", None)
        if gate is not None:
            gate.stop()
