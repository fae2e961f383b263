"""`virtfleet bench`: benchmarks that print numbers (see docs/benchmarks.md)."""

from __future__ import annotations

import contextlib
import json
import pathlib
import tempfile

import click

from virtfleet import errors
from virtfleet.bench import boots as e2e_boots
from virtfleet.bench import clouds as e2e_clouds
from virtfleet.bench import openstack, report, runner, shapes
from virtfleet.placement.service import DEFAULT_MAX_CANDIDATES


def _sizes(_ctx: click.Context, _param: click.Parameter, value: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "")) for part in value.split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated host counts, got {value!r}") from None
    if not sizes or any(n < 10 for n in sizes):
        raise click.BadParameter("each fleet needs at least 10 hosts")
    return sizes


def _shapes(_ctx: click.Context, _param: click.Parameter, value: str | None) -> list[shapes.Shape]:
    if not value:
        return list(shapes.SHAPES)
    by_name = {s.name: s for s in shapes.SHAPES}
    wanted = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in by_name]
    if unknown:
        raise click.BadParameter(
            f"unknown shape(s) {', '.join(unknown)}; known: {', '.join(by_name)}"
        )
    return [by_name[name] for name in wanted]


@click.group()
def bench() -> None:
    """Benchmarks that print numbers."""


@bench.command("placement")
@click.option(
    "--hosts",
    "sizes",
    default="1000,10000",
    show_default=True,
    callback=_sizes,
    help="Fleet sizes, comma-separated.",
)
@click.option(
    "--repeat", default=5, show_default=True, type=click.IntRange(1), help="Timed requests per row."
)
@click.option("--seed", default=0, show_default=True, help="Fleet generator seed.")
@click.option(
    "--boots",
    default=200,
    show_default=True,
    type=click.IntRange(1),
    help="Boots per concurrency level.",
)
@click.option(
    "--shapes",
    "shape_list",
    default=None,
    callback=_shapes,
    help="Only these query shapes (comma-separated names).",
)
@click.option(
    "--timeout",
    default=60.0,
    show_default=True,
    type=click.FloatRange(min=1),
    help="Per-query time limit, seconds.",
)
@click.option(
    "--json",
    "json_file",
    type=click.Path(dir_okay=False, path_type=pathlib.Path),
    help="Also write the results here (rewritten after each fleet).",
)
@click.option(
    "--compare-openstack", is_flag=True, help="Run the same rows on OpenStack Placement too."
)
@click.option(
    "--openstack-max-hosts", type=int, default=None, help="Compare only fleets up to this size."
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=pathlib.Path),
    default=openstack.default_cache_dir,
    show_default="~/.cache/virtfleet",
    help="Where the Placement virtualenv lives.",
)
@click.option(
    "--max-candidates",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_CANDIDATES,
    show_default=True,
    help="virtfleet's cap on an answer without limit ([placement] max_candidates).",
)
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=pathlib.Path),
    default=None,
    help="Databases go here (default: a temporary directory).",
)
def placement(
    sizes: list[int],
    repeat: int,
    seed: int,
    boots: int,
    shape_list: list[shapes.Shape],
    timeout: float,
    json_file: pathlib.Path | None,
    compare_openstack: bool,
    openstack_max_hosts: int | None,
    cache_dir: pathlib.Path,
    max_candidates: int,
    workdir: pathlib.Path | None,
) -> None:
    """Allocation candidates over HTTP, scheduling and fleet load, per fleet size."""
    options = runner.Options(
        sizes=sizes,
        repeat=repeat,
        seed=seed,
        boots=boots,
        timeout=timeout,
        shapes=shape_list,
        compare_openstack=compare_openstack,
        openstack_max_hosts=openstack_max_hosts,
        cache_dir=cache_dir,
        max_candidates=max_candidates,
        workdir=workdir,
    )

    def fleet_done(runs: list[runner.FleetRun]) -> None:
        click.echo(report.table(runs[-1]) + "\n")
        if json_file is not None:
            json_file.write_text(json.dumps(report.document(options, runs), indent=2) + "\n")

    try:
        runner.run(options, on_fleet=fleet_done)
    except openstack.PlacementUnavailableError as exc:
        raise click.ClickException(f"OpenStack Placement is unavailable: {exc}") from exc
    if json_file is not None:
        click.echo(f"wrote {json_file}")


