"""What an operator deploys: the systemd units, the generator namespaces, --version."""

from __future__ import annotations

import configparser
import pathlib
import shutil
import subprocess
import sys
from importlib.metadata import entry_points

import pytest
from click.testing import CliRunner

from virtfleet import __version__
from virtfleet.cli.main import cli
from virtfleet.conf import sample

UNITS = pathlib.Path(__file__).parents[3] / "packaging" / "systemd"
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "ProtectKernelModules": "yes",
    "ProtectControlGroups": "yes",
    "RestrictSUIDSGID": "yes",
}


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=True, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string((UNITS / name).read_text())
    return parser


@pytest.mark.parametrize(
    ("name", "command"),
    [("virtfleet-server.service", ["server"]), ("virtfleet-agent.service", ["agent"])],
)
def test_unit_runs_the_daemon_hardened(name: str, command: list[str]) -> None:
    parsed = unit(name)
    assert set(parsed.sections()) == {"Unit", "Service", "Install"}
    service = parsed["Service"]
    argv = service["ExecStart"].split()
    assert argv[0].startswith("/") and argv[0].endswith("/virtfleet")
    assert argv[1:2] == command and "--config" in argv
    config = argv[argv.index("--config") + 1]
    assert config == "/etc/virtfleet/virtfleet.conf"
    assert service["Restart"] == "on-failure"
    for key, value in HARDENING.items():
        assert service.get(key) == value, (name, key)
    assert parsed["Install"]["WantedBy"] == "multi-user.target"
    # the options ExecStart passes are the command's own
    result = CliRunner().invoke(cli, [*argv[1:2], "--help"])
    assert result.exit_code == 0
    for option in (a for a in argv[2:] if a.startswith("--")):
        assert option in result.output, (name, option)


def test_server_unit_runs_unprivileged_and_agent_keeps_guests_on_stop() -> None:
    server = unit("virtfleet-server.service")["Service"]
    assert server["User"] == "virtfleet" and server["CapabilityBoundingSet"] == ""
    assert server["ProtectSystem"] == "strict"
    agent = unit("virtfleet-agent.service")
    assert agent["Service"]["KillMode"] == "process"  # guests are libvirtd's children
    assert "libvirtd.service" in agent["Unit"]["Requires"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_analyze_verify(tmp_path: pathlib.Path) -> None:
    for path in UNITS.glob("*.service"):
        done = subprocess.run(
            ["systemd-analyze", "verify", str(path)], capture_output=True, text=True, check=False
        )
        # the paths of a deployment (/opt/virtfleet/bin) do not exist here
        problems = [
            line
            for line in done.stderr.splitlines()
            if "is not executable" not in line and "No such file" not in line and line.strip()
        ]
        assert not [p for p in problems if path.name in p and "Unknown" in p], problems


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and result.output == f"virtfleet, version {__version__}\n"


def test_namespaces_registered() -> None:
    for group in ("oslo.config.opts", "oslo.policy.policies", "oslo.policy.enforcer"):
        names = {ep.name for ep in entry_points(group=group)}
        assert "virtfleet" in names, group


def test_oslo_config_generator_writes_the_shipped_sample() -> None:
    bindir = pathlib.Path(sys.executable).parent
    done = subprocess.run(
        [str(bindir / "oslo-config-generator"), "--namespace", "virtfleet"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout and sample.render() == sample.HEADER + done.stdout
    assert "[libvirt]" in done.stdout and "#virt_type = kvm" in done.stdout


def test_oslopolicy_sample_generator_lists_the_rules() -> None:
    bindir = pathlib.Path(sys.executable).parent
    done = subprocess.run(
        [str(bindir / "oslopolicy-sample-generator"), "--namespace", "virtfleet"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert '#"os_compute_api:os-domain-xml": ' in done.stdout
