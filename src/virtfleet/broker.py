"""The message broker of the daemons: checked before they start, so a wrong or
unreachable ``[DEFAULT] transport_url`` is one clear error instead of oslo.messaging
retrying forever; and the configuration oslo.messaging reads.

:func:`check_transport_url` refuses the in-process transports (``local://``, ``fake://``:
the server and its agents would not see each other) and, for ``rabbit://``, logs in to
each broker host once; the first that answers is enough (oslo.messaging fails over).
:func:`open_transport` gives oslo.messaging its own ``ConfigOpts`` read from the same
files: it registers ``transport_url`` and ``rpc_response_timeout`` under its own
definitions, which clash with virtfleet's ``[DEFAULT]`` options of the same names, and
reads its other options (``control_exchange``, ``[oslo_messaging_rabbit]``) from there.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence
from typing import Any

import kombu.connection
import oslo_messaging as messaging
from oslo_config import cfg

from virtfleet import errors
from virtfleet.rpc import Transport, get_transport

IN_PROCESS = ("local", "fake")
DEFAULT_PORT = 5672


def redact(url: str) -> str:
    """``url`` with passwords replaced by ``***`` (for messages and logs)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    netloc, slash, tail = rest.partition("/")
    hosts = []
    for host in netloc.split(","):
        creds, at, where = host.rpartition("@")
        user = creds.partition(":")[0]
        hosts.append(f"{user}:***@{where}" if at and ":" in creds else host)
    return f"{scheme}://{','.join(hosts)}{slash}{tail}"


def check_transport_url(url: str, timeout: float = 5.0) -> None:
    """Raise ``ConfigError`` for a URL no daemon can use and ``RPCError`` when no
    RabbitMQ host of ``url`` accepts a login within ``timeout`` seconds."""
    try:
        parsed = messaging.TransportURL.parse(cfg.ConfigOpts(), url)
    except messaging.InvalidTransportURL as exc:
        raise errors.ConfigError(f"[DEFAULT] transport_url {redact(url)!r}: {exc}") from None
    if parsed.transport in IN_PROCESS:
        raise errors.ConfigError(
            f"[DEFAULT] transport_url is {url!r}, which only works inside one process; "
            "the server and its agents need a broker, e.g. rabbit://USER:PASSWORD@HOST:5672/"
        )
    if parsed.transport != "rabbit" or not parsed.hosts:
        return  # nothing to probe here; oslo.messaging will say what it thinks
    problems = []
    for host in parsed.hosts:
        where = f"{host.hostname}:{host.port or DEFAULT_PORT}"
        connection: Any = kombu.connection.Connection(  # type: ignore[no-untyped-call]  # kombu is untyped
            hostname=host.hostname,
            port=host.port or DEFAULT_PORT,
            userid=urllib.parse.unquote(host.username or "guest"),
            password=urllib.parse.unquote(host.password or "guest"),
            virtual_host=parsed.virtual_host or "/",
            connect_timeout=timeout,
        )
        try:
            connection.connect()
            return
        except Exception as exc:  # whatever fails the login is the answer
            problems.append(f"{where}: {_describe(exc, host.username or 'guest')}")
        finally:
            connection.release()
    raise errors.RPCError(
        f"cannot reach RabbitMQ ([DEFAULT] transport_url {redact(url)}): " + "; ".join(problems)
    )


def _describe(exc: BaseException, user: str) -> str:
    text = str(exc) or type(exc).__name__
    if "ACCESS_REFUSED" in text or "403" in text:
        return f"login refused for user {user!r} (check user and password)"
    if "NOT_ALLOWED" in text or "530" in text:
        return f"user {user!r} may not use the virtual host ({text})"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is rabbitmq-server running?)"
    return text


def open_transport(url: str, config_files: Sequence[str], timeout: float) -> Transport:
    """The RPC transport of ``url``, with oslo.messaging's options from ``config_files``;
    calls made without a timeout wait ``timeout`` seconds (``rpc_response_timeout``)."""
    messaging_conf = cfg.ConfigOpts()
    messaging_conf([], project="virtfleet", default_config_files=list(config_files))
    try:
        return DefaultTimeout(get_transport(url, messaging_conf), timeout)
    except (messaging.MessagingException, cfg.Error, ValueError) as exc:
        raise errors.ConfigError(f"[DEFAULT] transport_url {redact(url)}: {exc}") from None


class DefaultTimeout:
    """A transport whose calls without a timeout wait ``timeout`` seconds, so an agent
    whose report was lost (a server restarting) asks again soon instead of after
    oslo.messaging's fixed minute."""

    def __init__(self, transport: Transport, timeout: float) -> None:
        self._transport = transport
        self._timeout = timeout

    def serve(self, topic: str, server: str, endpoint: object) -> None:
        self._transport.serve(topic, server, endpoint)

    def stop_serving(self, topic: str, server: str) -> None:
        self._transport.stop_serving(topic, server)

    def call(
        self,
        topic: str,
        server: str,
        method: str,
        timeout: float | None = None,
        version_cap: str | None = None,
        **kwargs: Any,
    ) -> Any:
        return self._transport.call(
            topic,
            server,
            method,
            timeout=timeout or self._timeout,
            version_cap=version_cap,
            **kwargs,
        )

    def cast(self, topic: str, server: str, method: str, **kwargs: Any) -> None:
        self._transport.cast(topic, server, method, **kwargs)

    def close(self) -> None:
        self._transport.close()
