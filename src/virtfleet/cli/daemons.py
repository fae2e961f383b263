"""`virtfleet server` (no subcommand) and `virtfleet agent`: distributed mode's daemons.

Both read virtfleet.conf (``--config``), need ``[DEFAULT] transport_url`` pointing at a
RabbitMQ broker, stop cleanly on SIGTERM or Ctrl-C, and turn every startup problem into
one line on stderr and exit status 1.
"""

from __future__ import annotations

import pathlib
import signal
import threading
from collections.abc import Callable, Sequence
from typing import Any

import click
from oslo_config import cfg

from virtfleet import conf as vconf
from virtfleet import errors
from virtfleet.agent_process import AgentProcess, fleet_targets, resolve_target
from virtfleet.broker import redact
from virtfleet.cli.config import warn_unknown_options
from virtfleet.cli.log_options import log_format_option
from virtfleet.server_process import ServerProcess
from virtfleet.virt.sim.fleet import Fleet, load_fleet

config_option = click.option(
    "--config",
    "config_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="virtfleet.conf file(s); later files win.",
)


def load_conf(config_files: Sequence[str], **overrides: Any) -> cfg.ConfigOpts:
    """The configuration, or a ClickException naming the file and option; a warning
    for each unknown section or option."""
    warn_unknown_options(config_files)
    try:
        return vconf.make_conf(config_files=config_files, **overrides)
    except errors.ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT (installed before anything starts)."""
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    return stopping


def _start_or_exit(what: str, start: Callable[[], object], stop: Callable[[], None]) -> object:
    """Run ``start``; any failure stops what started and exits 1 with one message."""
    try:
        return start()
    except (errors.VirtfleetError, OSError) as exc:
        stop()
        raise click.ClickException(f"{what} could not start: {exc}") from None
    except Exception as exc:  # e.g. a database URL SQLAlchemy cannot use
        stop()
        raise click.ClickException(f"{what} could not start: {type(exc).__name__}: {exc}") from None


def run_server(config_files: Sequence[str], listen: str | None, data_dir: str | None) -> None:
    """`virtfleet server`: run the control plane until SIGTERM."""
    overrides: dict[str, Any] = {}
    if listen:
        overrides["api__listen"] = listen
    if data_dir:
        overrides["data_dir"] = data_dir
    conf = load_conf(config_files, **overrides)
    stopping = stop_on_signals()
    server = ServerProcess(conf, config_files)
    _start_or_exit("virtfleet server", server.start, server.stop)
    click.echo(f"virtfleet server is up at {server.endpoint}; RPC via {redact(conf.transport_url)}")
    stopping.wait()
    server.stop()
    click.echo("virtfleet server stopped.")


@click.command()
@log_format_option
@config_option
@click.option(
    "--fleet",
    "fleet_file",
    type=click.Path(dir_okay=False, path_type=pathlib.Path),
    help="Fleet file: run the agent of one of its simulated hosts (see --host).",
)
@click.option(
    "--host",
    "host_names",
    metavar="NAME",
    multiple=True,
    help="The fleet host this agent drives (repeatable: one process for several hosts).",
)
@click.option(
    "--all-hosts", is_flag=True, help="Drive every host of the fleet file from this process."
)
@click.option(
    "--libvirt",
    "libvirt_uri",
    metavar="URI",
    help="libvirt URI of this hypervisor (default: [libvirt] connection_uri).",
)
def agent(
    config_files: tuple[str, ...],
    fleet_file: pathlib.Path | None,
    host_names: tuple[str, ...],
    all_hosts: bool,
    libvirt_uri: str | None,
) -> None:
    """Run one hypervisor's agent (or the agents of several simulated hosts); it
    reaches the servers over [DEFAULT] transport_url."""
    conf = load_conf(config_files)
    try:
        fleet: Fleet | None = load_fleet(fleet_file) if fleet_file is not None else None
        if (all_hosts or len(host_names) > 1) and fleet is None:
            raise errors.ConfigError("several hosts (--all-hosts, --host twice) need --fleet")
        if all_hosts or len(host_names) > 1:
            assert fleet is not None
            targets = fleet_targets(conf, fleet, () if all_hosts else host_names)
        else:
            host = host_names[0] if host_names else None
            targets = [resolve_target(conf, fleet, host, libvirt_uri)]
    except errors.VirtfleetError as exc:
        raise click.ClickException(str(exc)) from None
    stopping = stop_on_signals()
    process = AgentProcess(conf, config_files, targets)
    target = targets[0]
    names = target.name if len(targets) == 1 else f"{target.name} (+{len(targets) - 1} hosts)"
    what = f"virtfleet agent {names}"
    started = _start_or_exit(what, lambda: process.start(stopping), process.stop)
    if started:
        click.echo(f"{what} is up ({target.uri}); RPC via {redact(conf.transport_url)}")
        stopping.wait()
    process.stop()
    click.echo(f"{what} stopped.")
