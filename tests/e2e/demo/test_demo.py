"""`virtfleet demo --exit`: the README's first command tours the sample fleet."""

from __future__ import annotations

import pathlib
import re
import socket

import yaml
from click.testing import CliRunner

from support import keystone
from virtfleet.cli.main import cli


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_demo_tour_on_the_sample_fleet(tmp_path: pathlib.Path) -> None:
    keystone.seed(tmp_path / "data")  # the session's bootstrapped Keystone, copied
    identity_conf = tmp_path / "identity.conf"
    identity_conf.write_text(keystone.IDENTITY_CONF)  # on a free port
    result = CliRunner().invoke(
        cli,
        [
            "demo",
            "--exit",
            "--config",
            str(identity_conf),
            "--listen",
            f"127.0.0.1:{free_port()}",
            "--data-dir",
            str(tmp_path / "data"),
            "--clouds-yaml",
            str(tmp_path / "clouds.yaml"),
        ],
    )
    out = result.output
    assert result.exit_code == 0, out
    # every sample host reported itself
    for host in ("kvm-1", "passthrough-1", "arm-1", "old-1", "slice-1", "vgpu-1"):
        assert re.search(rf"^  {host}\s", out, re.M), host
    # native beats emulated: the aarch64 image runs on the aarch64 host
    assert "arm-1      ACTIVE on arm-1 (aarch64 host)" in out
    # s390x is emulated on an x86_64 host
    assert re.search(r"mainframe-1 ACTIVE on \S+ \(x86_64 host\)", out)
    # 48 address bits only on a host with at least 48
    assert re.search(r"bits-48\s+ACTIVE on (passthrough-1|slice-1)", out)
    assert "8192 MiB of RAM needs at least 34 physical address bits" in out
    # the unplaceable request is explained
    assert re.search(r"too-big\s+ERROR: No valid host .* lack capacity \(MEMORY_MB\)", out)
    entry = yaml.safe_load((tmp_path / "clouds.yaml").read_text())["clouds"]["virtfleet"]
    assert entry["auth_type"] == "password"  # the tour ran as the embedded Keystone's admin
