"""Which running virtfleet a command talks to: --endpoint, $VIRTFLEET_ENDPOINT, or
the `virtfleet` cloud in clouds.yaml (written by `virtfleet up`)."""

from __future__ import annotations

from typing import Any

import click
import yaml

from virtfleet.cli import clouds
from virtfleet.cli.apiclient import APIError, Client


def endpoint_option(func: Any) -> Any:
    return click.option(
        "--endpoint",
        envvar="VIRTFLEET_ENDPOINT",
        metavar="URL",
        help="virtfleet's HTTP endpoint (default: the 'virtfleet' cloud in clouds.yaml).",
    )(func)


def resolve_endpoint(endpoint: str | None) -> str:
    if endpoint:
        return endpoint.rstrip("/")
    path = clouds.default_path()
    try:
        data = yaml.safe_load(path.read_text()) or {}
        override = data["clouds"][clouds.CLOUD_NAME]["compute_endpoint_override"]
    except (OSError, KeyError, TypeError, yaml.YAMLError):
        raise click.ClickException(
            f"no --endpoint given and no '{clouds.CLOUD_NAME}' cloud in {path}; "
            "is `virtfleet up` running?"
        ) from None
    return str(override).removesuffix("/compute/v2.1")


def find_server(client: Client, name_or_id: str) -> dict[str, Any]:
    """A server by ID or exact name; ambiguity and absence are errors that say so."""
    try:
        return client.server(name_or_id)
    except APIError as exc:
        if exc.status != 404:
            raise click.ClickException(str(exc)) from None
    servers = client.compute("GET", "/servers/detail")["servers"]
    matches = [s for s in servers if s["name"] == name_or_id]
    if not matches:
        raise click.ClickException(f"no server named or with ID {name_or_id!r}")
    if len(matches) > 1:
        ids = ", ".join(s["id"] for s in matches)
        raise click.ClickException(f"several servers are named {name_or_id!r}: {ids}; use an ID")
    found: dict[str, Any] = matches[0]
    return found
