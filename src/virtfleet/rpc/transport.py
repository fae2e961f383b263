"""The RPC transport interface and its two implementations."""

from __future__ import annotations

import contextvars
import json
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from virtfleet import errors
from virtfleet.objects.base import Serializer

LOG = logging.getLogger(__name__)


class Transport(Protocol):
    """Call methods of an endpoint object served somewhere else."""

    def serve(self, topic: str, server: str, endpoint: object) -> None:
        """Serve ``endpoint``'s public methods as ``topic``/``server``."""

    def stop_serving(self, topic: str, server: str) -> None:
        """Stop serving ``topic``/``server`` (idempotent)."""

    def call(
        self,
        topic: str,
        server: str,
        method: str,
        timeout: float | None = None,
        version_cap: str | None = None,
        **kwargs: object,
    ) -> object:
        """Call and wait for the result; remote errors come back as the same
        :mod:`virtfleet.errors` class, anything else as :class:`~virtfleet.errors.RPCError`."""

    def cast(self, topic: str, server: str, method: str, **kwargs: object) -> None:
        """Fire and forget."""

    def close(self) -> None:
        """Stop everything and release resources."""


_ERRORS: dict[str, type[errors.VirtfleetError]] = {
    cls.__name__: cls
    for cls in (
        errors.ConfigError,
        errors.InvalidInput,
        errors.NotFound,
        errors.Conflict,
        errors.ConcurrentUpdate,
        errors.NoValidHost,
        errors.HypervisorError,
        errors.ImageDataError,
        errors.RPCError,
        errors.VirtfleetError,
    )
}


def error_to_primitive(exc: BaseException) -> dict[str, str | int | None]:
    """How a remote exception travels."""
    code = getattr(exc, "code", None)
    return {
        "class": type(exc).__name__ if type(exc).__name__ in _ERRORS else "RPCError",
        "message": str(exc)
        if isinstance(exc, errors.VirtfleetError)
        else f"{type(exc).__name__}: {exc}",
        "code": code if isinstance(code, int) else None,
    }


def error_from_primitive(data: Mapping[str, object]) -> errors.VirtfleetError:
    """The exception a remote error primitive stands for (RPCError when unknown)."""
    cls = _ERRORS.get(str(data.get("class", "")), errors.RPCError)
    message, code = str(data.get("message", "")), data.get("code")
    if cls is errors.HypervisorError:
        return errors.HypervisorError(message, code=code if isinstance(code, int) else None)
    return cls(message)


class LocalTransport:
    """In-process RPC. Arguments and results go through the object serializer and a
    JSON round trip, so what works here works on the wire; casts run on a thread pool."""

    def __init__(self, workers: int = 16) -> None:
        self._serializer = Serializer()
        self._endpoints: dict[tuple[str, str], object] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rpc-cast")

    def serve(self, topic: str, server: str, endpoint: object) -> None:
        with self._lock:
            self._endpoints[(topic, server)] = endpoint

    def stop_serving(self, topic: str, server: str) -> None:
        with self._lock:
            self._endpoints.pop((topic, server), None)

    def _wire(self, value: object, version_cap: str | None = None) -> object:
        prim = self._serializer.serialize_entity(None, value)
        back: object = self._serializer.deserialize_entity(None, json.loads(json.dumps(prim)))
        return back

    def _method(self, topic: str, server: str, method: str) -> Callable[..., object]:
        with self._lock:
            endpoint = self._endpoints.get((topic, server))
        if endpoint is None:
            raise errors.RPCError(f"no agent is serving {topic}.{server} (is it running?)")
        if method.startswith("_") or not callable(getattr(endpoint, method, None)):
            raise errors.RPCError(f"{topic}.{server} has no method {method!r}")
        func: Callable[..., object] = getattr(endpoint, method)
        return func

    def call(
        self,
        topic: str,
        server: str,
        method: str,
        timeout: float | None = None,
        version_cap: str | None = None,
        **kwargs: object,
    ) -> object:
        func = self._method(topic, server, method)
        args = {k: self._wire(v) for k, v in kwargs.items()}
        try:
            result = func(**args)
        except Exception as exc:  # travels back as the wire would carry it
            if not isinstance(exc, errors.VirtfleetError):
                LOG.exception("RPC %s.%s.%s failed", topic, server, method)
            raise error_from_primitive(error_to_primitive(exc)) from None
        return self._wire(result)

    def cast(self, topic: str, server: str, method: str, **kwargs: object) -> None:
        func = self._method(topic, server, method)
        args = {k: self._wire(v) for k, v in kwargs.items()}

        def run() -> None:
            try:
                func(**args)
            except Exception:
                LOG.exception("RPC cast %s.%s.%s failed", topic, server, method)

        self._pool.submit(contextvars.copy_context().run, run)  # with the request id

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)
