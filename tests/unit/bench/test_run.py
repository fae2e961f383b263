"""A tiny benchmark run (100 hosts, 1 repeat) produces every row, the scheduling
levels, the load figures, the printed table and the JSON document."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest
from click.testing import CliRunner

from virtfleet.bench import report, runner, shapes
from virtfleet.cli.bench import bench

ROW_NAMES = [row.name for row in shapes.rows()]


@pytest.fixture(scope="module")
def tiny_run() -> list[runner.FleetRun]:
    options = runner.Options(sizes=[100], repeat=1, boots=8, concurrency=(1, 8))
    return runner.run(options)


def test_every_row_is_measured_on_virtfleet(tiny_run: list[runner.FleetRun]) -> None:
    (run,) = tiny_run
    assert [r.name for r in run.virtfleet.rows] == ROW_NAMES
    for row in run.virtfleet.rows:
        assert row.error is None, row.name
        assert len(row.samples_ms) == 1
        assert row.median_ms is not None and row.median_ms > 0
        assert row.candidates and row.hosts, f"{row.name} found nothing on the bench fleet"


def test_limit_rows_stop_at_the_limit(tiny_run: list[runner.FleetRun]) -> None:
    rows = {r.name: r for r in tiny_run[0].virtfleet.rows}
    assert rows[f"slice8_granular limit={shapes.LIMIT}"].candidates == shapes.LIMIT
    assert rows["plain_x86"].candidates == rows[f"plain_x86 limit={shapes.LIMIT}"].candidates


def test_scheduling_levels_boot_every_request(tiny_run: list[runner.FleetRun]) -> None:
    levels = tiny_run[0].scheduling
    assert [s.concurrency for s in levels] == [1, 8]
    for level in levels:
        assert (level.boots, level.failures) == (8, 0)
        assert level.as_dict()["p99_ms"] >= level.as_dict()["p50_ms"] > 0


def test_table_and_json_name_every_row(tiny_run: list[runner.FleetRun]) -> None:
    text = report.table(tiny_run[0])
    assert all(name in text for name in ROW_NAMES)
    assert "100 hosts (80 compute, 10 vGPU, 10 slice" in text
    document: dict[str, Any] = json.loads(
        json.dumps(report.document(runner.Options(sizes=[100]), tiny_run))
    )
    (fleet,) = document["fleets"]
    assert [r["name"] for r in fleet["virtfleet"]["rows"]] == ROW_NAMES
    assert fleet["virtfleet"]["load"]["snapshot_s"] >= 0
    assert fleet["openstack_placement"] is None
    assert document["machine"]["cpus"] >= 1


def test_cli_writes_json(tmp_path: pathlib.Path) -> None:
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(
        bench,
        [
            "placement",
            "--hosts",
            "50",
            "--repeat",
            "1",
            "--boots",
            "2",
            "--shapes",
            "slice8",
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "slice8 limit=1000" in result.output
    rows = json.loads(out.read_text())["fleets"][0]["virtfleet"]["rows"]
    assert [r["name"] for r in rows] == ["slice8", "slice8 limit=1000"]


def test_max_candidates_caps_answers_without_limit(tmp_path: pathlib.Path) -> None:
    out = tmp_path / "bench.json"
    args = ["--hosts", "50", "--repeat", "1", "--boots", "2", "--shapes", "plain_x86"]
    result = CliRunner().invoke(
        bench, ["placement", *args, "--max-candidates", "7", "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text())
    assert document["options"]["max_candidates"] == 7
    rows = document["fleets"][0]["virtfleet"]["rows"]
    assert [r["candidates"] for r in rows] == [7, 7]  # both answers stop at the cap


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--hosts", "1000,ten"], "expected comma-separated host counts"),
        (["--hosts", "5"], "at least 10 hosts"),
        (["--shapes", "plain_x86,nonsense"], "unknown shape(s) nonsense"),
        (["--repeat", "0"], "--repeat"),
        (["--max-candidates", "0"], "--max-candidates"),
    ],
)
def test_cli_rejects_bad_options(args: list[str], message: str) -> None:
    result = CliRunner().invoke(bench, ["placement", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_markdown_tables_from_the_json(
    tiny_run: list[runner.FleetRun], tmp_path: pathlib.Path
) -> None:
    out = tmp_path / "bench.json"
    out.write_text(json.dumps(report.document(runner.Options(sizes=[100]), tiny_run)))
    result = CliRunner().invoke(bench, ["markdown", str(out)])
    assert result.exit_code == 0, result.output
    assert "### 100 hosts (80 compute, 10 vGPU, 10 slice" in result.output
    assert all(f"| `{name}` |" in result.output for name in ROW_NAMES)
    assert "| 8 | 8 |" in result.output  # 8 concurrent boots, 8 booted


def test_markdown_refuses_other_json(tmp_path: pathlib.Path) -> None:
    out = tmp_path / "other.json"
    out.write_text('{"fleets": [{"hosts": 1}]}')
    result = CliRunner().invoke(bench, ["markdown", str(out)])
    assert result.exit_code == 1
    assert "is not a benchmark result" in result.output


def test_markdown_says_when_a_row_did_not_finish() -> None:
    row = {"name": "slow", "median_ms": None, "p90_ms": None, "candidates": None}
    row |= {"hosts": None, "timed_out": True, "error": "no answer in 60 s"}
    fleet = {
        "hosts": 10,
        "counts": {"compute": 8, "vgpu": 1, "slice": 1, "used": 5},
        "virtfleet": {
            "load": {"database_s": 1, "snapshot_s": 1, "rss_mb": 1},
            "memory_mb": 1,
            "rows": [row],
        },
        "openstack_placement": None,
        "scheduling": [],
        "host_checks": {},
    }
    document = {
        "date": "today",
        "machine": {"cpus": 2, "platform": "linux", "python": "3.11"},
        "options": {"repeat": 1},
        "microversion": "1.39",
        "fleets": [fleet],
    }
    assert "| `slow` | did not finish in the time limit |" in report.markdown(document)
