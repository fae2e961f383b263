"""The noVNC web client's files, served by the console proxy from ``[console]
novnc_dir`` (the Debian ``novnc`` package installs them in ``/usr/share/novnc``).

Without that directory the noVNC page is a short HTML page saying where the
websocket is, so a console URL still answers; every other path is 404.
"""

from __future__ import annotations

import html
import mimetypes
import os
import urllib.parse

from websockets.datastructures import Headers
from websockets.http11 import Request, Response
from websockets.sync.server import ServerConnection

NOVNC_PAGE = "vnc_lite.html"
MAX_FILE_BYTES = 16 * 1024 * 1024

FALLBACK = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>virtfleet console</title></head>
<body><p>The noVNC web client is not installed on this console proxy
(<code>[console] novnc_dir</code> = <code>{directory}</code>; on Debian:
<code>apt-get install novnc</code>).</p>
<p>The VNC console is the websocket <code>{path}</code> on this host and port:
it carries RFB (binary messages) to any websocket-capable VNC client.</p></body></html>
"""


def respond(connection: ServerConnection, request: Request, directory: str) -> Response:
    """The file ``request.path`` names under ``directory`` (200), or 404."""
    parts = urllib.parse.urlsplit(request.path)
    relative = urllib.parse.unquote(parts.path).lstrip("/") or NOVNC_PAGE
    root = os.path.realpath(directory)
    path = os.path.realpath(os.path.join(root, relative))
    if not os.path.isdir(root) and relative == NOVNC_PAGE:
        query = urllib.parse.parse_qs(parts.query)
        ws_path = query.get("path", ["?token=..."])[0]
        body = FALLBACK.format(directory=html.escape(directory), path=html.escape("/" + ws_path))
        return _ok(body.encode(), "text/html; charset=utf-8")
    if not path.startswith(root + os.sep) or not os.path.isfile(path):
        return connection.respond(404, "Not found.\n")
    if os.path.getsize(path) > MAX_FILE_BYTES:
        return connection.respond(404, "Not found.\n")
    with open(path, "rb") as handle:
        data = handle.read()
    kind = mimetypes.guess_type(path)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind in ("application/javascript", "text/javascript"):
        kind += "; charset=utf-8"
    return _ok(data, kind)


def _ok(body: bytes, content_type: str) -> Response:
    headers = Headers(
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
        ]
    )
    return Response(200, "OK", headers, body)
