"""This server's place among the control servers sharing one database: it registers
under a name unique to this start, beats its heart every ``[conductor]
heartbeat_interval`` seconds, and as often, on a thread of its own, runs a check
(the conductor's take-over of dead servers' work), so a long check never delays a
beat. A server is alive while its last heartbeat is younger than ``[conductor]
dead_after``."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from virtfleet.db import control_servers
from virtfleet.db.engine import Database

LOG = logging.getLogger(__name__)


class Membership:
    """Registers ``name``, beats, and says which servers are alive."""

    def __init__(
        self,
        db: Database,
        name: str,
        interval: float,
        dead_after: float,
        after_beat: Callable[[], object] = lambda: None,  # the check
    ) -> None:
        self._db = db
        self.name = name
        self.interval = interval
        self.dead_after = dead_after
        self._after_beat = after_beat
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Register, start beating and checking."""
        control_servers.register(self._db, self.name)
        self._stopping.clear()
        self._threads = [
            threading.Thread(target=self._every, args=(self.beat,), name="heartbeat", daemon=True),
            threading.Thread(
                target=self._every, args=(self._after_beat,), name="takeover", daemon=True
            ),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop beating and leave: this server's work is done, none to take over."""
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads = []
        try:
            control_servers.leave(self._db, self.name)
        except Exception:  # the database may be gone: peers see the heartbeat age
            LOG.warning("could not leave the control servers cleanly", exc_info=True)

    def alive(self) -> frozenset[str]:
        """Names of the servers whose heartbeat is younger than ``dead_after``."""
        return control_servers.live(self._db, self.dead_after)

    def beat(self) -> None:
        """One heartbeat."""
        control_servers.heartbeat(self._db, self.name)

    def _every(self, action: Callable[[], object]) -> None:
        while not self._stopping.wait(self.interval):
            try:
                action()
            except Exception:  # a passing database error must not stop the loop
                LOG.exception("%s of %s failed", threading.current_thread().name, self.name)
