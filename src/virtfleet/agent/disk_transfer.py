"""A cold migration's disk between hosts that share no instances path: the source
offers one file over HTTP, the destination pulls it and checks it.

:func:`offer` computes the file's SHA-256 and size, then serves it from a listener of
its own on ``[libvirt] disk_transfer_address`` (port ``[libvirt] disk_transfer_port``,
0: one the kernel picks) for one ``GET`` that carries the offer's random token in the
``X-Virtfleet-Transfer-Token`` header; the listener closes once the file was sent, or
when ``[libvirt] disk_transfer_timeout`` seconds passed. A request with a wrong token
gets 403 and the offer is withdrawn (a token is never guessed twice).
:func:`fetch` writes the file where the destination wants it and removes it again
unless its size and SHA-256 are the offer's.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.server
import logging
import os
import secrets
import socket
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from virtfleet import errors
from virtfleet.objects.rpc_results import DiskOffer

LOG = logging.getLogger(__name__)

TOKEN_HEADER = "X-Virtfleet-Transfer-Token"  # noqa: S105 - a header name
CHUNK = 1 << 20
TOKEN_BYTES = 24


def checksum(path: str) -> tuple[int, str]:
    """(size, SHA-256 hex) of the file at ``path``."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


class _OneFile(http.server.BaseHTTPRequestHandler):
    server: _OneFileServer

    def do_GET(self) -> None:
        offered = self.server
        given = self.headers.get(TOKEN_HEADER, "")
        if not hmac.compare_digest(given.encode(), offered.token.encode()):
            LOG.warning("disk transfer of %s: wrong token from %s; offer withdrawn",
                        offered.path, self.client_address[0])  # fmt: skip
            offered.done = True
            self.send_error(403, "wrong transfer token")
            return
        offered.done = True
        try:
            handle = open(offered.path, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            self.send_error(404, f"the offered file is gone: {exc.strerror}")
            return
        with handle:
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(os.fstat(handle.fileno()).st_size))
            self.end_headers()
            while chunk := handle.read(CHUNK):
                self.wfile.write(chunk)
        LOG.info("disk transfer: %s sent to %s", offered.path, self.client_address[0])

    def log_message(self, format: str, *args: Any) -> None:
        LOG.debug("disk transfer: " + format, *args)


class _OneFileServer(http.server.HTTPServer):
    def __init__(self, address: tuple[str, int], family: int, path: str, token: str) -> None:
        self.address_family = family
        self.path = path
        self.token = token
        self.done = False
        super().__init__(address, _OneFile)


def offer(path: str, address: str, port: int, lifetime: float) -> DiskOffer:
    """Serve the file at ``path`` for one GET with the returned offer's token."""
    if not os.path.isfile(path):
        raise errors.NotFound(f"disk transfer: no file {path} to offer")
    size, sha256 = checksum(path)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        server = _OneFileServer((address, port), family, path, token)
    except OSError as exc:
        raise errors.HypervisorError(
            f"disk transfer of {path}: cannot listen on {address} port {port}: {exc.strerror}"
        ) from exc
    bound = int(server.server_address[1])
    server.timeout = 0.5
    deadline = time.monotonic() + lifetime

    def serve() -> None:
        with server:
            while not server.done and time.monotonic() < deadline:
                server.handle_request()
        if not server.done:
            LOG.warning("disk transfer of %s: nobody came within %ss", path, lifetime)

    threading.Thread(target=serve, name=f"disk-transfer-{bound}", daemon=True).start()
    host = f"[{address}]" if family == socket.AF_INET6 else address
    return DiskOffer(url=f"http://{host}:{bound}/disk", token=token, size=size, sha256=sha256)


def fetch(wanted: DiskOffer, target: str, timeout: float) -> None:
    """Pull ``wanted`` into ``target``; HypervisorError (nothing left at ``target``)
    when it cannot be had or is not what was offered."""
    if not wanted.url.startswith("http://"):
        raise errors.InvalidInput(f"disk transfer: not an http URL: {wanted.url}")
    request = urllib.request.Request(wanted.url, headers={TOKEN_HEADER: wanted.token})  # noqa: S310
    digest = hashlib.sha256()
    size = 0
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # host to host
    try:
        with opener.open(request, timeout=timeout) as reply, open(target, "wb") as out:
            while chunk := reply.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
    except (OSError, urllib.error.URLError) as exc:
        with contextlib.suppress(OSError):
            os.unlink(target)
        raise errors.HypervisorError(f"disk transfer from {wanted.url} failed: {exc}") from exc
    if size != wanted.size or digest.hexdigest() != wanted.sha256:
        with contextlib.suppress(OSError):
            os.unlink(target)
        raise errors.HypervisorError(
            f"disk transfer from {wanted.url}: got {size} bytes with SHA-256 "
            f"{digest.hexdigest()}, the source offered {wanted.size} bytes with SHA-256 "
            f"{wanted.sha256}"
        )
