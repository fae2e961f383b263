"""Which running virtfleet a command talks to, and as whom: the `virtfleet` cloud in
clouds.yaml (written by `virtfleet up`; ``$OS_CLIENT_CONFIG_FILE`` names another file).

With password auth the command gets a token from its Keystone and the API endpoint
from the service catalog; ``--endpoint`` (or ``$VIRTFLEET_ENDPOINT``) overrides the
endpoint only. An unauthenticated (test mode) cloud gives its endpoint override.
"""

from __future__ import annotations

from typing import Any

import click
from keystoneauth1 import exceptions as ks_exceptions

from virtfleet.cli import clouds
from virtfleet.cli.apiclient import APIError, Client
from virtfleet.identity.session import password_session


def endpoint_option(func: Any) -> Any:
    return click.option(
        "--endpoint",
        envvar="VIRTFLEET_ENDPOINT",
        metavar="URL",
        help="virtfleet's HTTP endpoint (default: from the 'virtfleet' cloud in clouds.yaml).",
    )(func)


def resolve_client(endpoint: str | None) -> Client:
    """A client of the `virtfleet` cloud (at ``endpoint`` when given)."""
    path = clouds.default_path()
    entry = clouds.read_entry(path)
    if entry is not None and entry.get("auth_type") == "password":
        return _password_client(entry, endpoint)
    if endpoint:
        return Client(endpoint.rstrip("/"))
    override = (entry or {}).get("compute_endpoint_override")
    if not isinstance(override, str):
        raise click.ClickException(
            f"no --endpoint given and no '{clouds.CLOUD_NAME}' cloud in {path}; "
            "is `virtfleet up` running?"
        )
    return Client(override.removesuffix("/compute/v2.1"))


def _password_client(entry: dict[str, Any], endpoint: str | None) -> Client:
    auth = entry.get("auth") or {}
    try:
        session = password_session(
            auth["auth_url"],
            auth["username"],
            auth["password"],
            auth["project_name"],
            auth.get("user_domain_name", "Default"),
            auth.get("project_domain_name", "Default"),
        )
        if not endpoint:
            compute = session.get_endpoint(
                service_type="compute", interface="public", region_name=entry.get("region_name")
            )
            endpoint = str(compute).removesuffix("/compute/v2.1")
        session.get_token()
    except KeyError as exc:
        raise click.ClickException(f"clouds.yaml: the virtfleet cloud has no auth {exc}") from None
    except ks_exceptions.ClientException as exc:
        raise click.ClickException(f"cannot authenticate with Keystone: {exc}") from None
    return Client(endpoint.rstrip("/"), token=lambda: str(session.get_token()))


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
