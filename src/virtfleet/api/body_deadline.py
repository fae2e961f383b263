"""A total deadline for reading a request body (beyond the per-read socket timeout).

The request gate (:mod:`virtfleet.api.request_gate`) makes a request's head and a body
up to 64 KiB arrive before a worker takes it. A larger (or chunked) body is read by the
worker, and each socket read waits at most ``[api] client_socket_timeout``: a client
that sends a byte now and then would hold the worker for as long as it likes (one
buffered ``read(65536)`` keeps receiving until it has 65,536 bytes).

:func:`with_body_deadline` gives reading such a body a deadline of ``start +
body_timeout + received / body_min_rate`` seconds. A watchdog thread shuts the read
side of the connection's socket when a body passes its deadline, so a read blocked in
the kernel returns at once; the read (and any later one) then fails with a 408
``HTTPError`` and the connection is closed after the answer.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from virtfleet.api.request_gate import GATED_BODY_BYTES
from virtfleet.api.wsgi import HTTPError

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
#: The connection's socket, put into the environment by the listener's gateway.
SOCKET_ENVIRON_KEY = "virtfleet.socket"
#: How often the watchdog looks at the bodies being read.
WATCH_SECONDS = 0.1


class DeadlineInput:
    """``wsgi.input`` whose reads must end by the deadline (HTTPError 408 after it)."""

    def __init__(
        self,
        stream: Any,
        timeout: float,
        min_rate: int,
        sock: socket.socket | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._timeout = timeout
        self._min_rate = min_rate
        self._clock = clock
        self._start = clock()
        self.sock = sock
        self.received = 0
        self.cut = False  # the watchdog shut the socket's read side

    def deadline(self) -> float:
        return self._start + self._timeout + self.received / self._min_rate

    def overdue(self) -> bool:
        return self._clock() > self.deadline()

    def _late(self) -> HTTPError:
        return HTTPError(
            408,
            f"Request body not received in time: {self.received} bytes arrived in "
            f"{self._clock() - self._start:.1f} s; a request body must arrive within "
            f"{self._timeout:g} s plus 1 s per {self._min_rate} bytes "
            "([api] body_timeout, body_min_rate).",
            headers={"Connection": "close"},
        )

    def _call(self, read: Callable[[], bytes]) -> bytes:
        if self.overdue() or self.cut:
            raise self._late()
        try:
            data = read()
        except OSError:
            if self.overdue() or self.cut:
                raise self._late() from None
            raise
        self.received += len(data)
        if self.overdue() or (self.cut and not data):
            raise self._late()
        return data

    def read(self, size: int | None = -1) -> bytes:
        return self._call(lambda: self._stream.read(size))

    def readline(self, size: int | None = -1) -> bytes:
        return self._call(lambda: self._stream.readline(size))

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        return list(self)

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


class Watchdog:
    """One thread that cuts the sockets of bodies past their deadlines."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watched: weakref.WeakSet[DeadlineInput] = weakref.WeakSet()
        self._wake = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None

    def watch(self, body: DeadlineInput) -> None:
        with self._lock:
            self._watched.add(body)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="body-deadline", daemon=True)
                self._thread.start()
            self._wake.notify()

    def forget(self, body: DeadlineInput) -> None:
        with self._lock:
            self._watched.discard(body)

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._watched:
                    self._wake.wait()
                due = [b for b in self._watched if b.overdue()]
                for body in due:
                    self._watched.discard(body)
            for body in due:
                body.cut = True
                if body.sock is not None:
                    with contextlib.suppress(OSError):
                        body.sock.shutdown(socket.SHUT_RD)
            time.sleep(WATCH_SECONDS)


WATCHDOG = Watchdog()


def needs_deadline(environ: dict[str, Any]) -> bool:
    """A body the gate did not wait for: larger than 64 KiB, or chunked."""
    length = str(environ.get("CONTENT_LENGTH") or "")
    if length.isdigit():
        return int(length) > GATED_BODY_BYTES
    return "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower()


def with_body_deadline(app: WSGIApp, timeout: float, min_rate: int) -> WSGIApp:
    """``app`` with the body of every request that needs one under a deadline."""

    def bounded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not needs_deadline(environ) or "wsgi.input" not in environ:
            return app(environ, start_response)
        body = DeadlineInput(
            environ["wsgi.input"], timeout, min_rate, environ.get(SOCKET_ENVIRON_KEY)
        )
        environ["wsgi.input"] = body
        WATCHDOG.watch(body)
        try:
            return app(environ, start_response)
        finally:
            WATCHDOG.forget(body)

    return bounded
