"""Every bad slice configuration is refused when the agent starts, with a message naming
the entry, and the agent reports nothing: as ``[libvirt] slice_spec`` lines in the
agent's virtfleet.conf and as ``slices:`` of a host in a fleet file, through
``virtfleet up`` and ``virtfleet slices validate`` (in-process, CliRunner)."""

from __future__ import annotations

import json
import pathlib
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from virtfleet.cli.slices import slices
from virtfleet.cli.up import up
from virtfleet.db import hosts
from virtfleet.db.engine import Database
from virtfleet.placement.service import PlacementService

GOOD = "<domain type='kvm'><name>{{ name }}</name><vcpu cpuset='{{ cpu }}'>1</vcpu></domain>"
HOST = "sl"


@dataclass(frozen=True)
class Case:
    """Entries (``template_file`` relative to the test's directory), the complete
    slice_spec message, and the part of the fleet file's message that names the entry."""

    id: str
    entries: list[dict[str, Any]]
    message: str
    fleet_message: str | None = None  # None: the same as ``message``


def entry(name: str, cpu: int = 1, **extra: Any) -> dict[str, Any]:
    body = GOOD.replace("{{ cpu }}", str(cpu))
    return {"name": name, "resource_class": "CUSTOM_S", "template": body, **extra}


CASES = [
    Case(
        "duplicate",
        [entry("a"), entry("a", 2)],
        "slice_spec 'a': duplicate slice name",
        "duplicate slice name 'a'",
    ),
    Case(
        "unknown-parent",
        [entry("a", conflict_parent="ghost")],
        "slice_spec 'a': unknown conflict_parent 'ghost'",
        "slice 'a': unknown conflict_parent 'ghost'",
    ),
    Case(
        "cycle",
        [entry("a", conflict_parent="b"), entry("b", 2, conflict_parent="a")],
        "slice_spec 'a': conflict_parent chain has a cycle through 'a'",
        "slice 'a': conflict_parent chain has a cycle",
    ),
    Case(
        "standard-class",
        [entry("a", resource_class="VCPU")],
        "slice_spec 'a': resource_class must be CUSTOM_ followed by A-Z, 0-9 or _, got 'VCPU'",
        "slice 'a': resource_class: expected CUSTOM_[A-Z0-9_]+",
    ),
    Case(
        "missing-template",
        [{"name": "a", "resource_class": "CUSTOM_S", "template_file": "missing.xml.j2"}],
        "slice_spec 'a': template_file '{dir}/missing.xml.j2' does not exist",
        "slice 'a': template_file '{dir}/missing.xml.j2' does not exist",
    ),
    Case(
        "does-not-compile",
        [entry("a", template="<domain>{% if %}</domain>")],
        "slice_spec 'a': template does not compile (line 1): Expected an expression, got "
        "'end of statement block'",
    ),
    Case(
        "does-not-render",
        [entry("a"), entry("b", 2, template="<domain>{{ rack }}</domain>")],
        "slice_spec 'b': template does not render: 'rack' is undefined",
    ),
    Case(
        "not-xml",
        [entry("a", template="<domain><name>{{ name }}</domain>")],
        "slice_spec 'a': template does not produce well-formed XML: Opening and ending tag "
        "mismatch: name line 1 and domain, line 1, column 63 (<string>, line 1)",
    ),
    Case(
        "not-a-domain",
        [entry("a", template="<network><name>{{ name }}</name></network>")],
        "slice_spec 'a': template must produce a <domain>, produced <network>",
    ),
    Case(
        "cpu-the-host-lacks",
        [entry("a", 9)],
        "slice_spec 'a': pins host CPUs 9 the host does not have (host CPUs 0-3)",
    ),
    Case(
        "siblings-share-a-cpu",
        [entry("top", 1), entry("a", 2, conflict_parent="top"), entry("b", 2)],
        "slice_spec 'a' and 'b' can run side by side (neither is an ancestor of the other) "
        "but both hold cpus 2",
    ),
]


def fleet_yaml(slice_entries: list[dict[str, Any]] | None) -> str:
    """A host with a good slice of its own (it starts first and reports), then the host
    under test (4 CPUs) with ``slice_entries`` (None: the agent's config file decides)."""
    good = {"name": "good", "arch": "x86_64", "slices": [entry("own")]}
    sl: dict[str, Any] = {"name": HOST, "arch": "x86_64", "cpus": 4}
    if slice_entries is not None:
        sl["slices"] = slice_entries
    return yaml.safe_dump({"hosts": [good, sl]})


