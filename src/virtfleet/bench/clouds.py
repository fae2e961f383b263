"""Clouds for the end-to-end benchmark, each part its own process as operators run it:
``virtfleet up`` (embedded, SQLite), or N ``virtfleet server`` on one new PostgreSQL
database with RabbitMQ and one ``virtfleet agent --all-hosts`` process for the
simulated fleet. Everything runs in the test mode without Keystone (``[api]
auth_strategy = noauth``): the benchmark measures the control plane, not tokens.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import sqlalchemy
from sqlalchemy.engine import make_url

from virtfleet import errors
from virtfleet.cli.apiclient import APIError, Client

VIRTFLEET = str(pathlib.Path(sys.executable).with_name("virtfleet"))
HOST_CPUS = 64
HOST_MEMORY_MB = 262144


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Setup:
    """What to start: ``servers`` 0 means the embedded ``virtfleet up``."""

    servers: int
    hosts: int
    database_url: str | None = None  # an account that may CREATE DATABASE (distributed)
    transport_url: str | None = None  # RabbitMQ (distributed)

    @property
    def name(self) -> str:
        return "embedded (SQLite)" if not self.servers else f"{self.servers} server(s) (PostgreSQL)"


@dataclass
class RunningCloud:
    """The processes of one cloud and the HTTP endpoints of its servers."""

    endpoints: list[str]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[pathlib.Path] = field(default_factory=list)

    def cpu_seconds(self) -> float:
        """CPU seconds the cloud's processes (and their waited-for children, such as
        ``qemu-img``) have used so far (Linux ``/proc``; 0 for a process gone)."""
        ticks = 0
        for proc in self.processes:
            try:
                fields = pathlib.Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1]
            except OSError:
                continue
            utime, stime, cutime, cstime = (int(v) for v in fields.split()[11:15])
            ticks += utime + stime + cutime + cstime
        return ticks / os.sysconf("SC_CLK_TCK")

    def tail(self, lines: int = 20) -> str:
        return "\n".join(
            f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
            for log in self.logs
            if log.exists()
        )


def fleet_text(hosts: int) -> str:
    return (
        "hosts:\n"
        "  - name: node\n"
        f"    count: {hosts}\n"
        "    arch: x86_64\n"
        f"    cpus: {HOST_CPUS}\n"
        f"    memory_mb: {HOST_MEMORY_MB}\n"
        "    disk_gb: 20000\n"
    )


def config_text(
    workdir: pathlib.Path, transport_url: str, database: str | None, image_apis: list[str]
) -> str:
    lines = [
        "[DEFAULT]",
        f"transport_url = {transport_url}",
        f"control_exchange = virtfleet-bench-{uuid.uuid4().hex[:10]}",
        "rpc_response_timeout = 60",
        f"data_dir = {workdir / 'server'}",
        "[api]",
        "auth_strategy = noauth",
        "[identity]",
        "embedded = false",
        "[compute]",
        "resource_provider_refresh_interval = 60",
        "[glance]",
        f"api_servers = {','.join(image_apis)}",
    ]
    if database:
        lines += ["[database]", f"connection = {database}"]
    return "\n".join(lines) + "\n"


#: Worker threads of each simulated host's RPC server in the one agent process (the
#: library's default is 64 per server: with 100 hosts, thousands of threads).
AGENT_RPC_THREADS = 4


def agent_config_text(data_dir: pathlib.Path) -> str:
    """The agent process's own options: its data directory, a few RPC worker threads
    per host, and no AMQP heartbeat thread per host's connection (the broker is on
    this machine; a lost connection is still seen when a call fails)."""
    return (
        "[DEFAULT]\n"
        f"data_dir = {data_dir}\n"
        f"executor_thread_pool_size = {AGENT_RPC_THREADS}\n"
        "[oslo_messaging_rabbit]\n"
        "heartbeat_timeout_threshold = 0\n"
    )


@contextlib.contextmanager
def scratch_database(admin_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database next to ``admin_url``'s, dropped afterwards."""
    name = f"vfbench_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE template0')
        try:
            yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


