"""`virtfleet server` / `virtfleet agent`: every startup problem is one message and
exit status 1, never a traceback; and the pieces behind them."""

from __future__ import annotations

import pathlib
import subprocess
import threading
import time
from typing import Any

import pytest
from click.testing import CliRunner

from support.distributed import VIRTFLEET, Deployment
from virtfleet import conf as vconf
from virtfleet import errors
from virtfleet.agent_process import resolve_target
from virtfleet.broker import check_transport_url, open_transport, redact
from virtfleet.cli import daemons
from virtfleet.cli.main import cli
from virtfleet.virt.sim.fleet import load_fleet

UNREACHABLE = "rabbit://virtfleet:virtfleet@127.0.0.1:1/"
FLEET = "hosts:\n  - {name: node, count: 2, arch: x86_64}\n"


@pytest.fixture
def files(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> pathlib.Path:
    # CliRunner runs in this process: keep pytest's own signal handlers.
    monkeypatch.setattr(daemons, "stop_on_signals", threading.Event)
    (tmp_path / "fleet.yaml").write_text(FLEET)
    return tmp_path


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def write_conf(path: pathlib.Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def assert_fails(result: Any, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.output


def test_server_refuses_an_in_process_transport(files: pathlib.Path) -> None:
    conf = write_conf(files / "a.conf", "[DEFAULT]\ntransport_url = local://\n")
    result = run("server", "--config", conf, "--data-dir", str(files / "d"))
    assert_fails(result, "virtfleet server could not start", "only works inside one process")


def test_server_says_when_rabbitmq_is_unreachable(files: pathlib.Path) -> None:
    conf = write_conf(files / "a.conf", f"[DEFAULT]\ntransport_url = {UNREACHABLE}\n")
    result = run("server", "--config", conf, "--data-dir", str(files / "d"))
    assert_fails(result, "cannot reach RabbitMQ", "127.0.0.1:1", "connection refused")
    assert "virtfleet:virtfleet@" not in result.output  # the password stays hidden


def test_bad_option_value_names_the_option(files: pathlib.Path) -> None:
    conf = write_conf(files / "a.conf", "[compute]\nhost_down_after = soon\n")
    assert_fails(run("server", "--config", conf), "host_down_after")
    assert_fails(run("agent", "--config", conf), "host_down_after")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--host", "node-9"], "no host named 'node-9'; its hosts are node-1, node-2"),
        ([], "has 2 hosts; pick one with --host (node-1, node-2)"),
        (["--host", "node-1", "--libvirt", "qemu:///system"], "either --fleet"),
    ],
)
def test_agent_host_choice_errors(files: pathlib.Path, args: list[str], message: str) -> None:
    assert_fails(run("agent", "--fleet", str(files / "fleet.yaml"), *args), message)


def test_agent_host_without_fleet(files: pathlib.Path) -> None:
    assert_fails(run("agent", "--host", "node-1"), "add --fleet FILE")


def test_agent_bad_fleet_file(files: pathlib.Path) -> None:
    (files / "bad.yaml").write_text("hosts:\n  - {name: x, arch: x86_64, cpus: lots}\n")
    assert_fails(run("agent", "--fleet", str(files / "bad.yaml")), "host 'x'", "cpus")


@pytest.mark.slow
def test_agent_unreachable_broker_as_a_process(tmp_path: pathlib.Path) -> None:
    (tmp_path / "fleet.yaml").write_text("hosts:\n  - {name: solo, arch: x86_64}\n")
    conf = write_conf(tmp_path / "a.conf", f"[DEFAULT]\ntransport_url = {UNREACHABLE}\n")
    proc = subprocess.run(
        [VIRTFLEET, "agent", "--config", conf, "--fleet", str(tmp_path / "fleet.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1
    assert "virtfleet agent solo could not start: cannot reach RabbitMQ" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_wrong_password_is_named(broker_url: str) -> None:
    with pytest.raises(errors.RPCError, match="login refused for user 'virtfleet'"):
        check_transport_url(broker_url.replace("virtfleet@", "wrong@"), timeout=5)
    check_transport_url(broker_url, timeout=5)  # the right one passes


def test_server_port_in_use(deployment: Deployment, files: pathlib.Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("server", "--config", str(deployment.config), "--listen", f"127.0.0.1:{port}")
    assert_fails(result, "virtfleet server could not start", "Address already in use")


def test_redact_hides_every_password() -> None:
    assert redact("rabbit://a:s3cret@h1:5672,b:pw@h2/vh") == "rabbit://a:***@h1:5672,b:***@h2/vh"
    assert redact("rabbit://h1/") == "rabbit://h1/"


def test_libvirt_target_is_named_after_the_configured_host() -> None:
    conf = vconf.make_conf(host="hv-7")
    target = resolve_target(conf, libvirt_uri="qemu:///system")
    assert (target.name, target.uri, target.fleet) == ("hv-7", "qemu:///system", None)
    assert target.overrides == {"host": "hv-7", "libvirt__connection_uri": "qemu:///system"}


def test_fleet_target_carries_the_profile_configuration() -> None:
    fleet = load_fleet("hosts:\n  - {name: solo, arch: x86_64, virt_type: qemu}\n")
    target = resolve_target(vconf.make_conf(), fleet)
    assert (target.name, target.uri, target.fleet) == ("solo", "sim://solo", fleet)
    assert target.overrides["libvirt__virt_type"] == "qemu"


def test_calls_without_a_timeout_wait_rpc_response_timeout() -> None:
    conf = vconf.make_conf([], rpc_response_timeout=1)
    transport = open_transport("fake://", conf)
    try:
        started = time.monotonic()
        with pytest.raises(errors.RPCError, match="did not answer report_host in time"):
            transport.call("conductor", "nobody", "report_host")
        assert time.monotonic() - started < 10  # oslo.messaging's own default is 60 s
    finally:
        transport.close()
