"""The Keystone that `virtfleet up` runs: a supervised child process.

:class:`EmbeddedKeystone` bootstraps the Keystone directory on first start, starts
:mod:`virtfleet.identity.serve` as a child, waits until its Identity API answers, and
restarts it if it dies while the cloud runs.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

from virtfleet import errors
from virtfleet.identity import bootstrap
from virtfleet.identity.layout import KeystoneLayout

LOG = logging.getLogger(__name__)
#: Restarts of a child that died, at most, before the supervisor gives up.
MAX_RESTARTS = 5


def resolve_listen(listen: str) -> tuple[str, int]:
    """``HOST:PORT`` → (host, port); port 0 becomes a free port now."""
    host, _, port_text = listen.rpartition(":")
    host = host or "127.0.0.1"
    try:
        port = int(port_text)
    except ValueError:
        raise errors.ConfigError(f"[identity] listen {listen!r}: expected HOST:PORT") from None
    if port == 0:
        with socket.socket() as sock:
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
    return host, port


class EmbeddedKeystone:
    """One Keystone child process on ``listen`` with its state in ``layout``."""

    def __init__(
        self, layout: KeystoneLayout, listen: str, region: str, start_timeout: float
    ) -> None:
        self.layout = layout
        self.region = region
        self.start_timeout = start_timeout
        self.host, self.port = resolve_listen(listen)
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None
        self.restarts = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def auth_url(self) -> str:
        """The Identity API v3 root (what clients and auth_token are given)."""
        return f"{self.url}/v3"

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def start(self) -> None:
        """Bootstrap if needed, start the child and wait until it answers; raises
        ``ConfigError`` naming the problem (with the end of Keystone's log)."""
        started = time.monotonic()
        bootstrap.bootstrap(self.layout, self.region)
        self.layout.write_config()  # its paths follow the directory if it was moved
        LOG.info("keystone bootstrap checked in %.1f s", time.monotonic() - started)
        self._spawn()
        self._wait_ready()
        LOG.info("keystone answers at %s (%.1f s)", self.auth_url, time.monotonic() - started)
        self._supervisor = threading.Thread(
            target=self._supervise, name="keystone-supervisor", daemon=True
        )
        self._supervisor.start()

    def _spawn(self) -> None:
        log = self.layout.root / "keystone-process.log"
        with log.open("ab") as out:
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "virtfleet.identity.serve",
                    str(self.layout.config_file),
                    f"{self.host}:{self.port}",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "OS_KEYSTONE_CONFIG_DIR": str(self.layout.root)},
            )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            process = self._process
            if process is None:
                raise errors.ConfigError("keystone was stopped while starting")
            if process.poll() is not None:
                raise errors.ConfigError(
                    f"keystone exited at start ({process.returncode}): {self._log_tail()}"
                )
            if self.answers():
                return
            time.sleep(0.1)
        self._terminate()
        raise errors.ConfigError(
            f"keystone did not answer at {self.auth_url} within {self.start_timeout:.0f} s: "
            f"{self._log_tail()}"
        )

    def answers(self) -> bool:
        """True when ``GET /v3`` answers 200."""
        try:
            with urllib.request.urlopen(self.auth_url, timeout=2) as resp:  # noqa: S310 (our child)
                return bool(resp.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def _log_tail(self, lines: int = 8) -> str:
        text = ""
        for path in (self.layout.root / "keystone-process.log", self.layout.log_file):
            if path.exists():
                text += path.read_text(errors="replace")
        return " | ".join(text.strip().splitlines()[-lines:]) or "(no log)"

    def _supervise(self) -> None:
        """Restart the child when it dies while the cloud runs."""
        while not self._stopping.is_set():
            process = self._process
            if process is None or process.poll() is None:
                self._stopping.wait(0.5)
                continue
            if self._stopping.is_set():
                return
            if self.restarts >= MAX_RESTARTS:
                LOG.error("keystone died %d times; not restarting it again", self.restarts)
                return
            self.restarts += 1
            LOG.error(
                "keystone exited (%s); restarting it (%d/%d)",
                process.returncode,
                self.restarts,
                MAX_RESTARTS,
            )
            try:
                self._spawn()
                self._wait_ready()
            except errors.ConfigError as exc:
                LOG.error("keystone restart failed: %s", exc)

    def stop(self) -> None:
        """Stop supervising and terminate the child (idempotent)."""
        self._stopping.set()
        self._terminate()
        if self._supervisor is not None:
            self._supervisor.join(5)

    def _terminate(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
