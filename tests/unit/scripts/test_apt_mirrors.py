"""scripts/lib/apt-mirrors.sh: the guest image scripts take the Debian mirrors from the
machine's own apt sources (one-line and deb822 files), not a hard-coded host."""

from __future__ import annotations

import pathlib
import subprocess

LIB = pathlib.Path(__file__).parents[3] / "scripts" / "lib" / "apt-mirrors.sh"


def mirrors(etc: pathlib.Path, *calls: str) -> list[str]:
    script = f"source {LIB}; " + "; ".join(f'echo "<$({call})>"' for call in calls)
    out = subprocess.run(
        ["bash", "-c", script], env={"APT_ETC": str(etc), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return [line.strip("<>") for line in out.splitlines()]


def test_deb822_sources_name_the_archive_and_security_mirrors(tmp_path: pathlib.Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb-src\nURIs: http://src.example.test/debian\nSuites: bookworm\n\n"
        "Types: deb\n# a comment\nURIs: http://mirror.example.test/debian\n"
        "Suites: bookworm bookworm-updates\nComponents: main\n\n"
        "Types: deb\nURIs: http://sec.example.test/debian-security\n"
        "Suites: bookworm-security\nComponents: main\n"
    )
    assert mirrors(tmp_path, "debian_mirror", "debian_security_mirror") == [
        "http://mirror.example.test/debian",
        "http://sec.example.test/debian-security",
    ]


def test_one_line_sources_with_options_and_disabled_stanzas(tmp_path: pathlib.Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list").write_text(
        "# deb http://commented.example.test/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://one.example.test/debian bookworm main\n"
    )
    (tmp_path / "sources.list.d" / "off.sources").write_text(
        "Enabled: no\nTypes: deb\nURIs: http://off.example.test/debian\nSuites: bookworm\n"
    )
    assert mirrors(tmp_path, "debian_mirror", "debian_security_mirror") == [
        "http://one.example.test/debian",
        "",
    ]


def test_no_sources_prints_nothing_so_the_caller_keeps_its_default(
    tmp_path: pathlib.Path,
) -> None:
    assert mirrors(tmp_path, "debian_mirror", "debian_mirror trixie") == ["", ""]
