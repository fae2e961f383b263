"""The agent's one-connection console relay: the secret first, then bytes both ways;
a wrong secret, a second connection or a late one gets nothing."""

from __future__ import annotations

import socket
import threading

import pytest

from virtfleet import errors
from virtfleet.agent import console_relay


class Echo:
    """A console that answers every chunk with it upper-cased (a socket pair end)."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.ours, self.theirs = socket.socketpair()

    def open(self) -> socket.socket:
        self.opened.set()
        threading.Thread(target=self._serve, daemon=True).start()
        return self.theirs

    def _serve(self) -> None:
        with self.ours:
            while data := self.ours.recv(1024):
                self.ours.sendall(data.upper())


def connect(relay: console_relay.Relay, first: bytes) -> socket.socket:
    sock = socket.create_connection((relay.host, relay.port), timeout=5)
    sock.sendall(first)
    return sock


def test_the_secret_opens_the_console_and_bytes_flow_both_ways() -> None:
    echo = Echo()
    relay = console_relay.open_relay("127.0.0.1", 30, echo.open, "test console")
    assert len(relay.secret) == 2 * console_relay.SECRET_BYTES
    with connect(relay, relay.secret.encode() + b"\nhello") as sock:
        assert sock.recv(100) == b"HELLO"
        sock.sendall(b"again")
        assert sock.recv(100) == b"AGAIN"
    assert echo.opened.is_set()


def test_a_wrong_secret_is_hung_up_on_and_the_console_never_opened() -> None:
    echo = Echo()
    relay = console_relay.open_relay("127.0.0.1", 30, echo.open, "test console")
    wrong = ("0" * len(relay.secret)).encode() + b"\n"
    with connect(relay, wrong) as sock:
        assert sock.recv(100) == b""  # closed
    assert not echo.opened.is_set()
    with pytest.raises(ConnectionRefusedError):  # one connection only: the listener is gone
        socket.create_connection((relay.host, relay.port), timeout=2)


def test_nobody_connecting_before_the_lifetime_ends_closes_the_relay() -> None:
    echo = Echo()
    relay = console_relay.open_relay("127.0.0.1", 0.2, echo.open, "test console")
    threading.Event().wait(0.6)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((relay.host, relay.port), timeout=2)
    assert not echo.opened.is_set()


def test_an_address_the_host_lacks_is_a_hypervisor_error() -> None:
    with pytest.raises(errors.HypervisorError, match=r"cannot listen on 203\.0\.113\.9"):
        console_relay.open_relay("203.0.113.9", 5, Echo().open, "test console")
