"""Consoles of simulated guests: a serial stream and a minimal VNC (RFB 3.8) server,
each served on one end of a socket pair by a thread until the other end closes.

The serial console prints a boot line and a login prompt and echoes what is typed
(a new prompt after each line). The VNC server completes the RFB handshake with no
authentication and answers a full update request with one solid-coloured frame.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import threading
from collections.abc import Callable

LOG = logging.getLogger(__name__)

WIDTH, HEIGHT = 320, 200
RFB_VERSION = b"RFB 003.008\n"
SECURITY_NONE = 1
#: 32 bits per pixel, depth 24, little endian, true colour, 8 bits per channel.
PIXEL_FORMAT = struct.pack(">BBBBHHHBBB3x", 32, 24, 0, 1, 255, 255, 255, 16, 8, 0)
#: Client message type -> its length before any variable part.
CLIENT_MESSAGES = {0: 20, 2: 4, 3: 10, 4: 8, 5: 6, 6: 8}
READ_TIMEOUT = 600.0  # an idle viewer is dropped after this long


def open_console(kind: str, guest_name: str) -> socket.socket:
    """The caller's end of a new console ``kind`` ("serial" or "vnc") of ``guest_name``."""
    ours, theirs = socket.socketpair()
    serve = _serve_serial if kind == "serial" else _serve_vnc
    thread = threading.Thread(
        target=_run, args=(serve, ours, guest_name), name=f"sim-console-{kind}", daemon=True
    )
    thread.start()
    return theirs


def _run(serve: Callable[[socket.socket, str], None], sock: socket.socket, guest_name: str) -> None:
    sock.settimeout(READ_TIMEOUT)
    try:
        serve(sock, guest_name)
    except (OSError, ConnectionError, struct.error):
        pass  # the viewer went away
    finally:
        with contextlib.suppress(OSError):
            sock.close()


def _serve_serial(sock: socket.socket, guest_name: str) -> None:
    prompt = f"\r\n{guest_name} login: ".encode()
    sock.sendall(f"virtfleet simulated guest {guest_name}: serial console".encode() + prompt)
    while data := sock.recv(4096):
        echo = data.replace(b"\r", b"").replace(b"\n", prompt)
        if b"\r" in data and b"\n" not in data:
            echo += prompt
        sock.sendall(echo)


def _serve_vnc(sock: socket.socket, guest_name: str) -> None:
    sock.sendall(RFB_VERSION)
    if not _read(sock, 12).startswith(b"RFB 003."):
        return
    sock.sendall(bytes([1, SECURITY_NONE]))
    if _read(sock, 1) != bytes([SECURITY_NONE]):
        sock.sendall(struct.pack(">I", 1) + _string(b"only security type None is offered"))
        return
    sock.sendall(struct.pack(">I", 0))
    _read(sock, 1)  # ClientInit (shared flag)
    name = f"virtfleet simulated guest {guest_name}".encode()
    sock.sendall(struct.pack(">HH", WIDTH, HEIGHT) + PIXEL_FORMAT + _string(name))
    while True:
        kind = _read(sock, 1)[0]
        length = CLIENT_MESSAGES.get(kind)
        if length is None:
            return  # not RFB: hang up as a VNC server would
        body = _read(sock, length - 1)
        if kind == 2:  # SetEncodings: count at bytes 1-2 of the rest, 4 bytes each
            _read(sock, 4 * struct.unpack(">H", body[1:3])[0])
        elif kind == 6:  # ClientCutText: length at bytes 3-6 of the rest
            _read(sock, struct.unpack(">I", body[3:7])[0])
        elif kind == 3 and body[0] == 0:  # a full (non-incremental) update request
            sock.sendall(_frame())


def _frame() -> bytes:
    """One FramebufferUpdate: the whole screen, raw encoding, dark blue."""
    header = struct.pack(">BxH", 0, 1) + struct.pack(">HHHHi", 0, 0, WIDTH, HEIGHT, 0)
    return header + b"\x60\x20\x10\x00" * (WIDTH * HEIGHT)


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _read(sock: socket.socket, size: int) -> bytes:
    """Exactly ``size`` bytes; ConnectionError when the viewer closes first."""
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("viewer closed the connection")
        data += chunk
    return data
