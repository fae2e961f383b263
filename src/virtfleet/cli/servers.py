"""`virtfleet server`: without a subcommand, run the control plane (distributed mode,
see :mod:`virtfleet.cli.daemons`); with one, what operators ask of one server (guest)
beyond the Compute API."""

from __future__ import annotations

import click

from virtfleet.cli import daemons
from virtfleet.cli.apiclient import APIError
from virtfleet.cli.log_options import log_format_option
from virtfleet.cli.target import endpoint_option, find_server, resolve_client


@click.group(invoke_without_command=True)
@log_format_option
@daemons.config_option
@click.option("--listen", metavar="HOST:PORT", help="HTTP listener (default [api] listen).")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    help="Database, images (default [DEFAULT] data_dir).",
)
@click.pass_context
def server(
    ctx: click.Context, config_files: tuple[str, ...], listen: str | None, data_dir: str | None
) -> None:
    """Run the control plane (no subcommand; agents connect over RabbitMQ), or inspect
    servers (guests)."""
    if ctx.invoked_subcommand is None:
        daemons.run_server(config_files, listen, data_dir)


@server.command("xml")
@endpoint_option
@click.argument("name_or_id")
def server_xml(endpoint: str | None, name_or_id: str) -> None:
    """Print the libvirt domain XML a server really runs with, from its host."""
    client = resolve_client(endpoint)
    found = find_server(client, name_or_id)
    try:
        body = client.compute("GET", f"/servers/{found['id']}/os-domain-xml")
    except APIError as exc:
        raise click.ClickException(f"cannot get the domain XML of {name_or_id}: {exc}") from None
    click.echo(body["domain_xml"].rstrip())
