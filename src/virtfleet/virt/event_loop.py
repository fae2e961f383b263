"""libvirt's default event loop, run on one daemon thread for the whole process.

libvirt delivers domain lifecycle events only to connections opened *after* an event
loop implementation was registered, and only while that loop runs; so this is started
before any real connection is opened (simulated hosts deliver events themselves).
"""

from __future__ import annotations

import logging
import threading

import libvirt

LOG = logging.getLogger(__name__)
_lock = threading.Lock()
_thread: threading.Thread | None = None


def ensure_running() -> None:
    """Register and start the default event loop once (idempotent, thread safe)."""
    global _thread
    with _lock:
        if _thread is not None:
            return
        libvirt.virEventRegisterDefaultImpl()
        _thread = threading.Thread(target=_run, name="libvirt-events", daemon=True)
        _thread.start()


def _run() -> None:
    while True:
        if libvirt.virEventRunDefaultImpl() < 0:
            LOG.error("libvirt event loop iteration failed")
