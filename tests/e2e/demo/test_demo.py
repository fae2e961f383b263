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
    # s390x is emulated on an x86_64 host: TCG, as its domain XML says
    assert re.search(r"mainframe-1 ACTIVE on \S+ \(x86_64 host\)", out)
    assert "domain XML: <domain type='qemu'>, guest arch s390x" in out
    # 48 address bits only on a host with at least 48
    assert re.search(r"bits-48\s+ACTIVE on (passthrough-1|slice-1)", out)
    assert 'domain XML: <maxphysaddr mode="emulate" bits="48"/>' in out
    assert "8192 MiB of RAM needs at least 34 physical address bits" in out
    # a 1-GPU slice taken on slice-1 blocks its 4-GPU and 8-GPU parents (placement's view)
    assert re.search(r"train-1\s+ACTIVE on slice-1", out)
    slice_used = re.search(r"(slice-1-\d) \(CUSTOM_SLICE_1\): used by train-1", out)
    assert slice_used, out
    assert re.search(r"slice-8 \(CUSTOM_SLICE_8\): blocked by train-1 .* in slice-1-\d", out)
    assert re.search(r"slice-4-\d \(CUSTOM_SLICE_4\): blocked by train-1", out)
    assert "(8 other slices of slice-1 stay free)" in out
    # the vGPU guest live-migrates: the VGPU claim and the mdev uuid move with it
    moved = re.search(r"vgpu-vm\s+live-migrated (vgpu-\d) -> (vgpu-\d): migration completed", out)
    assert moved and moved[1] != moved[2], out
    before = re.search(r"VGPU from (\S+)_pci_\S+; mdev ([0-9a-f-]{36})", out)
    after = re.search(r"claim moved: VGPU from (\S+)_pci_\S+\n.*mdev uuid rewritten: (\S+)", out)
    assert before and after, out
    assert (before[1], after[1]) == (moved[1], moved[2])
    assert before[2] != after[2]
    assert re.search(rf"vgpu-vm\s+ACTIVE\s+{moved[2]}", out)  # the summary sees it moved
    # the unplaceable request is explained
    assert re.search(r"too-big\s+ERROR: No valid host .* lack capacity \(MEMORY_MB\)", out)
    # where to look in the browser, and how long the tour took
    assert re.search(r"http://127\.0\.0\.1:\d+/dashboard/hosts/slice-1 ", out)
    took = re.search(r"The tour took (\d+\.\d) s\.", out)
    assert took and float(took[1]) < 120, out
    entry = yaml.safe_load((tmp_path / "clouds.yaml").read_text())["clouds"]["virtfleet"]
    assert entry["auth_type"] == "password"  # the tour ran as the embedded Keystone's admin
