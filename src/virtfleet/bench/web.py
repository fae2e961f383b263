"""Serving a WSGI app on 127.0.0.1 (cheroot, random port) and timing GET requests."""

from __future__ import annotations

import contextlib
import http.client
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cheroot import wsgi

from virtfleet.bench.shapes import MICROVERSION

SERVER_THREADS = 40  # enough for the 32-way concurrent runs


@contextlib.contextmanager
def serve(app: Any, threads: int = SERVER_THREADS) -> Iterator[str]:
    """Serve ``app`` while in the block; yields its base URL ``http://127.0.0.1:PORT``."""
    server = wsgi.Server(("127.0.0.1", 0), app, numthreads=threads)
    server.prepare()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        host, port = server.bind_addr[:2]
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        thread.join(timeout=10)


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    seconds: float


class QueryTimeoutError(Exception):
    """The server did not answer within the time limit."""


class Client:
    """One keep-alive connection to a Placement API at ``base_url``."""

    def __init__(
        self,
        base_url: str,
        timeout: float,
        headers: Mapping[str, str] | None = None,
        microversion: str = MICROVERSION,
    ) -> None:
        self._timeout = timeout
        self._headers = {
            "Accept": "application/json",
            "OpenStack-API-Version": f"placement {microversion}",
            **(headers or {}),
        }
        self._hostport = ""
        self._conn = self.retarget(base_url)

    def get(self, path: str) -> Response:
        """GET ``path``, timing from request to the last byte of the body."""
        start = time.perf_counter()
        try:
            self._conn.request("GET", path, headers=self._headers)
            reply = self._conn.getresponse()
            body = reply.read()
        except TimeoutError as exc:
            self.reconnect()
            raise QueryTimeoutError(f"no answer to GET {path} in {self._timeout:g} s") from exc
        return Response(reply.status, body, time.perf_counter() - start)

    def retarget(self, base_url: str) -> http.client.HTTPConnection:
        """Talk to ``base_url`` from now on (e.g. a restarted server)."""
        self._hostport = base_url.removeprefix("http://").rstrip("/")
        self._conn = http.client.HTTPConnection(self._hostport, timeout=self._timeout)
        return self._conn

    def reconnect(self) -> None:
        self._conn.close()
        self._conn = http.client.HTTPConnection(self._hostport, timeout=self._timeout)

    def close(self) -> None:
        self._conn.close()
