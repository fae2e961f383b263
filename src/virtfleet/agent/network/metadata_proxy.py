"""The network side of the metadata path: on each host, for each network with a DHCP
namespace there, an HTTP listener on 169.254.169.254:80 inside that namespace (the
guests get a route to it through their DHCP port). Each request is matched to the
guest's port by its source address on that network, and forwarded to
``[metadata] service_url`` with the identity headers of
:mod:`virtfleet.network.metadata_identity` (whatever the guest sent under those names
is dropped). A source address no port of the network on this host has gets 404.

The listening socket is made in the namespace by a short-lived thread that enters it
(``setns``); the proxy's own connections to the service leave from the agent's
namespace, so the service need not be reachable from the guests' networks.
"""

from __future__ import annotations

import ctypes
import http.client
import http.server
import logging
import os
import socket
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field

from virtfleet import errors
from virtfleet.network import metadata_identity as identity

LOG = logging.getLogger(__name__)
CLONE_NEWNET = 0x40000000
NETNS_DIR = "/run/netns"
TIMEOUT = 30

#: (network id, guest address) -> the guest's identity, or None.
Lookup = Callable[[str, str], "identity.Identity | None"]


def listen_in_namespace(namespace: str, address: str, port: int) -> socket.socket:
    """A TCP socket listening on ``address:port`` in network namespace ``namespace``."""
    made: list[socket.socket] = []
    failed: list[BaseException] = []

    def enter_and_listen() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(f"{NETNS_DIR}/{namespace}", os.O_RDONLY)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns into {namespace}")
            finally:
                os.close(fd)
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((address, port))
            sock.listen(64)
            made.append(sock)
        except BaseException as exc:
            failed.append(exc)

    thread = threading.Thread(target=enter_and_listen, name=f"netns-{namespace}")
    thread.start()
    thread.join()
    if failed or not made:
        raise errors.HypervisorError(
            f"cannot listen on {address}:{port} in namespace {namespace}: {failed[:1]}"
        )
    return made[0]


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    network_id: str
    lookup: Lookup
    upstream: urllib.parse.SplitResult
    secret: str


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: object) -> None:
        LOG.debug("metadata proxy: " + format, *args)

    def _reply(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _forward(self) -> None:
        guest = self.server.lookup(self.server.network_id, self.client_address[0])
        if guest is None:
            self._reply(404, b"no instance has this address on this network\n")
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        sent = identity.strip({k: v for k, v in self.headers.items() if k.lower() != "host"})
        sent.update(identity.headers(self.server.secret, guest))
        upstream = self.server.upstream
        path = upstream.path.rstrip("/") + self.path
        conn = http.client.HTTPConnection(upstream.hostname or "", upstream.port, timeout=TIMEOUT)
        try:
            conn.request(self.command, path, body=body, headers=sent)
            answer = conn.getresponse()
            data = answer.read()
            self._reply(answer.status, data, answer.getheader("Content-Type") or "text/plain")
        except OSError as exc:
            LOG.warning("metadata proxy: the metadata service did not answer: %s", exc)
            self._reply(502, b"the metadata service did not answer\n")
        finally:
            conn.close()

    def do_GET(self) -> None:
        self._forward()

    def do_HEAD(self) -> None:
        self._forward()

    def do_POST(self) -> None:
        self._forward()


@dataclass
class MetadataProxies:
    """One proxy per network namespace on this host."""

    service_url: str
    secret: str
    lookup: Lookup
    running: dict[str, tuple[str, _Server]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        parsed = urllib.parse.urlsplit(self.service_url)
        if parsed.scheme != "http" or not parsed.hostname:
            raise errors.ConfigError(
                f"[metadata] service_url: {self.service_url!r} is not an http:// URL"
            )
        if not self.secret:
            raise errors.ConfigError(
                "[metadata] shared_secret is empty while [metadata] service_url is set: "
                "set the secret the metadata service has"
            )
        self._upstream = parsed

    def sync(self, namespaces: dict[str, str]) -> None:
        """Run a proxy in each ``namespaces[network id]``; stop the others."""
        for network_id in [n for n in self.running if namespaces.get(n) != self.running[n][0]]:
            self.stop(network_id)
        for network_id, namespace in namespaces.items():
            if network_id in self.running:
                continue
            sock = listen_in_namespace(namespace, identity.METADATA_ADDRESS, identity.METADATA_PORT)
            server = _Server(("", 0), _Handler, bind_and_activate=False)  # its socket: sock
            server.socket.close()
            server.socket = sock
            server.server_address = sock.getsockname()
            server.network_id = network_id
            server.lookup = self.lookup
            server.upstream = self._upstream
            server.secret = self.secret
            threading.Thread(
                target=server.serve_forever, name=f"metadata-{network_id[:8]}", daemon=True
            ).start()
            self.running[network_id] = (namespace, server)

    def stop(self, network_id: str) -> None:
        found = self.running.pop(network_id, None)
        if found is not None:
            found[1].shutdown()
            found[1].server_close()

    def stop_all(self) -> None:
        for network_id in list(self.running):
            self.stop(network_id)
