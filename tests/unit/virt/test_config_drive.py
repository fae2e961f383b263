"""The config drive ISO: written with pycdlib, labelled config-2 (as blkid reads it),
every file readable under its Rock Ridge and Joliet name; bad paths refused."""

from __future__ import annotations

import pathlib
import subprocess

import pycdlib
import pytest

from virtfleet import errors
from virtfleet.servers import instance_data
from virtfleet.servers.instance_data import InstanceFacts
from virtfleet.virt import config_drive

FACTS = InstanceFacts(
    uuid="6e5a8c8e-1f0b-4a51-9d4e-2b7c1c9d0a11",
    name="vm",
    hostname="vm",
    project_id="p",
    key_name="k",
    key_data="ssh-ed25519 AAAA k",
    user_data=b"\x00\xffbinary user data",
)


def test_iso_holds_every_file_under_label_config_2(tmp_path: pathlib.Path) -> None:
    files = instance_data.config_drive_files(FACTS)
    path = config_drive.path_in(str(tmp_path / "inst"))
    config_drive.write(path, files)
    label, read = config_drive.read(path)
    assert label == "config-2"
    assert read == files
    blkid = subprocess.run(
        ["blkid", "-p", "-o", "export", path], capture_output=True, text=True, check=True
    ).stdout
    assert "LABEL=config-2" in blkid.splitlines() and "TYPE=iso9660" in blkid.splitlines()
    iso = pycdlib.PyCdlib()
    iso.open(path)
    try:
        assert iso.has_rock_ridge() and iso.has_joliet()
        joliet = [
            f"{root}/{name}" for root, _, names in iso.walk(joliet_path="/") for name in names
        ]
        assert "/openstack/latest/meta_data.json" in joliet
    finally:
        iso.close()
    assert not list(tmp_path.glob("inst/.*partial"))


@pytest.mark.parametrize("bad", ["/abs", "a/../b", "a//b", ""])
def test_bad_paths_are_refused(tmp_path: pathlib.Path, bad: str) -> None:
    with pytest.raises(errors.InvalidInput, match="not a relative path"):
        config_drive.write(str(tmp_path / "d.iso"), {bad: b"x"})
    assert not (tmp_path / "d.iso").exists()


def test_read_of_a_missing_or_broken_drive(tmp_path: pathlib.Path) -> None:
    with pytest.raises(errors.NotFound):
        config_drive.read(str(tmp_path / "none.iso"))
    (tmp_path / "junk.iso").write_bytes(b"not an iso" * 100)
    with pytest.raises(errors.NotFound):
        config_drive.read(str(tmp_path / "junk.iso"))


def test_remove(tmp_path: pathlib.Path) -> None:
    config_drive.write(config_drive.path_in(str(tmp_path)), {"a": b"1"})
    config_drive.remove(str(tmp_path))
    config_drive.remove(str(tmp_path))  # twice: nothing there is fine
    assert not (tmp_path / config_drive.FILE_NAME).exists()
