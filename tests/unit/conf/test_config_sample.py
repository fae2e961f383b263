"""The shipped sample configuration matches the options in the code."""

from __future__ import annotations

import pathlib

import pytest
from click.testing import CliRunner

from virtfleet import errors
from virtfleet.cli.main import cli
from virtfleet.conf import make_conf

SAMPLE = pathlib.Path(__file__).parents[3] / "etc" / "virtfleet.conf.sample"


def test_sample_is_current() -> None:
    result = CliRunner().invoke(cli, ["config", "sample"])
    assert result.exit_code == 0
    assert result.output == SAMPLE.read_text(), (
        "run: virtfleet config sample > etc/virtfleet.conf.sample"
    )


def test_sample_parses_and_changes_nothing(tmp_path: pathlib.Path) -> None:
    conf = make_conf(config_files=[str(SAMPLE)])
    assert conf.api.listen == "127.0.0.1:8774"
    assert conf.scheduler.image_metadata_prefilter is True


def test_bad_value_in_config_file_names_option(tmp_path: pathlib.Path) -> None:
    bad = tmp_path / "bad.conf"
    bad.write_text("[libvirt]\nvirt_type = xen\n")
    with pytest.raises(errors.ConfigError, match=r"\[libvirt\] virt_type.*xen"):
        make_conf(config_files=[str(bad)])


def test_virtfleet_up_refuses_bad_config_without_traceback(tmp_path: pathlib.Path) -> None:
    bad = tmp_path / "bad.conf"
    bad.write_text("[scheduler]\nmax_attempts = many\n")
    result = CliRunner().invoke(cli, ["up", "--config", str(bad), "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "max_attempts" in result.output and "many" in result.output
    assert "Traceback" not in result.output


def test_virtfleet_up_refuses_bad_fleet_file(tmp_path: pathlib.Path) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text("hosts:\n  - name: h1\n    arch: x86_64\n    memory_mb: lots\n")
    result = CliRunner().invoke(cli, ["up", "--fleet", str(fleet), "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "h1" in result.output and "memory_mb" in result.output and "lots" in result.output
    assert "Traceback" not in result.output
