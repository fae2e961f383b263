"""Simulated consoles: a serial stream with a login prompt, a VNC server's RFB 3.8
handshake and one frame."""

from __future__ import annotations

import contextlib
import struct

from virtfleet.virt.sim import console


def read(sock: object, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))  # type: ignore[attr-defined]  # a socket
        assert chunk, "closed early"
        data += chunk
    return data


def test_serial_prints_a_login_prompt_and_echoes() -> None:
    sock = console.open_console("serial", "vm-1")
    sock.settimeout(5)
    banner = sock.recv(4096)
    assert b"vm-1 login: " in banner
    sock.sendall(b"root\r")
    assert b"root" in read(sock, 4)
    sock.close()


def test_vnc_speaks_rfb_without_authentication() -> None:
    sock = console.open_console("vnc", "vm-1")
    sock.settimeout(5)
    assert read(sock, 12) == b"RFB 003.008\n"
    sock.sendall(b"RFB 003.008\n")
    assert read(sock, 2) == b"\x01\x01"  # one security type: None
    sock.sendall(b"\x01")
    assert read(sock, 4) == b"\x00\x00\x00\x00"  # SecurityResult OK
    sock.sendall(b"\x01")  # ClientInit, shared
    width, height = struct.unpack(">HH", read(sock, 4))
    assert (width, height) == (console.WIDTH, console.HEIGHT)
    read(sock, 16)  # pixel format
    (length,) = struct.unpack(">I", read(sock, 4))
    assert b"vm-1" in read(sock, length)
    sock.sendall(struct.pack(">BxHi", 2, 1, 0))  # SetEncodings: raw
    sock.sendall(struct.pack(">BBHHHH", 3, 0, 0, 0, width, height))  # full update request
    header = read(sock, 16)
    assert header[:4] == b"\x00\x00\x00\x01"
    assert len(read(sock, width * height * 4)) == width * height * 4
    sock.close()


def test_vnc_hangs_up_on_a_non_rfb_client() -> None:
    sock = console.open_console("vnc", "vm-1")
    sock.settimeout(5)
    read(sock, 12)
    sock.sendall(b"GET / HTTP/1.1\r\n")
    # closed with the rest of the request unread: a reset, also a hang-up
    with contextlib.suppress(ConnectionResetError):
        assert sock.recv(10) == b""
