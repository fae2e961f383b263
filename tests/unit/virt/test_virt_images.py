"""QemuImg builds the overlay command line; tested with a stand-in qemu-img script."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from virtfleet.virt.libvirt.images import GiB, QemuImg

FAKE_QEMU_IMG = """#!/bin/sh
echo "$@" >> "{log}"
if [ "$1" = info ]; then
  [ -e "$5" ] || {{ echo "Could not open '$5'" >&2; exit 1; }}
  echo '{{"virtual-size": {size}, "format": "raw"}}'
fi
"""


def fake_qemu_img(tmp_path: Path, size: int) -> tuple[QemuImg, Path]:
    log = tmp_path / "calls.log"
    script = tmp_path / "qemu-img"
    script.write_text(FAKE_QEMU_IMG.format(log=log, size=size))
    script.chmod(0o755)
    return QemuImg(str(script)), log


@pytest.mark.parametrize(
    ("image_size", "root_gb", "expected_size"),
    [(2 * GiB, 10, 10 * GiB), (20 * GiB, 10, 20 * GiB), (12345, 0, 12345)],
)
def test_overlay_is_at_least_image_and_flavor_size(
    tmp_path: Path, image_size: int, root_gb: int, expected_size: int
) -> None:
    tool, log = fake_qemu_img(tmp_path, image_size)
    base = tmp_path / "base.raw"
    base.write_bytes(b"")
    tool.create_overlay(str(tmp_path / "disk"), str(base), "raw", root_gb)
    info, create = log.read_text().splitlines()
    assert info == f"info --output=json -f raw {base}"
    assert create == f"create -f qcow2 -b {base} -F raw {tmp_path / 'disk'} {expected_size}"


def test_a_base_is_asked_its_size_once_until_the_file_changes(tmp_path: Path) -> None:
    tool, log = fake_qemu_img(tmp_path, 12345)
    base = tmp_path / "base.raw"
    base.write_bytes(b"a")
    for n in range(3):
        tool.create_overlay(str(tmp_path / f"disk{n}"), str(base), "raw", 0)
    assert [c.split()[0] for c in log.read_text().splitlines()] == ["info"] + ["create"] * 3
    base.write_bytes(b"bb")  # another file under the name: asked again
    tool.create_overlay(str(tmp_path / "disk3"), str(base), "raw", 0)
    assert [c.split()[0] for c in log.read_text().splitlines()][-2:] == ["info", "create"]


def test_failure_carries_the_tool_error(tmp_path: Path) -> None:
    tool, _ = fake_qemu_img(tmp_path, 1)
    with pytest.raises(subprocess.CalledProcessError) as caught:
        tool.create_overlay(str(tmp_path / "disk"), str(tmp_path / "missing"), "qcow2", 1)
    assert "Could not open" in caught.value.stderr


def test_missing_binary_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        QemuImg(str(tmp_path / "no-qemu-img")).virtual_size("x", "raw")


def test_json_of_the_fake_is_what_qemu_img_prints(tmp_path: Path) -> None:
    tool, _ = fake_qemu_img(tmp_path, 42)
    (tmp_path / "img").write_bytes(b"")
    out = subprocess.run(
        [tool.binary, "info", "--output=json", "-f", "raw", str(tmp_path / "img")],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert json.loads(out)["virtual-size"] == 42
    assert tool.virtual_size(str(tmp_path / "img"), "raw") == 42
