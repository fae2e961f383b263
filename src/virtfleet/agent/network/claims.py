"""What one agent's networking owns on a machine, and no other agent may touch: the
nftables tables of a network namespace and the dnsmasq of a state directory. Both
are rewritten or cleaned up whole by their owner, so two agents sharing either would
undo each other (one's guests unfiltered, the other's DHCP stopped).

A claim is an ``flock(2)`` lock on a file, held from the first time the agent needs
it until the agent's process ends; a dead agent's claim goes with its process. The
file holds the holder's pid, for the refusal's message. Two claims on one file
exclude each other even within one process (each has its own open file)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pathlib
import time
from dataclasses import dataclass, field

from virtfleet import errors

RUN_DIRECTORY = pathlib.Path("/run/virtfleet")
#: Seconds a claim waits for a passing holder before it is refused.
WAIT = 3.0


@dataclass
class Claim:
    """One thing an agent owns alone (``what``, for messages), by the lock on ``path``."""

    path: pathlib.Path
    what: str
    _fd: int | None = field(default=None, repr=False)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def take(self) -> bool:
        """Hold the claim (kept once taken); False when another holder has it."""
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def require(self, wait: float = WAIT) -> None:
        """Hold the claim, waiting up to ``wait`` seconds for a passing holder (an
        agent with nothing to filter takes it for a moment to clean up); HypervisorError
        naming the holder when another keeps it."""
        deadline = time.monotonic() + wait
        while not self.take():
            if time.monotonic() >= deadline:
                raise errors.HypervisorError(
                    f"{self.what} are held by another virtfleet agent ({self.holder()}, lock "
                    f"{self.path}): give each agent on a machine its own network namespace "
                    "and [network] state_directory"
                )
            time.sleep(0.05)

    def holder(self) -> str:
        """The holder as its lock file names it."""
        try:
            pid = self.path.read_text().strip()
        except OSError:
            pid = ""
        return f"pid {pid}" if pid.isdigit() else "pid unknown"

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


def namespace_claim(netns: str | None, run_directory: pathlib.Path = RUN_DIRECTORY) -> Claim:
    """The claim on the nftables tables of ``netns`` (None: this process's own
    namespace), keyed by the namespace's inode."""
    path = pathlib.Path(f"/run/netns/{netns}") if netns else pathlib.Path("/proc/self/ns/net")
    try:
        inode = os.stat(path).st_ino
    except OSError as exc:
        raise errors.HypervisorError(f"network namespace {netns}: {exc.strerror}") from None
    where = f"network namespace {netns}" if netns else "this agent's network namespace"
    return Claim(run_directory / f"nftables-{inode}.lock", f"the security-group rules of {where}")


def state_directory_claim(directory: pathlib.Path) -> Claim:
    """The claim on the dnsmasq of the network state directory ``directory``."""
    return Claim(directory / ".agent.lock", f"the DHCP servers of state directory {directory}")
