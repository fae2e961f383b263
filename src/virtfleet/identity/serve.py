"""The embedded Keystone's process: Keystone's WSGI application on a cheroot server.

Run as ``python -m virtfleet.identity.serve CONFIG_FILE HOST:PORT`` by
:class:`virtfleet.identity.embedded.EmbeddedKeystone`; it stops on SIGTERM. Keystone
keeps its configuration in process-wide globals, which is why it runs in a process of
its own rather than inside the control plane.
"""

from __future__ import annotations

import ctypes
import signal
import sys
import threading

from cheroot import wsgi

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask Linux for SIGTERM when the parent (the control plane) dies, even by SIGKILL."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the parent's stop() still ends it
        pass


def serve(config_file: str, listen: str) -> None:
    """Serve Keystone configured by ``config_file`` on ``listen`` until SIGTERM."""
    die_with_parent()
    from keystone.server.flask import core  # heavy: only in this process

    sys.argv = sys.argv[:1]  # Keystone parses the command line for options too
    app = core.initialize_application("public", config_files=[config_file])
    host, _, port = listen.rpartition(":")
    server = wsgi.Server((host, int(port)), app, numthreads=8, server_name="keystone")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    server.prepare()
    thread = threading.Thread(target=server.serve, name="keystone-http", daemon=True)
    thread.start()
    print(f"keystone serving on {listen}", flush=True)
    stop.wait()
    server.stop()


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2])
