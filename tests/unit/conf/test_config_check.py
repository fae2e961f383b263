"""Configuration checked as a whole (issue 21): unknown sections and options are
reported with file and line (a warning at start, an error in ``virtfleet config
check``), every bad value names file, line, option and the expected form, and the
cases that once gave a raw exception give one line within a second."""

from __future__ import annotations

import pathlib
import time

import pytest
from click.testing import CliRunner, Result

from support.ci import time_bound
from virtfleet import conf as vconf
from virtfleet import errors
from virtfleet.cli.main import cli

TYPOS = """\
[DEFAULT]
# a comment
data_dir = /tmp/x
hots = a

[api]
listn = 127.0.0.1:1
workers_threads = 4

[libvirtt]
virt_type = kvm
cpu_mode = host-model

[oslo_messaging_rabbit]
heartbeat_timeout_threshold = 30
"""


def write(tmp_path: pathlib.Path, text: str, name: str = "virtfleet.conf") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def run(*args: str) -> tuple[Result, float]:
    start = time.monotonic()
    result = CliRunner().invoke(cli, list(args))
    return result, time.monotonic() - start


def test_unknown_sections_and_options_are_named_with_file_and_line(
    tmp_path: pathlib.Path,
) -> None:
    path = write(tmp_path, TYPOS)
    assert [str(f) for f in vconf.unknown_options([path])] == [
        f"{path}:4: unknown option 'hots' in [DEFAULT] (did you mean 'host'?); it is ignored",
        f"{path}:7: unknown option 'listn' in [api] (did you mean 'listen'?); it is ignored",
        f"{path}:10: unknown section [libvirtt] (did you mean 'libvirt'?); its options are ignored",
    ]  # a library's section (oslo.messaging) is known


def test_config_check_exits_non_zero_on_typos(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path, TYPOS)
    result, took = run("config", "check", path)
    assert result.exit_code == 1
    assert f"{path}:7: unknown option 'listn'" in result.output
    assert len(result.output.splitlines()) == 3
    assert took < time_bound(1.0)


def test_config_check_passes_a_clean_file(tmp_path: pathlib.Path) -> None:
    sample = pathlib.Path(__file__).parents[3] / "etc" / "virtfleet.conf.sample"
    good = write(tmp_path, "[api]\nlisten = 0.0.0.0:8774\n")
    result, _ = run("config", "check", str(sample), good)
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith(": OK")


def test_config_check_reports_every_bad_value(tmp_path: pathlib.Path) -> None:
    path = write(
        tmp_path,
        "[api]\nworkers_threads = 99999\nheader_timeout = soon\n[libvirt]\nvirt_type = xen\n",
    )
    result, _ = run("config", "check", path)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{path}:2: [api] workers_threads: expected an integer from 1 to 1024, got '99999'",
        f"{path}:3: [api] header_timeout: expected a number from 0.1 to 3600, got 'soon'",
        f"{path}:5: [libvirt] virt_type: expected one of 'kvm', 'qemu', got 'xen'",
    ]


