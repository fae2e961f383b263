"""Simulated hosts that outlive the process running them, as libvirtd does.

A real hypervisor keeps its guests when the control plane stops or crashes; an
in-memory simulator would lose them, so a restarted ``virtfleet up`` would find every
guest gone. With a state file (``<data_dir>/sim-hosts/<host>.json``), the simulator
writes its domains after every change that emits a lifecycle event and reads them
back when it is created again. What is written: each domain's definition XML, whether
it is persistent, and its state. A migration job does not survive (libvirt aborts a
job whose client went away): the source domain goes on running and the incoming,
paused domain on the destination is dropped.
"""

from __future__ import annotations

import json
import logging
import os
import pathlib
from dataclasses import asdict, dataclass

import libvirt

LOG = logging.getLogger(__name__)
VERSION = 1


@dataclass(frozen=True)
class SavedDomain:
    """One domain as the state file keeps it."""

    xml: str
    persistent: bool
    state: int
    reason: int

    @property
    def active(self) -> bool:
        return bool(self.state != libvirt.VIR_DOMAIN_SHUTOFF)


def saved_form(
    xml: str, persistent: bool, state: int, reason: int, migrating_out: bool
) -> SavedDomain | None:
    """What survives of a domain when its client dies now (None: nothing)."""
    if not persistent and state == libvirt.VIR_DOMAIN_PAUSED and not migrating_out:
        return None  # an incoming migration: aborted with its job
    if state == libvirt.VIR_DOMAIN_PAUSED and migrating_out:
        state = libvirt.VIR_DOMAIN_RUNNING  # the aborted job resumes it
        reason = libvirt.VIR_DOMAIN_RUNNING_MIGRATION_CANCELED
    return SavedDomain(xml, persistent, state, reason)


def write(path: pathlib.Path, domains: list[SavedDomain]) -> None:
    """Replace the state file atomically (a crash leaves the old or the new one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps({"version": VERSION, "domains": [asdict(d) for d in domains]}))
    os.replace(partial, path)


def read(path: pathlib.Path) -> list[SavedDomain]:
    """The domains of a state file (none when it is missing or unreadable); a
    transient domain that was not running is gone."""
    try:
        state = json.loads(path.read_text())
        entries = [SavedDomain(**entry) for entry in state.get("domains", [])]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        LOG.warning("simulated host state file %s unreadable (%s): starting empty", path, exc)
        return []
    return [entry for entry in entries if entry.persistent or entry.active]
