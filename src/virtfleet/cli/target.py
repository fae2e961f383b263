"""Which running virtfleet a command talks to, and as whom: a cloud of clouds.yaml,
read by openstacksdk's loader as the `openstack` client reads it — ``$OS_CLOUD``
names the cloud (default ``virtfleet``, the one `virtfleet up` writes),
``$OS_CLIENT_CONFIG_FILE`` names the file, else the standard places.

With password auth the command gets a token from its Keystone and the API endpoint
from the service catalog; ``--endpoint`` (or ``$VIRTFLEET_ENDPOINT``) overrides the
endpoint only. An unauthenticated (test mode) cloud gives its endpoint override.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import click
from keystoneauth1 import exceptions as ks_exceptions
from openstack import exceptions as sdk_exceptions
from openstack.config import loader
from openstack.config.cloud_region import CloudRegion

from virtfleet.cli import clouds
from virtfleet.cli.apiclient import APIError, Client

COMPUTE_SUFFIX = "/compute/v2.1"


def endpoint_option(func: Any) -> Any:
    return click.option(
        "--endpoint",
        envvar="VIRTFLEET_ENDPOINT",
        metavar="URL",
        help="virtfleet's HTTP endpoint (default: from the cloud in clouds.yaml, "
        f"$OS_CLOUD or '{clouds.CLOUD_NAME}').",
    )(func)


def cloud_name() -> str:
    """The cloud this command uses: ``$OS_CLOUD``, else virtfleet's own."""
    return os.environ.get("OS_CLOUD") or clouds.CLOUD_NAME


def resolve_client(endpoint: str | None) -> Client:
    """A client of the chosen cloud (at ``endpoint`` when given); with no such cloud,
    an unauthenticated client of ``endpoint`` (the test mode)."""
    name = cloud_name()
    region = _cloud_region(name)
    if region is None:
        if endpoint:
            return Client(endpoint.rstrip("/"))
        raise click.ClickException(
            f"no --endpoint given and no cloud {name!r} in clouds.yaml "
            f"({clouds.default_path()} or $OS_CLIENT_CONFIG_FILE); is `virtfleet up` running?"
        )
    if region.config.get("auth_type") in (None, "none", "noauth", "admin_token"):
        override = endpoint or region.get_endpoint("compute")
        if not override:
            raise click.ClickException(f"cloud {name!r} has no compute endpoint; use --endpoint")
        return Client(str(override).removesuffix(COMPUTE_SUFFIX).rstrip("/"))
    return _token_client(name, region, endpoint)


def _cloud_region(name: str) -> CloudRegion | None:
    """The named cloud as openstacksdk sees it, or None when it is not configured."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the loader warns about unrelated env vars
        try:
            return loader.OpenStackConfig().get_one(cloud=name)
        except sdk_exceptions.ConfigException:
            return None
        except (OSError, ValueError) as exc:  # e.g. unreadable or malformed YAML
            raise click.ClickException(f"clouds.yaml: {exc}") from None


def _token_client(name: str, region: CloudRegion, endpoint: str | None) -> Client:
    """A client that carries a Keystone token of the cloud's credentials."""
    try:
        session = region.get_session()
        if not endpoint:
            endpoint = region.get_session_endpoint("compute")
            if not endpoint:
                raise click.ClickException(f"cloud {name!r}: no compute service in the catalog")
        session.get_token()
    except ks_exceptions.ClientException as exc:
        raise click.ClickException(f"cannot authenticate with Keystone: {exc}") from None
    except sdk_exceptions.SDKException as exc:
        raise click.ClickException(f"cloud {name!r}: {exc}") from None
    base = str(endpoint).removesuffix(COMPUTE_SUFFIX).rstrip("/")
    return Client(base, token=lambda: str(session.get_token()))


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
