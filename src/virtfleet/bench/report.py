"""The benchmark's printed table and its JSON document."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from virtfleet.bench.queries import RowResult
from virtfleet.bench.runner import FleetRun, Options, machine
from virtfleet.bench.shapes import LIMIT, MICROVERSION


def document(options: Options, runs: Sequence[FleetRun]) -> dict[str, Any]:
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "microversion": MICROVERSION,
        "limit": LIMIT,
        "options": {
            "sizes": list(options.sizes),
            "repeat": options.repeat,
            "seed": options.seed,
            "boots": options.boots,
            "timeout_s": options.timeout,
            "compare_openstack": options.compare_openstack,
            "max_candidates": options.max_candidates,
        },
        "fleets": [r.as_dict() for r in runs],
    }


def _num(value: float | int | None, width: int) -> str:
    return ("-" if value is None else f"{value:g}").rjust(width)


def _theirs(row: RowResult | None) -> str:
    if row is None:
        return ""
    if row.timed_out:
        return " | " + "did not finish in the time limit".ljust(34)
    if row.error:
        return " | " + f"error: {row.error[:60]}".ljust(34)
    return f" | {_num(row.median_ms, 9)} {_num(row.p90_ms, 9)} {_num(row.candidates, 7)}"


def _ratio(ours: RowResult, theirs: RowResult | None) -> str:
    if theirs is None:
        return ""
    if theirs.timed_out:
        return "   > limit"
    if not (ours.median_ms and theirs.median_ms):
        return "         -"
    return f"{theirs.median_ms / ours.median_ms:9.1f}x"


def table(run: FleetRun) -> str:
    """The text table of one fleet."""
    counts = run.counts
    load = run.virtfleet.load
    lines = [
        f"== {run.hosts} hosts ({counts['compute']} compute, {counts['vgpu']} vGPU, "
        f"{counts['slice']} slice; {counts['used']} in use)",
        f"virtfleet load: generate {load['generate_s']} s, database {load['database_s']} s, "
        f"snapshot {load['snapshot_s']} s; snapshot memory {run.virtfleet.memory_mb} MiB "
        f"(process RSS {load['rss_mb']} MiB)",
    ]
    theirs_rows: list[RowResult | None] = [None] * len(run.virtfleet.rows)
    header = f"{'row':<32} {'median ms':>9} {'p90 ms':>9} {'cands':>7} {'hosts':>6}"
    if run.openstack is not None:
        os_load = run.openstack.load
        lines.append(
            f"OpenStack Placement {os_load.get('version')} load: {os_load.get('total_s')} s "
            f"(bulk SQL, custom names via its API); server RSS {run.openstack.memory_mb} MiB"
        )
        theirs_rows = list(run.openstack.rows)
        header += f" | {'Placement':>9} {'p90 ms':>9} {'cands':>7} {'ratio':>10}  hosts check"
    lines.append(header)
    for ours, theirs in zip(run.virtfleet.rows, theirs_rows, strict=True):
        cells = f"{ours.name:<32} "
        if ours.timed_out:
            cells += "did not finish in the time limit".ljust(34)
        elif ours.error:
            cells += f"error: {ours.error[:60]}"
        else:
            cells += (
                f"{_num(ours.median_ms, 9)} {_num(ours.p90_ms, 9)} "
                f"{_num(ours.candidates, 7)} {_num(ours.hosts, 6)}"
            )
        if theirs is not None or run.openstack is not None:
            cells += _theirs(theirs) + " " + _ratio(ours, theirs)
            cells += "  " + run.verdicts.get(ours.name, "")
        lines.append(cells.rstrip())
    lines.append("scheduling (decision + claim):")
    for s in run.scheduling:
        d = s.as_dict()
        lines.append(
            f"  {s.concurrency:>2} concurrent: {d['boots']} boots in {d['seconds']} s = "
            f"{d['boots_per_second']}/s; p50 {d['p50_ms']} ms, p99 {d['p99_ms']} ms"
            + (f"; {s.failures} failed {d['errors']}" if s.failures else "")
        )
    return "\n".join(lines)


def _cell(value: Any) -> str:
    return "-" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _placement_cells(row: dict[str, Any] | None, ours: dict[str, Any]) -> list[str]:
    if row is None:
        return []
    if row["timed_out"]:
        return ["did not finish in the time limit", "-", "-"]
    if row["error"]:
        return [f"error: {row['error'][:40]}", "-", "-"]
    ratio = (
        f"{row['median_ms'] / ours['median_ms']:.1f}x"
        if row["median_ms"] and ours["median_ms"]
        else "-"
    )
    return [_cell(row["median_ms"]), _cell(row["candidates"]), ratio]


def markdown(doc: dict[str, Any]) -> str:
    """Markdown tables of a JSON document written by ``--json`` (for the docs)."""
    out = [
        f"Measured {doc['date']} on {doc['machine']['cpus']} CPUs "
        f"({doc['machine']['platform']}, Python {doc['machine']['python']}); "
        f"load average (1, 5, 15 min) when written {doc['machine'].get('load_average_1_5_15')}; "
        f"{doc['options']['repeat']} requests per row, microversion {doc['microversion']}.",
    ]
    for fleet in doc["fleets"]:
        ours, theirs = fleet["virtfleet"], fleet["openstack_placement"]
        counts, load = fleet["counts"], ours["load"]
        out += [
            "",
            f"### {fleet['hosts']} hosts ({counts['compute']} compute, {counts['vgpu']} vGPU, "
            f"{counts['slice']} slice; {counts['used']} in use)",
            "",
            f"virtfleet fleet load: database {load['database_s']} s, snapshot "
            f"{load['snapshot_s']} s, snapshot memory {ours['memory_mb']} MiB (process RSS "
            f"{load['rss_mb']} MiB)."
            + (
                f" OpenStack Placement {theirs['load'].get('version')} load: "
                f"{theirs['load'].get('total_s')} s; server RSS {theirs['memory_mb']} MiB."
                if theirs
                else ""
            ),
            "",
        ]
        header = ["row", "virtfleet median ms", "p90 ms", "candidates", "hosts"]
        if theirs:
            header += ["Placement median ms", "candidates", "ratio", "host check"]
        out += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        their_rows = theirs["rows"] if theirs else [None] * len(ours["rows"])
        for row, other in zip(ours["rows"], their_rows, strict=True):
            cells = [f"`{row['name']}`"]
            if row["timed_out"]:
                cells += ["did not finish in the time limit", "-", "-", "-"]
            else:
                cells += [
                    _cell(row["median_ms"]),
                    _cell(row["p90_ms"]),
                    _cell(row["candidates"]),
                    _cell(row["hosts"]),
                ]
            if theirs:
                cells += _placement_cells(other, row)
                cells.append(fleet["host_checks"].get(row["name"], ""))
            out.append("| " + " | ".join(cells) + " |")
        out += ["", "| concurrent boots | boots | boots/s | p50 ms | p99 ms | failures |"]
        out.append("|---|---|---|---|---|---|")
        for s in fleet["scheduling"]:
            failures = f"{s['failures']} {s.get('errors', '')}" if s["failures"] else "0"
            out.append(
                f"| {s['concurrency']} | {s['boots']} | {s['boots_per_second']} | "
                f"{_cell(s['p50_ms'])} | {_cell(s['p99_ms'])} | {failures} |"
            )
    return "\n".join(out) + "\n"
