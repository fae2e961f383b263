"""`virtfleet slices ...`: check a host's slice configuration, show what is in use.

virtfleet slices validate --config /etc/virtfleet/virtfleet.conf
virtfleet slices validate --fleet fleet.yaml --host slice-1
virtfleet slices show slice-1
"""

from __future__ import annotations

from typing import Any

import click

from virtfleet import conf as vconf
from virtfleet import errors
from virtfleet.cli.apiclient import APIError, Client
from virtfleet.cli.target import endpoint_option, resolve_client
from virtfleet.virt.connection import open_connection
from virtfleet.virt.libvirt import host as libvirt_host
from virtfleet.virt.libvirt.slices import host_facts, load_tree
from virtfleet.virt.libvirt.slices.host import config_base_dir
from virtfleet.virt.libvirt.slices.status import ProviderView, slice_statuses
from virtfleet.virt.sim import load_fleet
from virtfleet.virt.sim.agentconf import conf_overrides

PLACEMENT_VERSION = "placement 1.39"


@click.group()
def slices() -> None:
    """Slices: operator-written domain templates in a conflict tree."""


@slices.command("validate")
@click.option("--config", "config_file", metavar="FILE", help="virtfleet.conf of the agent.")
@click.option("--fleet", "fleet_file", metavar="FILE", help="Fleet file of simulated hosts.")
@click.option("--host", "host_name", metavar="HOST", help="The fleet host to check.")
@click.option("--no-host-check", is_flag=True, help="Skip the checks against the host.")
def validate(
    config_file: str | None, fleet_file: str | None, host_name: str | None, no_host_check: bool
) -> None:
    """Run every check the agent runs at start and print the tree with what each
    slice holds (host CPUs, NUMA cells, PCI devices)."""
    if (config_file is None) == (fleet_file is None):
        raise click.UsageError("give --config FILE, or --fleet FILE --host HOST")
    try:
        if fleet_file is not None:
            if host_name is None:
                raise click.UsageError("--fleet needs --host HOST")
            fleet = load_fleet(fleet_file)
            profile = fleet.host(host_name)
            conf = vconf.make_conf((), (), **conf_overrides(profile))
            uri, label = f"sim://{profile.name}", f"host {profile.name} of {fleet_file}"
            conn = None if no_host_check else open_connection(uri, fleet)
        else:
            assert config_file is not None
            conf = vconf.make_conf(config_files=[config_file])
            uri, label = conf.libvirt.connection_uri, f"{config_file}"
            conn = None if no_host_check else open_connection(uri)
        lines = list(conf.libvirt.slice_spec)
        if not lines:
            raise click.ClickException(f"{label}: no [libvirt] slice_spec entries")
        facts = None if conn is None else host_facts(conn, libvirt_host.discover(conn, conf))
        tree = load_tree(lines, facts, config_base_dir(conf))
    except (errors.ConfigError, errors.NotFound, errors.HypervisorError) as exc:
        raise click.ClickException(str(exc)) from None
    checked = "checked against the host" if facts is not None else "host checks skipped"
    click.echo(f"{label}: {len(tree.slices)} slices, {checked}")
    for line in tree.lines():
        click.echo(line)


@slices.command("show")
@endpoint_option
@click.argument("host")
def show(endpoint: str | None, host: str) -> None:
    """Show which slices of HOST are free, used, taken with a larger slice, or
    blocked (an ancestor of a slice in use), and by which guest."""
    client = resolve_client(endpoint)
    try:
        providers = host_tree(client, host)
        names = guest_names(client, {c for p in providers for c in p.consumers})
    except APIError as exc:
        raise click.ClickException(f"cannot read the slices of {host}: {exc}") from None
    statuses = slice_statuses(providers, names)
    if not statuses:
        raise click.ClickException(f"host {host} reports no slices")
    for status in statuses:
        click.echo(status.line())


def _placement(client: Client, path: str) -> Any:
    return client.request(
        "GET", "/placement" + path, headers={"OpenStack-API-Version": PLACEMENT_VERSION}
    )


def host_tree(client: Client, host: str) -> list[ProviderView]:
    roots = _placement(client, f"/resource_providers?name={host}")["resource_providers"]
    if not roots:
        raise click.ClickException(f"no resource provider named {host!r}")
    tree = _placement(client, f"/resource_providers?in_tree={roots[0]['uuid']}")
    views = []
    for rp in tree["resource_providers"]:
        inventories = _placement(client, f"/resource_providers/{rp['uuid']}/inventories")
        allocations = _placement(client, f"/resource_providers/{rp['uuid']}/allocations")
        views.append(
            ProviderView(
                uuid=rp["uuid"],
                name=str(rp["name"]).removeprefix(f"{host}_"),
                parent_uuid=rp.get("parent_provider_uuid"),
                resource_classes=tuple(sorted(inventories["inventories"])),
                consumers=tuple(sorted(allocations["allocations"])),
            )
        )
    return views


def guest_names(client: Client, consumers: set[str]) -> dict[str, str]:
    """Server names of the consumers that are servers (others keep their uuid)."""
    names = {}
    for consumer in sorted(consumers):
        try:
            names[consumer] = str(client.server(consumer)["name"])
        except APIError:
            continue
    return names
