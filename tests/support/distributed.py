"""Helpers for distributed mode under test: a RabbitMQ broker, and `virtfleet server` /
`virtfleet agent` as real processes.

The broker is used when one answers at 127.0.0.1:5672 with virtfleet/virtfleet; when none
does, ``scripts/install-rabbitmq.sh`` starts (under ``CI=true`` also installs) it. Tests
are skipped, saying why, when that is not possible outside CI; under CI it is an error.
Each test gets its own oslo.messaging ``control_exchange``, so runs that share the
broker never see each other's agents.
"""

from __future__ import annotations

import functools
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field

from virtfleet import errors
from virtfleet.broker import check_transport_url

REPO = pathlib.Path(__file__).resolve().parents[2]
BROKER_URL = "rabbit://virtfleet:virtfleet@127.0.0.1:5672/"
VIRTFLEET = str(pathlib.Path(sys.executable).with_name("virtfleet"))


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@functools.cache
def broker_problem() -> str | None:
    """None when the broker answers (starting it first if needed), else why not."""
    try:
        check_transport_url(BROKER_URL, timeout=3)
        return None
    except errors.RPCError as exc:
        first = str(exc)
    installed = any(
        pathlib.Path(d, "rabbitmq-server").exists() for d in ("/usr/sbin", "/usr/lib/rabbitmq/bin")
    )
    if not installed and not in_ci():
        return f"no RabbitMQ ({first}); run scripts/install-rabbitmq.sh (CI=true does it)"
    env = {**os.environ, "VIRTFLEET_SKIP_APT": "0" if in_ci() else "1"}
    script = subprocess.run(
        ["bash", str(REPO / "scripts" / "install-rabbitmq.sh")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    if script.returncode != 0:
        return f"scripts/install-rabbitmq.sh failed: {script.stderr.strip()[-500:]}"
    try:
        check_transport_url(BROKER_URL, timeout=5)
    except errors.RPCError as exc:
        return f"RabbitMQ started but does not answer: {exc}"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Daemon:
    """A `virtfleet ...` process with its output in a file."""

    args: list[str]
    log: pathlib.Path
    prefix: list[str] = field(default_factory=list)  # e.g. a mount namespace to run in
    proc: subprocess.Popen[bytes] | None = None
    runs: int = field(default=0)
    term_sent: bool = field(default=False)

    def start(self) -> Daemon:
        self.runs += 1
        self.term_sent = False
        with self.log.open("ab") as out:
            out.write(f"--- run {self.runs}\n".encode())
            out.flush()
            self.proc = subprocess.Popen(
                [*self.prefix, VIRTFLEET, "-v", *self.args], stdout=out, stderr=subprocess.STDOUT
            )
        return self

    def output(self) -> str:
        return self.log.read_text()

    def send_term(self) -> None:
        """SIGTERM, once per run: a second one could land while Python finalizes, after
        it has put the default handler back, and kill the process (exit -15)."""
        assert self.proc is not None
        if not self.term_sent:
            self.proc.send_signal(signal.SIGTERM)
            self.term_sent = True

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM (unless already sent) and wait; the exit status."""
        assert self.proc is not None
        self.send_term()
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"{self.args[0]} ignored SIGTERM for {timeout}s") from None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@dataclass
class Deployment:
    """Files of one distributed deployment: a config, a fleet of two simulated hosts."""

    root: pathlib.Path
    broker_url: str
    port: int = field(default_factory=free_port)
    daemons: list[Daemon] = field(default_factory=list)

    def __post_init__(self) -> None:
        exchange = f"virtfleet-test-{uuid.uuid4().hex[:12]}"
        self.config = self.root / "virtfleet.conf"
        self.config.write_text(
            "[DEFAULT]\n"
            f"transport_url = {self.broker_url}\n"
            f"control_exchange = {exchange}\n"
            "rpc_response_timeout = 3\n"
            f"data_dir = {self.root / 'server'}\n"
            "[api]\n"
            "auth_strategy = noauth\n"  # not an identity test
            f"listen = 127.0.0.1:{self.port}\n"
            "[compute]\n"
            "host_down_after = 3\n"
            "resource_provider_refresh_interval = 1\n"
            "[glance]\n"  # image data over HTTP from the server's Image API
            f"api_servers = {self.endpoint}/image\n"
        )
        self.server_dir.mkdir(parents=True, exist_ok=True)
        self.fleet = self.root / "fleet.yaml"
        self.fleet.write_text(
            "hosts:\n"
            "  - name: node\n"
            "    count: 2\n"
            "    arch: x86_64\n"
            "    cpus: 8\n"
            "    memory_mb: 16384\n"
            "    disk_gb: 100\n"
        )

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def server_dir(self) -> pathlib.Path:
        """The servers' data directory (database, image store): agents never see it."""
        return self.root / "server"

    def image_cache(self, host: str) -> pathlib.Path:
        """Where ``host``'s agent keeps the image data it fetched."""
        return self.root / host / "instances" / "_base"

    def server(self) -> Daemon:
        return self._daemon(["server", "--config", str(self.config)], "server")

    def agent(self, host: str, metrics_port: int | None = None) -> Daemon:
        """``host``'s agent; with ``metrics_port`` it serves ``/metrics`` there
        (``[metrics] listen``) and logs JSON lines (``--log-format json``)."""
        conf = self.root / f"{host}.conf"  # the agent's own data dir (instances, claims)
        text = f"[DEFAULT]\ndata_dir = {self.root / host}\n"
        if metrics_port is not None:
            text += f"[metrics]\nlisten = 127.0.0.1:{metrics_port}\n"
        conf.write_text(text)
        args = ["agent", "--config", str(self.config), "--config", str(conf)]
        if metrics_port is not None:
            args += ["--log-format", "json"]
        daemon = self._daemon([*args, "--fleet", str(self.fleet), "--host", host], host)
        daemon.prefix = hidden(self.server_dir)
        return daemon

    def all_agents(self) -> Daemon:
        """One agent process for every host of the fleet file."""
        conf = self.root / "agents.conf"
        conf.write_text(f"[DEFAULT]\ndata_dir = {self.root / 'agents'}\n")
        args = ["agent", "--config", str(self.config), "--config", str(conf)]
        daemon = self._daemon([*args, "--fleet", str(self.fleet), "--all-hosts"], "agents")
        daemon.prefix = hidden(self.server_dir)
        return daemon

    def _daemon(self, args: list[str], name: str) -> Daemon:
        daemon = Daemon(args, self.root / f"{name}.log")
        self.daemons.append(daemon)
        return daemon


def hidden(directory: pathlib.Path) -> list[str]:
    """A command prefix that runs the command in its own mount namespace with an empty
    tmpfs over ``directory``: an agent started so cannot read the servers' files (it
    must fetch image data over HTTP). Nothing when not root (no namespaces then)."""
    if os.geteuid() != 0:
        return []
    script = 'mount -t tmpfs -o size=1m virtfleet-hidden "$0" && exec "$@"'
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, str(directory)]


def wait_for(what: str, check: object, timeout: float = 30.0, interval: float = 0.2) -> object:
    """Poll ``check()`` until it returns something truthy (exceptions count as not yet)."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = check()  # type: ignore[operator]
        except Exception as exc:  # the endpoint may not be up yet
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")
