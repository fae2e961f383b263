"""This server's place among the control servers sharing one database: it registers
under a name unique to this start, beats its heart every ``[conductor]
heartbeat_interval`` seconds, and after each beat runs a check (the conductor's
take-over of dead servers' work). A server is alive while its last heartbeat is
younger than ``[conductor] dead_after``."""

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
        after_beat: Callable[[], object] = lambda: None,
    ) -> None:
        self._db = db
        self.name = name
        self.interval = interval
        self.dead_after = dead_after
        self._after_beat = after_beat
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Register and start beating (and checking after each beat)."""
        control_servers.register(self._db, self.name)
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop beating and leave: this server's work is done, none to take over."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        try:
            control_servers.leave(self._db, self.name)
        except Exception:  # the database may be gone: peers see the heartbeat age
            LOG.warning("could not leave the control servers cleanly", exc_info=True)

    def alive(self) -> frozenset[str]:
        """Names of the servers whose heartbeat is younger than ``dead_after``."""
        return control_servers.live(self._db, self.dead_after)

    def beat(self) -> None:
        """One heartbeat, then the check."""
        control_servers.heartbeat(self._db, self.name)
        self._after_beat()

    def _run(self) -> None:
        while not self._stopping.wait(self.interval):
            try:
                self.beat()
            except Exception:  # a passing database error must not stop the heartbeat
                LOG.exception("heartbeat of %s failed", self.name)
