"""scripts/cloud-image.sh without building: its cache key follows its content, and the
apt entries it builds from are the machine's own bookworm ones (as apt reports them)."""

from __future__ import annotations

import hashlib
import os
import pathlib
import shutil
import subprocess

import pytest

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "scripts" / "cloud-image.sh"

# `apt-get indextargets` paragraphs as apt prints them (fields trimmed): the Debian
# archive (two components), its security archive, and a third-party repository.
INDEXTARGETS = """\
MetaKey: main/binary-amd64/Packages
Codename: bookworm
Origin: Debian
Release: bookworm
Repo-URI: http://mirror.example/debian/
Component: main

MetaKey: contrib/binary-amd64/Packages
Codename: bookworm
Origin: Debian
Release: bookworm
Repo-URI: http://mirror.example/debian/
Component: contrib

MetaKey: main/binary-amd64/Packages
Codename: bookworm-security
Origin: Debian
Release: bookworm-security
Repo-URI: http://mirror.example/debian-security/
Component: main

MetaKey: main/binary-amd64/Packages
Codename: nodistro
Origin: Node Source
Release: nodistro
Repo-URI: https://vendor.example/node_20.x/
Component: main

MetaKey: main/binary-amd64/Packages
Codename: trixie
Origin: Debian
Release: trixie
Repo-URI: http://mirror.example/debian/
Component: main

"""


def run(*args: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **(env or {})},
    ).stdout


def test_cache_directory_is_keyed_by_the_script_content(tmp_path: pathlib.Path) -> None:
    key = hashlib.sha256(SCRIPT.read_bytes()).hexdigest()[:16]
    out = run("--dir", env={"VIRTFLEET_IMAGES": str(tmp_path)}).strip()
    assert out == f"{tmp_path}/debian-12-cloud-{key}"
    # a changed script is another key
    copy = tmp_path / "cloud-image.sh"
    copy.write_text(SCRIPT.read_text() + "\n# changed\n")
    changed = subprocess.run(
        ["bash", str(copy), "--dir"], capture_output=True, text=True, check=True,
        env={**os.environ, "VIRTFLEET_IMAGES": str(tmp_path)},
    ).stdout.strip()  # fmt: skip
    assert changed != out and changed.startswith(f"{tmp_path}/debian-12-cloud-")


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="needs dpkg (a Debian machine)")
def test_sources_are_the_machines_bookworm_entries(tmp_path: pathlib.Path) -> None:
    stub = tmp_path / "bin"
    stub.mkdir()
    (tmp_path / "indextargets").write_text(INDEXTARGETS)
    (stub / "apt-get").write_text(f"#!/bin/sh\ncat '{tmp_path}/indextargets'\n")
    (stub / "apt-get").chmod(0o755)
    out = run("--sources", env={"PATH": f"{stub}:{os.environ['PATH']}"})
    keyring = "[signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]"
    assert out.splitlines() == [
        f"deb {keyring} http://mirror.example/debian/ bookworm main contrib",
        f"deb {keyring} http://mirror.example/debian-security/ bookworm-security main",
    ]
