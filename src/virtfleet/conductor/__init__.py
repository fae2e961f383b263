"""The conductor: the control plane's workflows and the agents' counterpart.

    conductor = Conductor(conf, db, placement, scheduler, transport, images)
    conductor.start()              # serves conductor.report_host / power-state events
    conductor.build_server(uuid)   # asynchronous; conductor.drain() waits
    conductor.stop()

Modules: ``manager`` (:class:`Conductor`: boot, delete, power actions, console, XML,
events, silent hosts, stuck servers), ``host_reports`` (a report -> compute node row
and placement tree), ``provider_tree`` and ``boot`` (pure planning helpers),
``states`` (Nova's state vocabulary and the decisions about it), ``moves`` (a guest
moving between hosts: the shared move steps and live migration built from them).
"""

from __future__ import annotations

from virtfleet.conductor.host_reports import HostReporter, ReportOutcome
from virtfleet.conductor.manager import Conductor

__all__ = ["Conductor", "HostReporter", "ReportOutcome"]
