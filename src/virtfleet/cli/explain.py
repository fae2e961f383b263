"""`virtfleet explain`: where a flavor and an image would be scheduled, and why not
elsewhere — a dry run of the scheduler on the running control plane (nothing claimed)."""

from __future__ import annotations

from typing import Any

import click

from virtfleet.cli.apiclient import APIError, Client
from virtfleet.cli.target import endpoint_option, resolve_client


@click.command()
@endpoint_option
@click.option("--flavor", "flavor", required=True, help="Flavor name or ID.")
@click.option("--image", "image", required=True, help="Image name or ID.")
@click.option("--host", default=None, help="Only consider this compute host.")
@click.option("--limit", default=5, show_default=True, help="How many fitting hosts to list.")
def explain(endpoint: str | None, flavor: str, image: str, host: str | None, limit: int) -> None:
    """Explain where FLAVOR + IMAGE would boot: the best hosts, and what excludes the rest."""
    client = resolve_client(endpoint)
    body: dict[str, Any] = {
        "flavorRef": _flavor_id(client, flavor),
        "imageRef": _image_id(client, image),
        "limit": limit,
    }
    if host is not None:
        body["host"] = host
    try:
        answer = client.compute("POST", "/os-scheduler-explain", {"explain": body})
    except APIError as exc:
        raise click.ClickException(f"cannot explain {flavor} + {image}: {exc}") from None
    explanation = answer["explanation"]
    click.echo(explanation["details"])
    if explanation["hosts"]:
        click.echo("Best hosts:")
        for rank, chosen in enumerate(explanation["hosts"], 1):
            click.echo(f"  {rank}. {chosen['host']} (weight {chosen['weight']})")
            for part in chosen.get("weighers", []):
                share, raw = part["weight"], part["raw"]
                click.echo(f"       {part['weigher']:<12} {share:+.4f}  (score {raw:g})")
    if explanation.get("ranking_note"):
        click.echo(f"Note: {explanation['ranking_note']}.")


def _flavor_id(client: Client, name_or_id: str) -> str:
    flavors = client.compute("GET", "/flavors/detail?is_public=None")["flavors"]
    return _one("flavor", name_or_id, flavors)


def _image_id(client: Client, name_or_id: str) -> str:
    images = client.request("GET", "/image/v2/images?limit=1000")["images"]
    return _one("image", name_or_id, images)


def _one(kind: str, name_or_id: str, items: list[dict[str, Any]]) -> str:
    """The id of the item with that id, else the only one with that name."""
    if any(item["id"] == name_or_id for item in items):
        return name_or_id
    named = [item["id"] for item in items if item.get("name") == name_or_id]
    if not named:
        raise click.ClickException(f"no {kind} named or with ID {name_or_id!r}")
    if len(named) > 1:
        raise click.ClickException(
            f"several {kind}s are named {name_or_id!r}: {', '.join(named)}; use an ID"
        )
    return str(named[0])
