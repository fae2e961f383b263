"""RPC over oslo.messaging (rabbit:// between machines, fake:// in one process)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Protocol

import oslo_messaging as messaging
from oslo_config import cfg

from virtfleet import errors
from virtfleet.objects.base import Serializer
from virtfleet.observability import request_id
from virtfleet.rpc.transport import error_from_primitive, error_to_primitive


def _register_library_opts(conf: cfg.ConfigOpts) -> None:
    """oslo.messaging reads its tracing, metrics and dispatcher options from whatever
    ConfigOpts it is given but registers some of them only on the global cfg.CONF, so a
    private ConfigOpts must register them all itself."""
    from oslo_messaging import opts
    from oslo_messaging._metrics import client as metrics
    from oslo_messaging._tracing import client as tracing

    groups = [
        *opts.list_opts(),
        ("oslo_messaging_tracing", tracing.oslo_messaging_tracing),
        ("oslo_messaging_metrics", metrics.oslo_messaging_metrics),
    ]
    for group, group_opts in groups:
        for opt in group_opts:
            # A name registered differently already: keep the first.
            with contextlib.suppress(cfg.DuplicateOptError):
                conf.register_opt(opt, group=group)


class _RPCServer(Protocol):
    """The part of oslo.messaging's RPC server used here (the library is untyped)."""

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def wait(self) -> None: ...


class _RPCClient(Protocol):
    """The part of oslo.messaging's RPC client used here."""

    def call(self, ctxt: dict[str, object], method: str, **kwargs: object) -> object: ...
    def cast(self, ctxt: dict[str, object], method: str, **kwargs: object) -> None: ...


Reply = dict[str, object]  # {"ok": result} or {"error": error primitive}


def _context() -> dict[str, object]:
    """The oslo.messaging context a call or cast carries: the bound request id."""
    current = request_id.current()
    return {"request_id": current} if current else {}


class _Endpoint:
    """Wraps an endpoint so its exceptions cross the wire as virtfleet errors."""

    def __init__(self, target: object) -> None:
        self._target = target

    def __getattr__(self, name: str) -> Callable[..., Reply]:
        func = getattr(self._target, name)
        if name.startswith("_") or not callable(func):
            raise AttributeError(name)

        def wrapped(ctxt: dict[str, object], **kwargs: object) -> Reply:
            # the caller's request id (oslo.messaging's context) for this side's log lines
            given = ctxt.get("request_id") if isinstance(ctxt, dict) else None
            with request_id.bound(
                given if isinstance(given, str) and request_id.is_valid(given) else None
            ):
                try:
                    return {"ok": func(**kwargs)}
                except Exception as exc:
                    return {"error": error_to_primitive(exc)}

        return wrapped


class OsloTransport:
    """oslo.messaging RPC on a ConfigOpts of its own, read from the same files as
    virtfleet's (so [oslo_messaging_rabbit] etc. apply): virtfleet's [DEFAULT]
    transport_url and rpc_response_timeout clash with the library's own definitions."""

    def __init__(self, url: str, conf: cfg.ConfigOpts | None = None) -> None:
        self._conf = cfg.ConfigOpts()
        files = list(conf.default_config_files or []) if conf is not None else []
        self._conf([], project="virtfleet", default_config_files=files)
        _register_library_opts(self._conf)
        self._transport = messaging.get_rpc_transport(self._conf, url=url)
        self._serializer = Serializer()
        self._servers: dict[tuple[str, str], _RPCServer] = {}
        self._lock = threading.Lock()
        # virtfleet's option when given virtfleet's ConfigOpts (NoSuchOptError is an
        # AttributeError, so a library-only ConfigOpts falls back to the default).
        self._timeout = int(getattr(conf, "rpc_response_timeout", 60))
        # RabbitMQ queues are named after the topic alone, whatever the exchange: two
        # clouds on one broker with different control_exchange would share the queue
        # of every topic (conductor, compute.HOST) and take each other's work. Topics
        # carry the exchange, so each cloud's queues are its own.
        self._exchange = str(self._conf.control_exchange)

    def queue_topic(self, topic: str) -> str:
        """The broker-side topic of virtfleet's ``topic`` (qualified by the exchange)."""
        return f"{self._exchange}.{topic}"

    def serve(self, topic: str, server: str, endpoint: object) -> None:
        target = messaging.Target(topic=self.queue_topic(topic), server=server)
        rpc_server: _RPCServer = messaging.get_rpc_server(
            self._transport,
            target,
            [_Endpoint(endpoint)],
            serializer=self._serializer,
        )
        rpc_server.start()
        with self._lock:
            self._servers[(topic, server)] = rpc_server

    def stop_serving(self, topic: str, server: str) -> None:
        with self._lock:
            rpc_server = self._servers.pop((topic, server), None)
        if rpc_server is not None:
            rpc_server.stop()
            rpc_server.wait()

    def _client(self, topic: str, server: str, timeout: float | None = None) -> _RPCClient:
        target = messaging.Target(topic=self.queue_topic(topic), server=server)
        client: _RPCClient = messaging.get_rpc_client(
            self._transport, target, serializer=self._serializer, timeout=timeout or self._timeout
        )
        return client

    def call(
        self,
        topic: str,
        server: str,
        method: str,
        timeout: float | None = None,
        version_cap: str | None = None,
        **kwargs: object,
    ) -> object:
        try:
            reply = self._client(topic, server, timeout).call(_context(), method, **kwargs)
        except messaging.MessagingTimeout:
            raise errors.RPCError(f"{topic}.{server} did not answer {method} in time") from None
        except messaging.MessagingException as exc:
            raise errors.RPCError(f"{topic}.{server}.{method}: {exc}") from None
        if not isinstance(reply, dict) or not ("ok" in reply or "error" in reply):
            raise errors.RPCError(f"{topic}.{server}.{method}: malformed reply {reply!r}")
        if "error" in reply:
            error = reply["error"]
            raise error_from_primitive(error if isinstance(error, dict) else {})
        result: object = reply["ok"]
        return result

    def cast(self, topic: str, server: str, method: str, **kwargs: object) -> None:
        self._client(topic, server).cast(_context(), method, **kwargs)

    def close(self) -> None:
        for topic, server in list(self._servers):
            self.stop_serving(topic, server)
        self._transport.cleanup()
