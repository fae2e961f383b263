"""The agent: one per hypervisor host.

    agent = ComputeAgent(conf, "kvm-1", LibvirtDriver(conn, conf), transport)
    agent.start()   # discover, report (conductor.report_host), serve compute.kvm-1
    ...
    agent.stop()

Modules: ``manager`` (:class:`ComputeAgent` and what it serves), ``report`` (discovered
host + configuration -> ``HostReport``), ``guest_spec`` (``InstanceSpec`` ->
``GuestSpec``), ``rpcapi`` (topics and the typed clients of both directions).
"""

from __future__ import annotations

from virtfleet.agent.manager import ComputeAgent
from virtfleet.agent.report import build_report
from virtfleet.agent.rpcapi import (
    COMPUTE_TOPIC,
    CONDUCTOR_SERVER,
    CONDUCTOR_TOPIC,
    ComputeClient,
    ConductorClient,
)

__all__ = [
    "COMPUTE_TOPIC",
    "CONDUCTOR_SERVER",
    "CONDUCTOR_TOPIC",
    "ComputeAgent",
    "ComputeClient",
    "ConductorClient",
    "build_report",
]