@contextlib.contextmanager
def running(setup: Setup, workdir: pathlib.Path, start_timeout: float) -> Iterator[RunningCloud]:
    """Start the cloud of ``setup`` in ``workdir``; stopped (SIGTERM, then SIGKILL)
    afterwards. RuntimeError with the processes' last lines when it does not come up."""
    deadline = time.monotonic() + start_timeout
    workdir.mkdir(parents=True, exist_ok=True)
    fleet = workdir / "fleet.yaml"
    fleet.write_text(fleet_text(setup.hosts))
    with contextlib.ExitStack() as stack:
        database = None
        if setup.servers:
            if not (setup.database_url and setup.transport_url):
                raise errors.ConfigError(
                    "the distributed setups need --database-url (PostgreSQL) and "
                    "--transport-url (RabbitMQ)"
                )
            database = stack.enter_context(scratch_database(setup.database_url))
        ports = [free_port() for _ in range(max(setup.servers, 1))]
        endpoints = [f"http://127.0.0.1:{port}" for port in ports]
        transport = (setup.transport_url or "") if setup.servers else "local://"
        config = workdir / "virtfleet.conf"
        config.write_text(
            config_text(workdir, transport, database, [f"{e}/image" for e in endpoints])
        )
        cloud = RunningCloud(endpoints)
        stack.callback(_stop, cloud)
        if not setup.servers:
            _spawn(cloud, workdir, "up", ["up", "--config", str(config), "--fleet", str(fleet),
                   "--listen", f"127.0.0.1:{ports[0]}", "--clouds-yaml",
                   str(workdir / "clouds.yaml")])  # fmt: skip
        else:
            for i, port in enumerate(ports, 1):
                _spawn(cloud, workdir, f"server-{i}", ["server", "--config", str(config),
                       "--listen", f"127.0.0.1:{port}"])  # fmt: skip
            # As an operator would: the agents once the servers answer, so that no
            # host's first report goes to a broker queue no server consumes yet (it
            # would wait out rpc_response_timeout before its retry).
            _wait_answering(cloud, deadline)
            agent_conf = workdir / "agent.conf"
            agent_conf.write_text(agent_config_text(workdir / "agents"))
            _spawn(cloud, workdir, "agents", ["agent", "--config", str(config), "--config",
                   str(agent_conf), "--fleet", str(fleet), "--all-hosts"])  # fmt: skip
        _wait_ready(cloud, setup.hosts, deadline)
        yield cloud


def _spawn(cloud: RunningCloud, workdir: pathlib.Path, name: str, args: list[str]) -> None:
    log = workdir / f"{name}.log"
    with log.open("ab") as out:
        cloud.processes.append(
            subprocess.Popen([VIRTFLEET, *args], stdout=out, stderr=subprocess.STDOUT)
        )
    cloud.logs.append(log)


def _hosts_up(endpoint: str) -> int:
    found = Client(endpoint, timeout=10).hypervisors()
    return sum(1 for h in found if h.get("state") == "up")


#: Seconds a setup may take to come up: a fixed part (processes, schema) and a part
#: per simulated host (its agent's start and first report, handled by a server).
START_SECONDS = 150.0
START_SECONDS_PER_HOST = 1.5


def start_timeout(hosts: int) -> float:
    """How long :func:`running` waits for a setup of ``hosts`` hosts to come up."""
    return START_SECONDS + START_SECONDS_PER_HOST * hosts


def _check_alive(cloud: RunningCloud) -> None:
    if any(p.poll() is not None for p in cloud.processes):
        raise RuntimeError(f"a process of the cloud exited:\n{cloud.tail()}")


def _wait_answering(cloud: RunningCloud, deadline: float) -> None:
    """Until every server answers its API (RuntimeError at ``deadline``)."""
    last: object = None
    while time.monotonic() < deadline:
        _check_alive(cloud)
        try:
            for endpoint in cloud.endpoints:
                Client(endpoint, timeout=10).hypervisors()
            return
        except (OSError, APIError) as exc:
            last = exc
        time.sleep(0.5)
    raise RuntimeError(f"the servers did not answer in time ({last}):\n{cloud.tail()}")


def _wait_ready(cloud: RunningCloud, hosts: int, deadline: float) -> None:
    """Until every server lists every host up (RuntimeError at ``deadline``, saying how
    many each listed)."""
    last: object = None
    while time.monotonic() < deadline:
        _check_alive(cloud)
        try:
            up = [_hosts_up(e) for e in cloud.endpoints]
            if all(n >= hosts for n in up):
                return
            last = f"hosts up per server: {up} of {hosts}"
        except (OSError, APIError) as exc:
            last = exc
        time.sleep(0.5)
    raise RuntimeError(f"the cloud was not up in time ({last}):\n{cloud.tail()}")


def _stop(cloud: RunningCloud) -> None:
    for proc in cloud.processes:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in cloud.processes:
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
