"""Several `virtfleet server`s on one real PostgreSQL database and RabbitMQ, agents of
simulated hosts, and what a test needs to audit them from outside: the database,
placement, and each agent's guests asked over RPC."""

from __future__ import annotations

import contextlib
import pathlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from support.distributed import Daemon, Deployment, free_port, wait_for
from virtfleet import conf as vconf
from virtfleet.agent.rpcapi import ComputeClient
from virtfleet.cli.apiclient import Client
from virtfleet.conductor.audit import audit
from virtfleet.db.engine import Database
from virtfleet.placement.service import PlacementService
from virtfleet.rpc import get_transport

#: Heartbeats and the age that makes a server dead, short so a test sees a take-over
#: in seconds (the defaults are 2 s and 20 s).
HEARTBEAT = 0.5
DEAD_AFTER = 4.0
MAX_SERVERS = 3


@dataclass
class ScaleOut:
    """A deployment of up to ``MAX_SERVERS`` servers sharing ``database`` and nothing on
    disk: each server has a data directory of its own and keeps image data in the
    database (``[image] store = database``); agents fetch image data over HTTP from the
    Image APIs in ``[glance] api_servers``, server ``image_server`` (0-based) first."""

    base: Deployment
    database: str
    hosts: int = 4
    ports: list[int] = field(default_factory=list)
    started: int = 0
    #: With a value: every host's agent in one process (a simulated live migration
    #: reaches its destination only there), each with its own instances path, and a
    #: migration's memory copy taking this many seconds.
    migration_seconds: float | None = None
    image_server: int = 0

    def __post_init__(self) -> None:
        self.ports = [free_port() for _ in range(MAX_SERVERS)]
        config = self.base.config
        first = self.ports[self.image_server]
        ordered = [first, *(port for port in self.ports if port != first)]
        image_apis = ",".join(f"http://127.0.0.1:{port}/image" for port in ordered)
        text = config.read_text().replace(
            "[api]\n", f"[database]\nconnection = {self.database}\n[api]\n"
        )
        text = re.sub(r"api_servers = .*\n", f"api_servers = {image_apis}\n", text)
        config.write_text(
            text
            + f"[conductor]\nheartbeat_interval = {HEARTBEAT}\ndead_after = {DEAD_AFTER}\n"
            + "[image]\nstore = database\n"
        )
        if self.migration_seconds is None:
            self.base.fleet.write_text(
                "hosts:\n"
                "  - name: node\n"
                f"    count: {self.hosts}\n"
                "    arch: x86_64\n"
                "    cpus: 64\n"
                "    memory_mb: 262144\n"
                "    disk_gb: 4000\n"
            )
            return
        entries = "".join(
            f"  - name: {host}\n"
            "    arch: x86_64\n"
            "    cpus: 64\n"
            "    memory_mb: 262144\n"
            "    disk_gb: 4000\n"
            f"    migration_seconds: {self.migration_seconds}\n"
            f"    config: {{libvirt: {{instances_path: {self.base.root / host / 'instances'}}}}}\n"
            for host in self.host_names
        )
        self.base.fleet.write_text("hosts:\n" + entries)

    @property
    def host_names(self) -> list[str]:
        return [f"node-{i}" for i in range(1, self.hosts + 1)]

    def server(self) -> tuple[Daemon, Client]:
        """A new server on its own port (not started) and a client of it."""
        port = self.ports[self.started]
        self.started += 1
        args = ["server", "--config", str(self.base.config), "--listen", f"127.0.0.1:{port}"]
        args += ["--data-dir", str(self.data_dir(self.started))]
        daemon = self.base._daemon(args, f"server-{self.started}")
        return daemon, Client(f"http://127.0.0.1:{port}", timeout=30)

    def data_dir(self, number: int) -> pathlib.Path:
        """Server ``number``'s (1-based) own data directory (agents never see it)."""
        return self.base.server_dir / str(number)

    def agents(self) -> list[Daemon]:
        if self.migration_seconds is not None:
            return [self.base.all_agents().start()]
        return [self.base.agent(host).start() for host in self.host_names]

    def wait_hosts_up(self, client: Client, timeout: float = 120) -> None:
        def all_up() -> bool:
            states = {h["hypervisor_hostname"]: h["state"] for h in client.hypervisors()}
            return all(states.get(host) == "up" for host in self.host_names)

        wait_for("every host up", all_up, timeout)

    @contextlib.contextmanager
    def books(self) -> Iterator[tuple[Database, PlacementService]]:
        db = Database(self.database)
        try:
            yield db, PlacementService(db)
        finally:
            db.dispose()

    def guests(self) -> dict[str, list[str]]:
        """Each agent's guests, as the agent itself reports them over RPC."""
        conf = vconf.make_conf(config_files=[str(self.base.config)])
        transport = get_transport(conf.transport_url, conf)
        try:
            client = ComputeClient(transport, timeout=10)
            return {host: client.list_instance_uuids(host) for host in self.host_names}
        finally:
            transport.close()

    def audit(self) -> list[str]:
        with self.books() as (db, placement):
            return audit(db, placement, self.guests())
