"""A guest's interactive consoles on its host: the serial port (a pty QEMU made, its
output also logged to the console log) and the VNC server (QEMU's, on a port libvirt
picked), both found in the live domain XML.

:func:`open_channel` gives a byte channel to one of them; the agent's relay
(:mod:`virtfleet.agent.console_relay`) joins it to the console proxy's connection. A
simulated domain has no pty or VNC server: it answers ``openSimConsole(kind)`` with one
end of a socket pair it serves itself (found with ``getattr``, as ``getSimDiskGB`` is).
"""

from __future__ import annotations

import contextlib
import os
import socket
import termios
import tty
from typing import Protocol

from virtfleet import errors
from virtfleet.virt.hypervisor import Domain
from virtfleet.virt.libvirt import config

SERIAL = "serial"
VNC = "vnc"
KINDS = (SERIAL, VNC)
CONNECT_TIMEOUT = 5.0


class Channel(Protocol):
    """A bidirectional byte stream with a file descriptor (a socket or a pty)."""

    def fileno(self) -> int: ...
    def recv(self, size: int, /) -> bytes: ...
    def sendall(self, data: bytes, /) -> None: ...
    def close(self) -> None: ...


class PtyChannel:
    """The host side of a guest's serial pty, in raw mode."""

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        with contextlib.suppress(termios.error):  # not a terminal: plain bytes anyway
            tty.setraw(self._fd, termios.TCSANOW)

    def fileno(self) -> int:
        return self._fd

    def recv(self, size: int, /) -> bytes:
        try:
            return os.read(self._fd, size)
        except OSError:  # EIO once QEMU closed its side (the guest stopped)
            return b""

    def sendall(self, data: bytes, /) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)


def endpoint(domain_xml: str, kind: str) -> tuple[str, int] | str:
    """Where console ``kind`` of a running guest is: the serial pty's path, or the VNC
    server's (address, port). NotFound-free: InvalidInput names what is missing."""
    devices = config.Domain.parse(domain_xml).devices
    if kind == SERIAL:
        for serial in devices.serials if devices else []:
            if serial.type == "pty" and serial.source and serial.source.path:
                return serial.source.path
        raise errors.InvalidInput("the guest has no serial console (no pty serial port)")
    if kind == VNC:
        for graphics in devices.graphics if devices else []:
            if graphics.type == "vnc" and graphics.port and graphics.port > 0:
                return graphics.listen or "127.0.0.1", graphics.port
        raise errors.InvalidInput("the guest has no VNC server (no graphics device)")
    raise errors.InvalidInput(f"unknown console kind {kind!r} (known: {', '.join(KINDS)})")


def has_console(domain: Domain, domain_xml: str, kind: str) -> None:
    """InvalidInput when the guest lacks console ``kind`` (checked on the live XML;
    a simulated domain's XML has no pty path or port until asked, so only the
    device's presence is checked there)."""
    if getattr(domain, "openSimConsole", None) is None:
        endpoint(domain_xml, kind)
        return
    devices = config.Domain.parse(domain_xml).devices
    present = (
        (
            any(s.type == "pty" for s in devices.serials)
            if kind == SERIAL
            else any(g.type == "vnc" for g in devices.graphics)
        )
        if devices
        else False
    )
    if not present:
        raise errors.InvalidInput(f"the guest has no {kind} console")


def open_channel(domain: Domain, domain_xml: str, kind: str) -> Channel:
    """A channel to console ``kind`` of the running guest ``domain``."""
    sim_console = getattr(domain, "openSimConsole", None)
    if sim_console is not None:
        has_console(domain, domain_xml, kind)
        channel: Channel = sim_console(kind)
        return channel
    where = endpoint(domain_xml, kind)
    if isinstance(where, str):
        return PtyChannel(where)
    sock = socket.create_connection(where, timeout=CONNECT_TIMEOUT)
    sock.settimeout(None)
    return sock
