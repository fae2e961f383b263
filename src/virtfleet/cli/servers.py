"""`virtfleet server ...`: what operators ask of one server beyond the Compute API."""

from __future__ import annotations

import click

from virtfleet.cli.apiclient import APIError, Client
from virtfleet.cli.target import endpoint_option, find_server, resolve_endpoint


@click.group()
def server() -> None:
    """Inspect servers."""


@server.command("xml")
@endpoint_option
@click.argument("name_or_id")
def server_xml(endpoint: str | None, name_or_id: str) -> None:
    """Print the libvirt domain XML a server really runs with, from its host."""
    client = Client(resolve_endpoint(endpoint))
    found = find_server(client, name_or_id)
    try:
        body = client.compute("GET", f"/servers/{found['id']}/os-domain-xml")
    except APIError as exc:
        raise click.ClickException(f"cannot get the domain XML of {name_or_id}: {exc}") from None
    click.echo(body["domain_xml"].rstrip())
