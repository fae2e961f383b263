"""Delivery of simulated lifecycle events, on one event thread as libvirt does.

Real libvirt runs callbacks from its event loop thread, never from the thread that made
the call that caused the event. The simulator does the same: one process-wide daemon
thread delivers the events of every simulated host in the order they happened, so a
callback may take locks its caller holds without deadlocking. ``wait_for_events()``
blocks until everything queued so far was delivered (for tests and demos).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

LOG = logging.getLogger(__name__)

Delivery = Callable[[], None]


class EventDispatcher:
    """A FIFO of deliveries run on one daemon thread (started on first use)."""

    def __init__(self) -> None:
        self._queue: queue.Queue[Delivery] = queue.Queue()
        self._pending = 0
        self._idle = threading.Condition()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(self, delivery: Delivery) -> None:
        with self._idle:
            self._pending += 1
        self._ensure_thread()
        self._queue.put(delivery)

    def wait(self, timeout: float = 5.0) -> bool:
        """True once every delivery submitted so far ran (False on timeout).

        From inside a callback (the event thread itself) it returns at once."""
        if threading.current_thread() is self._thread:
            return self._pending <= 1
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def _ensure_thread(self) -> None:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="sim-libvirt-events", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            delivery = self._queue.get()
            try:
                delivery()
            except Exception:  # a failing callback must not stop the event loop
                LOG.exception("simulated libvirt event callback failed")
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()


DISPATCHER = EventDispatcher()


def wait_for_events(timeout: float = 5.0) -> bool:
    """Block until every simulated event raised so far was delivered."""
    return DISPATCHER.wait(timeout)
