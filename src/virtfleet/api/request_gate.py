"""Keeping slow clients away from the HTTP worker threads.

cheroot hands every new (or newly readable keep-alive) connection to a worker thread,
which then blocks reading the request. A client that sends its request slowly, or not
at all, holds that thread; a few dozen such clients hold them all (slowloris).

:class:`RequestGate` sits between cheroot's connection manager and its worker pool: it
holds each connection on one thread of its own, peeking (``MSG_PEEK``, nothing is
consumed) until the request head has arrived, and with it a small body
(``Content-Length`` up to :data:`GATED_BODY_BYTES`), then hands it on. A connection
that has not sent that much within ``timeout`` seconds is closed. Workers so only ever
see requests they can read at once; larger bodies are bounded by the socket timeout.
"""

from __future__ import annotations

import contextlib
import logging
import re
import selectors
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

LOG = logging.getLogger(__name__)

#: Bodies up to this size must arrive with the head, before a worker takes the request.
GATED_BODY_BYTES = 64 * 1024
#: A request head larger than this is handed on as is (cheroot refuses it, 413/414).
MAX_HEAD_BYTES = 64 * 1024
#: How often a connection with part of its request is peeked at again.
RECHECK_SECONDS = 0.05

_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d{1,18})[ \t]*\r\n", re.IGNORECASE)


@dataclass
class _Held:
    conn: Any  # cheroot.server.HTTPConnection
    deadline: float
    recheck_at: float = 0.0


def request_ready(data: bytes) -> bool:
    """True when ``data`` (the start of a connection's stream) holds a whole request
    head and the small body it announces, or is too large to wait for."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return len(data) >= MAX_HEAD_BYTES
    head = data[: end + 2]
    match = _CONTENT_LENGTH.search(head)
    wanted = min(int(match[1]), GATED_BODY_BYTES) if match else 0
    return len(data) - (end + 4) >= wanted


class RequestGate:
    """Hands a connection to ``deliver`` once its request can be read at once; closes
    it after ``timeout`` seconds otherwise."""

    def __init__(self, deliver: Callable[[Any], None], timeout: float) -> None:
        self._deliver = deliver
        self._timeout = timeout
        self._lock = threading.Lock()
        self._incoming: list[Any] = []
        self._wake_read, self._wake_write = socket.socketpair()
        self._wake_read.setblocking(False)
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="http-gate", daemon=True)
        self._thread.start()

    def admit(self, conn: Any) -> None:
        """Called by cheroot for each connection with (possibly) a request to read."""
        if conn.rfile.has_data():  # already buffered (pipelining): nothing to wait for
            self._deliver(conn)
            return
        with self._lock:
            self._incoming.append(conn)
        try:
            self._wake_write.send(b"x")
        except OSError:  # stopping; the connection is closed below
            conn.close()

    def stop(self) -> None:
        self._stopping = True
        with contextlib.suppress(OSError):
            self._wake_write.send(b"x")
        self._thread.join(timeout=2)
        self._wake_read.close()
        self._wake_write.close()

    def _run(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self._wake_read, selectors.EVENT_READ, None)
        held: dict[int, _Held] = {}
        waiting: dict[int, _Held] = {}  # had part of a request; re-peeked later
        try:
            while not self._stopping:
                for fd, item in list(waiting.items()):
                    if item.recheck_at <= time.monotonic():
                        del waiting[fd]
                        selector.register(fd, selectors.EVENT_READ, item)
                for key, _ in selector.select(timeout=RECHECK_SECONDS):
                    if key.data is None:
                        self._take_incoming(selector, held)
                        continue
                    selector.unregister(key.fd)
                    self._peek(key.fd, key.data, held, waiting)
                self._expire(selector, held, waiting)
        finally:
            for item in held.values():
                item.conn.close()
            selector.close()

    def _take_incoming(self, selector: selectors.BaseSelector, held: dict[int, _Held]) -> None:
        try:
            while self._wake_read.recv(4096):
                pass
        except BlockingIOError:
            pass
        with self._lock:
            incoming, self._incoming = self._incoming, []
        deadline = time.monotonic() + self._timeout
        for conn in incoming:
            try:
                fd = conn.socket.fileno()
                item = _Held(conn, deadline)
                selector.register(fd, selectors.EVENT_READ, item)
            except (OSError, ValueError):
                conn.close()
                continue
            held[fd] = item

    def _peek(
        self, fd: int, item: _Held, held: dict[int, _Held], waiting: dict[int, _Held]
    ) -> None:
        try:
            data = item.conn.socket.recv(
                MAX_HEAD_BYTES + GATED_BODY_BYTES, socket.MSG_PEEK | socket.MSG_DONTWAIT
            )
        except BlockingIOError:
            data = None
        except OSError:
            data = b""  # reset: let cheroot see it and clean up
        if data is not None and (not data or request_ready(data)):
            del held[fd]
            self._deliver(item.conn)
            return
        item.recheck_at = time.monotonic() + RECHECK_SECONDS
        waiting[fd] = item

    def _expire(
        self,
        selector: selectors.BaseSelector,
        held: dict[int, _Held],
        waiting: dict[int, _Held],
    ) -> None:
        now = time.monotonic()
        for fd, item in list(held.items()):
            if item.deadline > now:
                continue
            del held[fd]
            if waiting.pop(fd, None) is None:
                selector.unregister(fd)
            LOG.info("closing a connection that sent no complete request in %ss", self._timeout)
            item.conn.close()
