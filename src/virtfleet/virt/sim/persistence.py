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
import time
from typing import TYPE_CHECKING, Any

import libvirt

from virtfleet.virt.sim.domxml import parse_domain

if TYPE_CHECKING:
    from virtfleet.virt.sim.hypervisor import DomainRecord, SimHypervisor

LOG = logging.getLogger(__name__)
VERSION = 1


def snapshot(records: list[DomainRecord]) -> dict[str, Any]:
    """The part of a host's state that survives a crash of its client."""
    domains = []
    for record in records:
        if not record.persistent and record.state == libvirt.VIR_DOMAIN_PAUSED:
            continue  # an incoming migration: aborted with its job
        state, reason = record.state, record.reason
        if state == libvirt.VIR_DOMAIN_PAUSED and record.job is not None:
            state, reason = (
                libvirt.VIR_DOMAIN_RUNNING,
                libvirt.VIR_DOMAIN_RUNNING_MIGRATION_CANCELED,
            )
        domains.append(
            {
                "xml": (record.pending or record.definition).xml,
                "persistent": record.persistent,
                "state": state,
                "reason": reason,
            }
        )
    return {"version": VERSION, "domains": domains}


def write(path: pathlib.Path, state: dict[str, Any]) -> None:
    """Replace the state file atomically (a crash leaves the old or the new one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(state))
    os.replace(partial, path)


def restore(hypervisor: SimHypervisor, path: pathlib.Path) -> int:
    """Load the domains of ``path`` into ``hypervisor``; returns how many. A domain
    the host's profile no longer accepts is logged and left out."""
    from virtfleet.virt.sim.hypervisor import DomainRecord

    try:
        state = json.loads(path.read_text())
    except FileNotFoundError:
        return 0
    except (OSError, ValueError) as exc:
        LOG.warning("simulated host %s: state file %s unreadable (%s): starting empty",
                    hypervisor.profile.name, path, exc)  # fmt: skip
        return 0
    restored = 0
    for entry in state.get("domains", []):
        try:
            definition = parse_domain(entry["xml"], hypervisor.profile)
        except Exception as exc:  # the fleet file changed since: skip, say so
            LOG.warning("simulated host %s: dropping a saved domain: %s",
                        hypervisor.profile.name, exc)  # fmt: skip
            continue
        record = DomainRecord(
            definition,
            persistent=bool(entry.get("persistent", True)),
            state=int(entry.get("state", libvirt.VIR_DOMAIN_SHUTOFF)),
            reason=int(entry.get("reason", 0)),
        )
        if record.active:
            record.domain_id, record.started = hypervisor.next_id(), time.monotonic()
        elif not record.persistent:
            continue  # a transient domain that stopped is gone
        hypervisor.install(record)
        restored += 1
    return restored