def config_file(tmp: pathlib.Path, slice_entries: list[dict[str, Any]]) -> pathlib.Path:
    config = tmp / "virtfleet.conf"
    lines = "".join(f"slice_spec = {json.dumps(e)}\n" for e in slice_entries)
    config.write_text(f"[libvirt]\n{lines}")
    return config


def run_up(tmp: pathlib.Path, *args: str) -> tuple[int, str]:
    noauth = tmp / "noauth.conf"  # not an identity test: no Keystone to bootstrap
    noauth.write_text("[api]\nauth_strategy = noauth\n")
    result = CliRunner().invoke(
        up,
        [
            *args,
            "--config", str(noauth),
            "--data-dir", str(tmp / "data"),
            "--listen", "127.0.0.1:0",
            "--clouds-yaml", str(tmp / "clouds.yaml"),
        ],
    )  # fmt: skip
    return result.exit_code, result.output


def reported(tmp: pathlib.Path) -> tuple[set[str], set[str]]:
    """Host records and provider names the control plane stored (empty when it never
    got as far as its database)."""
    if not (tmp / "data" / "virtfleet.sqlite").exists():
        return set(), set()
    db = Database.for_data_dir(tmp / "data")
    names = {h.host for h in hosts.list_hosts(db)}
    return names, {p.name for p in PlacementService(db).list_providers()}


def expected(case: Case, tmp: pathlib.Path, fleet: bool) -> str:
    message = case.fleet_message if fleet and case.fleet_message else case.message
    return message.format(dir=tmp)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_agent_config_file_is_refused_at_start_naming_the_entry(
    case: Case, tmp_path: pathlib.Path
) -> None:
    """``virtfleet up --config``: the agent's [libvirt] slice_spec; the host that has it
    never reports (no host record, no provider), and the cloud does not come up."""
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(fleet_yaml(None))
    code, output = run_up(
        tmp_path, "--fleet", str(fleet), "--config", str(config_file(tmp_path, case.entries))
    )
    assert code == 1, output
    assert output.strip().endswith(f"Error: could not start: {expected(case, tmp_path, False)}")
    host_names, providers = reported(tmp_path)
    assert "good" in host_names and "good_own" in providers  # the host before it did
    assert HOST not in host_names
    assert not {p for p in providers if p == HOST or p.startswith(f"{HOST}_")}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fleet_file_slices_are_refused_naming_the_entry(case: Case, tmp_path: pathlib.Path) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(fleet_yaml(case.entries))
    code, output = run_up(tmp_path, "--fleet", str(fleet))
    assert code == 1, output
    message = expected(case, tmp_path, True)
    assert output.startswith("Error: ") and message in output, output
    host_names, providers = reported(tmp_path)
    if case.fleet_message is None:  # found by the agent of that host as it starts
        assert "could not start: " in output
        assert "good" in host_names
    else:  # found when the fleet file is read, before anything starts
        assert f"fleet file {fleet}: host {HOST!r}" in output
        assert host_names == set()
    assert HOST not in host_names
    assert not {p for p in providers if p == HOST or p.startswith(f"{HOST}_")}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_slices_validate_refuses_the_same(case: Case, tmp_path: pathlib.Path) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(fleet_yaml(None))
    config = config_file(tmp_path, case.entries)
    runner = CliRunner()
    by_config = runner.invoke(slices, ["validate", "--config", str(config), "--no-host-check"])
    if case.id != "cpu-the-host-lacks":  # a host check: skipped here, run by --fleet below
        assert by_config.exit_code == 1, by_config.output
        assert f"Error: {expected(case, tmp_path, False)}" in by_config.output
    fleet.write_text(fleet_yaml(case.entries))
    by_fleet = runner.invoke(slices, ["validate", "--fleet", str(fleet), "--host", HOST])
    assert by_fleet.exit_code == 1, by_fleet.output
    assert expected(case, tmp_path, True) in by_fleet.output


def test_the_good_configuration_comes_up_in_validate(tmp_path: pathlib.Path) -> None:
    """The same scaffolding with good entries passes, so the refusals above are the
    entries' fault."""
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(fleet_yaml([entry("top", 1), entry("a", 1, conflict_parent="top")]))
    result = CliRunner().invoke(slices, ["validate", "--fleet", str(fleet), "--host", HOST])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1:] == [
        "top (CUSTOM_S): cpus 1",
        "  a (CUSTOM_S): cpus 1",
    ]