def test_up_warns_about_unknown_options_naming_file_and_line(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path, "[api]\nlisten = host:notaport\nlistn = 1\n")
    result, took = run("up", "--config", path, "--data-dir", str(tmp_path))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines == [
        f"Warning: {path}:3: unknown option 'listn' in [api] (did you mean 'listen'?); it is "
        "ignored",
        f"Error: {path}:2: [api] listen: expected HOST:PORT with a port from 0 to 65535, got "
        "'host:notaport'",
    ]
    assert took < time_bound(1.0)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (  # regression: ValueError: invalid literal for int() with base 10
            "[api]\nlisten = host:notaport\n",
            "{path}:2: [api] listen: expected HOST:PORT with a port from 0 to 65535, got "
            "'host:notaport'",
        ),
        (  # regression: only a link to the SQLAlchemy documentation
            "[database]\nconnection = sqlite:////nonexistent/dir/v.sqlite\n",
            "{path}:2: [database] connection: the SQLite file's directory '/nonexistent/dir' "
            "does not exist",
        ),
        (
            "[database]\nconnection = nonsense\n",
            "{path}:2: [database] connection: expected an SQLAlchemy URL such as",
        ),
        (
            "[scheduler]\nmax_attempts = many\n",
            "{path}:2: [scheduler] max_attempts: expected an integer",
        ),
    ],
)
def test_bad_value_is_one_line_naming_file_line_option_and_form(
    tmp_path: pathlib.Path, text: str, line: str
) -> None:
    path = write(tmp_path, text)
    start = time.monotonic()
    with pytest.raises(errors.ConfigError) as excinfo:
        vconf.make_conf(config_files=[path])
    assert str(excinfo.value).startswith(line.format(path=path))
    assert "\n" not in str(excinfo.value)
    assert time.monotonic() - start < time_bound(1.0)
    result, _ = run("up", "--config", path, "--data-dir", str(tmp_path))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.strip() == f"Error: {excinfo.value!s}"


def test_unopenable_database_is_one_line(tmp_path: pathlib.Path) -> None:
    """A SQLite file in a directory that cannot be written: found at start."""
    locked = tmp_path / "ro"
    locked.mkdir(mode=0o500)
    path = write(tmp_path, f"[database]\nconnection = sqlite:///{locked}/sub/x.sqlite\n")
    result, _ = run("up", "--config", path, "--data-dir", str(tmp_path))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "sqlalche.me" not in result.output
    assert f"directory '{locked}/sub' does not exist" in result.output


def test_unusable_data_dir_is_one_line(tmp_path: pathlib.Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result, _ = run("up", "--data-dir", str(blocker / "sub"), "--listen", "127.0.0.1:0")
    assert result.exit_code == 1, result.output
    assert result.output.strip() == (
        f"Error: could not start: [DEFAULT] data_dir '{blocker}/sub': cannot create the data "
        "directory: Not a directory"
    )


@pytest.mark.parametrize(
    ("fields", "line"),
    [
        (  # regression: "Error: configuration: " (a MemoryError without a message)
            "cpus: 100000000000",
            "host 'h': field 'cpus': expected a positive integer from 1 to 8192, got 100000000000",
        ),
        (  # regression: start-up hung
            "count: 100000000",
            "host 'h': field 'count': expected a positive integer from 1 to 10000, got 100000000",
        ),
        (  # regression: start-up hung
            "config: {DEFAULT: {data_dir: /tmp/elsewhere}}",
            "host 'h': field 'config': option [DEFAULT] data_dir cannot be set per host",
        ),
    ],
)
def test_fleet_file_cases_are_one_line_within_a_second(
    tmp_path: pathlib.Path, fields: str, line: str
) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(f"hosts:\n  - {{name: h, arch: x86_64, {fields}}}\n")
    result, took = run("up", "--fleet", str(fleet), "--data-dir", str(tmp_path))
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: fleet file {fleet}: {line}")
    assert len(result.output.splitlines()) == 1
    assert took < time_bound(1.0)


def test_per_type_mdev_groups_are_known_and_their_options_checked(
    tmp_path: pathlib.Path,
) -> None:
    path = write(
        tmp_path,
        "[devices]\nenabled_mdev_types = nvidia-35\n"
        "[mdev_nvidia-35]\ndevice_addresses = 0000:af:00.0\n"
        "[mdev_nvidia-36]\ndevice_adresses = 0000:b0:00.0\n"
        "[mdev_]\ndevice_addresses = 0000:b1:00.0\n",
    )
    found = [str(f) for f in vconf.unknown_options([path])]
    assert found == [
        f"{path}:6: unknown option 'device_adresses' in [mdev_nvidia-36]"
        " (did you mean 'device_addresses'?); it is ignored",
        f"{path}:7: unknown section [mdev_]; its options are ignored",
    ]
