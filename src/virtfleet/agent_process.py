"""`virtfleet agent`: one hypervisor's agent as its own process.

The agent drives a real libvirt (``--libvirt URI`` or ``[libvirt] connection_uri``) or a
simulated host of a fleet file (``--fleet FILE --host NAME``), talks to the control plane
only over the broker of ``[DEFAULT] transport_url`` (it never opens the server's
database), and reports its host when it starts, so a restarted agent brings its host
back up. Until a server answers, it keeps retrying the first report.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from oslo_config import cfg

from virtfleet import errors
from virtfleet.agent.image_download import source_from_conf
from virtfleet.agent.manager import ComputeAgent
from virtfleet.api.listener import HttpListener
from virtfleet.api.metrics import unauthenticated_listener
from virtfleet.broker import check_transport_url, open_transport
from virtfleet.control_plane import build_agent
from virtfleet.rpc import Transport
from virtfleet.virt.connection import is_simulated, shared_sample_fleet, sim_host_name
from virtfleet.virt.sim.agentconf import conf_overrides
from virtfleet.virt.sim.fleet import Fleet

LOG = logging.getLogger(__name__)

FIRST_REPORT_RETRY = 2.0  # seconds between attempts while no server answers

#: Hosts of one agent process that start (build, connect, first report) at once.
START_THREADS = 8


@dataclass(frozen=True)
class AgentTarget:
    """Which host an agent drives: its name, connection URI and configuration overrides
    (``group__option`` keys), and the fleet of a simulated host."""

    name: str
    uri: str
    overrides: dict[str, Any] = field(default_factory=dict)
    fleet: Fleet | None = None


def resolve_target(
    conf: cfg.ConfigOpts,
    fleet: Fleet | None = None,
    host: str | None = None,
    libvirt_uri: str | None = None,
) -> AgentTarget:
    """The host to drive from the command line; ``ConfigError`` when it is ambiguous."""
    if fleet is not None and libvirt_uri:
        raise errors.ConfigError("give either --fleet (with --host) or --libvirt, not both")
    uri = libvirt_uri or conf.libvirt.connection_uri
    if fleet is None and is_simulated(uri):  # sim://NAME of the packaged sample fleet
        fleet, host = shared_sample_fleet(), host or sim_host_name(uri)
    if fleet is None:
        if host:
            raise errors.ConfigError("--host names a host of a fleet file; add --fleet FILE")
        name = conf.host or socket.gethostname()
        return AgentTarget(name, uri, {"host": name, "libvirt__connection_uri": uri})
    if host is None:
        if len(fleet) != 1:
            names = ", ".join(fleet.names)
            raise errors.ConfigError(
                f"fleet {fleet.source} has {len(fleet)} hosts; pick one with --host ({names})"
            )
        host = fleet.names[0]
    try:
        profile = fleet.host(host)
    except errors.NotFound as exc:
        raise errors.ConfigError(f"{exc}; its hosts are {', '.join(fleet.names)}") from None
    return AgentTarget(profile.name, f"sim://{profile.name}", conf_overrides(profile), fleet)


def fleet_targets(conf: cfg.ConfigOpts, fleet: Fleet, hosts: Sequence[str]) -> list[AgentTarget]:
    """The targets of several hosts of ``fleet`` (every host when ``hosts`` is empty),
    for one process running the agents of many simulated hosts."""
    return [resolve_target(conf, fleet, host) for host in (hosts or fleet.names)]


class AgentProcess:
    """The agents of ``targets`` (usually one; many simulated hosts may share a
    process), configured by ``config_files`` (plus each target's own overrides), on
    one transport of ``conf``."""

    def __init__(
        self,
        conf: cfg.ConfigOpts,
        config_files: Sequence[str],
        targets: AgentTarget | Sequence[AgentTarget],
    ) -> None:
        self.conf = conf
        self.config_files = tuple(config_files)
        self.targets = [targets] if isinstance(targets, AgentTarget) else list(targets)
        self.target = self.targets[0]
        self.agents: list[ComputeAgent] = []
        self._agents_lock = threading.Lock()
        self._transport: Transport | None = None
        self._metrics_http: HttpListener | None = None

    @property
    def metrics_endpoint(self) -> str | None:
        """Where ``[metrics] listen`` serves this process's ``/metrics`` (None: unset)."""
        return self._metrics_http.endpoint if self._metrics_http is not None else None

    @property
    def agent(self) -> ComputeAgent | None:
        return self.agents[0] if self.agents else None

    def start(self, stopping: threading.Event | None = None) -> bool:
        """Check the broker, connect to the hypervisors, and report the hosts, retrying
        a report until a server answers. Returns False when ``stopping`` was set
        before the agents came up.

        The hosts of one process start :data:`START_THREADS` at a time: one after
        another, 100 simulated hosts waited for 100 first reports in turn (each a round
        trip through the broker to a server's database), and one report lost to a
        server that was not consuming yet held up every host after it."""
        stopping = stopping or threading.Event()
        check_transport_url(self.conf.transport_url)
        self._transport = open_transport(self.conf.transport_url, self.conf)
        halt = threading.Event()  # set when one host failed: the others stop retrying
        order: dict[int, int] = {}
        try:
            self._metrics_http = unauthenticated_listener(self.conf)
            workers = max(1, min(START_THREADS, len(self.targets)))
            with ThreadPoolExecutor(workers, thread_name_prefix="agent-start") as pool:
                futures = [
                    pool.submit(self._start_one, i, target, stopping, halt, order)
                    for i, target in enumerate(self.targets)
                ]
                try:
                    started = [future.result() for future in futures]
                except BaseException:
                    halt.set()
                    raise
            with self._agents_lock:  # in the targets' order, as when started in turn
                self.agents.sort(key=lambda agent: order[id(agent)])
            return all(started)
        except BaseException:
            self.stop()
            raise

    def _start_one(
        self,
        index: int,
        target: AgentTarget,
        stopping: threading.Event,
        halt: threading.Event,
        order: dict[int, int],
    ) -> bool:
        assert self._transport is not None
        shared = len(self.targets) > 1  # one image cache per host under one instances path
        agent = build_agent(
            target.name,
            target.uri,
            target.overrides,
            self.config_files,
            target.fleet,
            self._transport,
            image_source=source_from_conf(self.conf) if shared else None,
        )
        with self._agents_lock:
            self.agents.append(agent)
            order[id(agent)] = index
        return self._first_report(agent, target, stopping, halt)

    @staticmethod
    def _first_report(
        agent: ComputeAgent,
        target: AgentTarget,
        stopping: threading.Event,
        halt: threading.Event | None = None,
    ) -> bool:
        while not stopping.is_set() and not (halt is not None and halt.is_set()):
            try:
                agent.start()
                return True
            except errors.RPCError as exc:  # no server yet, or it is restarting
                LOG.warning(
                    "host %s: no server took the report (%s); retrying in %ss",
                    target.name, exc, FIRST_REPORT_RETRY,
                )  # fmt: skip
                stopping.wait(FIRST_REPORT_RETRY)
        return False

    def stop(self) -> None:
        """Stop serving and reporting, and leave the broker (idempotent)."""
        if self._metrics_http is not None:
            self._metrics_http.stop()
            self._metrics_http = None
        for agent in self.agents:
            agent.stop()
        self.agents = []
        if self._transport is not None:
            transport, self._transport = self._transport, None
            transport.close()
