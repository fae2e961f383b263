"""One-connection relays from the console proxy to a guest's console.

For each console URL the control plane hands out, the agent opens a listening socket
on ``[console] relay_address`` (a port the kernel picks) and returns its address and
a random secret. The first connection that sends the secret and a newline within the
token's lifetime gets the guest's console (opened only then) until either side
closes; a wrong secret closes the connection and the relay. The listener accepts one
connection and closes when it has, or when the lifetime ends.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import secrets
import selectors
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from virtfleet import errors
from virtfleet.virt.libvirt.console import Channel

LOG = logging.getLogger(__name__)

SECRET_BYTES = 16
HELLO_TIMEOUT = 10.0  # seconds a connection has to send the secret
CHUNK = 65536


@dataclass(frozen=True)
class Relay:
    """Where the proxy connects, and what it sends first (hex secret + newline)."""

    host: str
    port: int
    secret: str


def open_relay(
    address: str, lifetime: float, open_channel: Callable[[], Channel], what: str
) -> Relay:
    """Listen on ``address`` for one proxy connection within ``lifetime`` seconds; it
    is joined to ``open_channel()`` once it sent the secret."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.bind((address, 0))
        listener.listen(1)
    except OSError as exc:
        listener.close()
        raise errors.HypervisorError(
            f"console relay for {what}: cannot listen on {address}: {exc.strerror}"
        ) from exc
    secret = secrets.token_hex(SECRET_BYTES)
    port = int(listener.getsockname()[1])
    thread = threading.Thread(
        target=_serve,
        args=(listener, secret, time.monotonic() + lifetime, open_channel, what),
        name=f"console-relay-{port}",
        daemon=True,
    )
    thread.start()
    return Relay(address, port, secret)


def _serve(
    listener: socket.socket,
    secret: str,
    deadline: float,
    open_channel: Callable[[], Channel],
    what: str,
) -> None:
    try:
        listener.settimeout(max(0.0, deadline - time.monotonic()))
        conn, _peer = listener.accept()
    except (TimeoutError, OSError):
        LOG.info("console relay for %s: nobody came before the token expired", what)
        return
    finally:
        listener.close()
    with conn:
        if not _hello(conn, secret):
            LOG.warning("console relay for %s: refused a connection without the secret", what)
            return
        try:
            channel = open_channel()
        except errors.VirtfleetError as exc:
            LOG.warning("console relay for %s: %s", what, exc)
            return
        try:
            pump(conn, channel)
        finally:
            channel.close()


def _hello(conn: socket.socket, secret: str) -> bool:
    """True when the peer's first line is the secret."""
    expected = secret.encode() + b"\n"
    conn.settimeout(HELLO_TIMEOUT)
    received = b""
    try:
        while len(received) < len(expected):
            chunk = conn.recv(len(expected) - len(received))
            if not chunk:
                return False
            received += chunk
    except OSError:
        return False
    conn.settimeout(None)
    return hmac.compare_digest(received, expected)


def pump(sock: socket.socket, channel: Channel) -> None:
    """Copy bytes both ways between ``sock`` and ``channel`` until one side closes."""
    with selectors.DefaultSelector() as selector:
        selector.register(sock.fileno(), selectors.EVENT_READ, "sock")
        selector.register(channel.fileno(), selectors.EVENT_READ, "channel")
        while True:
            for key, _events in selector.select():
                try:
                    if key.data == "sock":
                        data = sock.recv(CHUNK)
                        if data:
                            channel.sendall(data)
                    else:
                        data = channel.recv(CHUNK)
                        if data:
                            sock.sendall(data)
                except OSError:
                    return
                if not data:
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                    return
