"""The message broker of the daemons: checked before they start, so a wrong or
unreachable ``[DEFAULT] transport_url`` is one clear error instead of oslo.messaging
retrying forever; and the configuration oslo.messaging reads.

:func:`check_transport_url` refuses the in-process transports (``local://``, ``fake://``:
the server and its agents would not see each other) and, for ``rabbit://``, logs in to
each broker host once; the first that answers is enough (oslo.messaging fails over).
:func:`open_transport` opens the daemon's transport and turns oslo.messaging's
complaints about the URL or its options into one ``ConfigError``.
"""

from __future__ import annotations

import urllib.parse
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


def open_transport(url: str, conf: cfg.ConfigOpts) -> Transport:
    """The RPC transport of ``url`` for a daemon: oslo.messaging reads its own options
    from ``conf``'s files, and calls without a timeout wait ``rpc_response_timeout``."""
    try:
        return get_transport(url, conf)
    except (messaging.MessagingException, cfg.Error, ValueError) as exc:
        raise errors.ConfigError(f"[DEFAULT] transport_url {redact(url)}: {exc}") from None
