"""Serve the Compute and Image apps on 127.0.0.1 (random port) with cheroot in a
thread, and run the real ``openstack`` CLI against them with a temporary clouds.yaml."""

from __future__ import annotations

import json
import os
import pathlib
import socket
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from cheroot import wsgi

from support.api_apps import Apps
from virtfleet.api.versions import make_identity_stub_app

IDENTITY = make_identity_stub_app()
OPENSTACK = pathlib.Path(sys.executable).parent / "openstack"


def _dispatch(apps: Apps) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        mounts = (
            ("/compute", apps.compute_app),
            ("/image", apps.image_app),
            ("/networking", apps.network_app),
            ("/identity", IDENTITY),
        )
        for prefix, target in mounts:
            if path == prefix or path.startswith(prefix + "/"):
                environ["SCRIPT_NAME"] = prefix
                environ["PATH_INFO"] = path[len(prefix) :] or "/"
                return target(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]

    return app


@dataclass
class CLI:
    clouds_yaml: pathlib.Path
    log: list[str]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "OS_CLIENT_CONFIG_FILE": str(self.clouds_yaml),
            "OS_CLOUD": "virtfleet",
        }
        result = subprocess.run(
            [str(OPENSTACK), *args], capture_output=True, text=True, env=env, timeout=120
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"openstack {' '.join(args)} failed ({result.returncode}):\n{result.stderr}"
            )
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "-f", "json").stdout)

    def session(self, *commands: str) -> tuple[list[Any], str]:
        """Run several commands in one interactive ``openstack`` process (the CLI's
        start-up dominates a single command's time). Returns the JSON documents the
        commands printed, in order, and the session's stderr."""
        env = {
            **os.environ,
            "OS_CLIENT_CONFIG_FILE": str(self.clouds_yaml),
            "OS_CLOUD": "virtfleet",
        }
        result = subprocess.run(
            [str(OPENSTACK)],
            input="\n".join(commands) + "\n",
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        decoder = json.JSONDecoder()
        documents: list[Any] = []
        text = result.stdout.strip()
        while text:
            document, end = decoder.raw_decode(text)
            documents.append(document)
            text = text[end:].strip()
        return documents, result.stderr


@contextmanager
def serve(apps: Apps, tmp_path: pathlib.Path) -> Iterator[CLI]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log: list[str] = []
    inner = _dispatch(apps)

    def logged(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        query = environ.get("QUERY_STRING")
        log.append(
            f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}" + (f"?{query}" if query else "")
        )
        result: Iterable[bytes] = inner(environ, start_response)
        return result

    server = wsgi.Server(("127.0.0.1", port), logged, numthreads=4)
    server.prepare()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    clouds = tmp_path / "clouds.yaml"
    base = f"http://127.0.0.1:{port}"
    clouds.write_text(
        "clouds:\n"
        "  virtfleet:\n"
        "    auth_type: none\n"
        f"    compute_endpoint_override: {base}/compute/v2.1\n"
        f"    image_endpoint_override: {base}/image\n"
        f"    network_endpoint_override: {base}/networking\n"
        f"    identity_endpoint_override: {base}/identity/v3\n"
    )
    try:
        yield CLI(clouds, log)
    finally:
        server.stop()
        thread.join(timeout=5)
