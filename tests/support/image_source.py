"""A web server on 127.0.0.1 for web-download imports in tests: /disk.img answers
:data:`DATA`, /moved redirects to it, anything else is a 404. Nothing leaves the machine."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: What the test web server serves at /disk.img.
DATA = bytes(range(256)) * 300


class _Source(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/disk.img":
            self.send_response(200)
            self.send_header("Content-Length", str(len(DATA)))
            self.end_headers()
            self.wfile.write(DATA)
        elif self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/disk.img")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_error(404)

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def serve_source() -> Iterator[str]:
    """Base URL of an HTTP server on 127.0.0.1 serving /disk.img (and a redirect)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Source)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