def _setups(_ctx: click.Context, _param: click.Parameter, value: str) -> list[int]:
    setups = []
    for part in (p.strip() for p in value.split(",") if p.strip()):
        if part == "embedded":
            setups.append(0)
        elif part.isdigit() and 1 <= int(part) <= 8:
            setups.append(int(part))
        else:
            raise click.BadParameter(
                f"{part!r} is not a setup: use 'embedded' or a number of servers from 1 to 8"
            )
    if not setups:
        raise click.BadParameter("name at least one setup, e.g. embedded,1,3")
    return setups


@bench.command("boots")
@click.option(
    "--setups",
    default="embedded,1,3",
    show_default=True,
    callback=_setups,
    help="Comma-separated: 'embedded' (virtfleet up, SQLite) and numbers of servers "
    "(PostgreSQL + RabbitMQ).",
)
@click.option("--hosts", default=100, show_default=True, type=click.IntRange(1, 1000))
@click.option("--boots", default=300, show_default=True, type=click.IntRange(1, 5000))
@click.option("--concurrency", default=32, show_default=True, type=click.IntRange(1, 256))
@click.option(
    "--timeout",
    default=300.0,
    show_default=True,
    type=click.FloatRange(1, 3600),
    help="Most seconds each burst (boots, deletes) may take.",
)
@click.option(
    "--database-url",
    envvar="VIRTFLEET_BENCH_POSTGRESQL",
    default="postgresql+psycopg://virtfleet:virtfleet@127.0.0.1:5432/virtfleet",
    show_default=True,
    help="PostgreSQL account that may create databases (a scratch one per setup).",
)
@click.option(
    "--transport-url",
    envvar="VIRTFLEET_BENCH_RABBIT",
    default="rabbit://virtfleet:virtfleet@127.0.0.1:5672/",
    show_default=True,
    help="RabbitMQ for the distributed setups.",
)
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=pathlib.Path),
    default=None,
    help="Data and logs go here (default: a temporary directory, removed).",
)
@click.option(
    "--json",
    "json_file",
    type=click.Path(dir_okay=False, path_type=pathlib.Path),
    help="Also write the results here.",
)
def boots_command(
    setups: list[int],
    hosts: int,
    boots: int,
    concurrency: int,
    timeout: float,
    database_url: str,
    transport_url: str,
    workdir: pathlib.Path | None,
    json_file: pathlib.Path | None,
) -> None:
    """POST /servers to ACTIVE and DELETE to gone, end to end over HTTP, on simulated
    hosts: throughput and p50/p99 latency per setup."""
    results: list[e2e_boots.Result] = []
    with contextlib.ExitStack() as stack:
        root = workdir or pathlib.Path(stack.enter_context(tempfile.TemporaryDirectory()))
        for servers in setups:
            setup = e2e_clouds.Setup(servers, hosts, database_url, transport_url)
            click.echo(f"{setup.name}: starting {hosts} simulated hosts ...")
            try:
                with e2e_clouds.running(
                    setup, root / f"setup-{servers}", e2e_clouds.start_timeout(hosts)
                ) as cloud:
                    result = e2e_boots.run(
                        cloud.endpoints, boots, concurrency, timeout, setup.name, servers, hosts,
                        cpu=cloud.cpu_seconds,
                    )  # fmt: skip
            except (RuntimeError, errors.VirtfleetError) as exc:
                raise click.ClickException(f"{setup.name}: {exc}") from None
            results.append(result)
            click.echo(e2e_boots.table([result]))
    click.echo(e2e_boots.table(results))
    for line in e2e_boots.against_targets(results):
        click.echo(line)
    if json_file is not None:
        json_file.write_text(json.dumps([r.as_dict() for r in results], indent=2) + "\n")
        click.echo(f"wrote {json_file}")


@bench.command("markdown")
@click.argument("json_file", type=click.Path(exists=True, dir_okay=False, path_type=pathlib.Path))
def markdown(json_file: pathlib.Path) -> None:
    """Print the results in JSON_FILE (from `bench placement --json`) as Markdown tables."""
    try:
        document = json.loads(json_file.read_text())
        click.echo(report.markdown(document), nl=False)
    except (ValueError, KeyError, TypeError) as exc:
        raise click.ClickException(f"{json_file} is not a benchmark result: {exc!r}") from exc
