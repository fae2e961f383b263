"""A transport that stands for a process that died part-way through: it passes calls on
until a chosen RPC method is called, and from then on every call hangs."""

from __future__ import annotations

import threading
from typing import Any

from virtfleet.rpc.transport import LocalTransport


class Unwound(BaseException):  # not an error: the dead process's thread is being unwound
    """Ends the hung calls' threads at the end of the test without them doing anything."""


class HangingTransport:
    """Normal until ``method`` is called (``stopped`` is then set); from then on every
    call hangs until :meth:`close` and then unwinds with :class:`Unwound`, and casts are
    dropped (a dead process makes no further calls and writes nothing)."""

    def __init__(self, inner: LocalTransport, method: str) -> None:
        self._inner, self._method = inner, method
        self.stopped, self._end = threading.Event(), threading.Event()

    def call(
        self,
        topic: str,
        server: str,
        method: str,
        timeout: float | None = None,
        version_cap: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if method == self._method:
            self.stopped.set()
        if self.stopped.is_set():
            self._end.wait()
            raise Unwound()
        return self._inner.call(topic, server, method, timeout, version_cap, **kwargs)

    def cast(self, topic: str, server: str, method: str, **kwargs: Any) -> None:
        if not self.stopped.is_set():
            self._inner.cast(topic, server, method, **kwargs)

    def serve(self, topic: str, server: str, endpoint: object) -> None:
        self._inner.serve(topic, server, endpoint)

    def stop_serving(self, topic: str, server: str) -> None:
        self._inner.stop_serving(topic, server)

    def close(self) -> None:
        self._end.set()
