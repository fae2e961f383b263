"""What to do with a live migration whose workflow died with its control plane.

A migration record in a non-final state that no workflow of the running conductor
drives is an *orphan*. The agents are asked where the guest's domain is and whether the
source still runs a migration job for it; :func:`decide` turns the answers into one of

- ``wait``: an agent cannot be reached, or libvirt's job still runs (ask again later);
- ``finish``: the guest runs on the destination and left the source, so the
  post-migration steps are done (claims released, allocation moved, host updated);
- ``rollback``: the guest is still on the source, so everything the migration took on
  the destination (domain, unshared files, mdev claims, allocation) is released;
- ``lost``: no host has the guest; the migration ends in error and its own claim is
  released, the server is left as it was for the operator.
"""

from __future__ import annotations

import dataclasses

WAIT, FINISH, ROLLBACK, LOST = "wait", "finish", "rollback", "lost"
RUNNING_STATES = frozenset({"running", "blocked"})

INTERRUPTED = "the control plane stopped during the migration"


@dataclasses.dataclass(frozen=True)
class Whereabouts:
    """What one host says about the guest: its domain's power state (None: no domain
    there), whether a migration job of it runs, or that the host did not answer."""

    state: str | None = None
    job_active: bool = False
    reachable: bool = True

    @property
    def running(self) -> bool:
        return self.state in RUNNING_STATES


UNREACHABLE = Whereabouts(reachable=False)
ABSENT = Whereabouts()


def decide(source: Whereabouts, destination: Whereabouts) -> str:
    """``wait``, ``finish``, ``rollback`` or ``lost`` (see the module docstring).
    ``destination`` is :data:`ABSENT` when the migration never chose one."""
    if not source.reachable or not destination.reachable:
        return WAIT
    if source.job_active or destination.job_active:
        return WAIT
    if destination.running and source.state in (None, "shutoff", "shutdown"):
        return FINISH
    if source.state is not None:
        # running again, or paused by a migration that ended: libvirt resumes it on
        # failure; a guest still paused is the operator's, not ours, to resume
        return ROLLBACK if not destination.running else WAIT
    if destination.state is not None:
        return WAIT  # defined there but not running: libvirt's finish still pending
    return LOST


def outcome_message(action: str, source: str, destination: str | None) -> str:
    """The record's error text for a recovered migration."""
    if action == FINISH:
        return f"{INTERRUPTED}; the guest had reached {destination}: completed on recovery"
    if action == ROLLBACK:
        return f"{INTERRUPTED}; the guest was still on {source}: rolled back on recovery"
    return (
        f"{INTERRUPTED}; the guest was found on neither {source} nor "
        f"{destination or 'any destination'}"
    )
