"""`virtfleet up`: the embedded control plane in one process."""

from __future__ import annotations

import contextlib
import pathlib
import signal
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import click

from virtfleet import conf as vconf
from virtfleet import errors
from virtfleet.api.auth import is_noauth
from virtfleet.cli import clouds
from virtfleet.cli.apiclient import Client
from virtfleet.cli.config import warn_unknown_options
from virtfleet.cli.log_options import log_format_option
from virtfleet.control_plane import EmbeddedCloud
from virtfleet.identity.layout import ADMIN_PROJECT, ADMIN_USER
from virtfleet.identity.session import password_session
from virtfleet.virt.sim.fleet import Fleet, default_fleet, load_fleet


def fleet_option(func: Any) -> Any:
    """The options shared by `up` and `demo`."""
    options = [
        click.option(
            "--fleet",
            "fleet_file",
            type=click.Path(dir_okay=False, path_type=pathlib.Path),
            help="Fleet file of simulated hosts (default: the packaged sample fleet, "
            "unless --libvirt is given).",
        ),
        click.option(
            "--libvirt",
            "libvirt_uris",
            multiple=True,
            metavar="URI",
            help="Also run an agent for this real libvirt host (repeatable), e.g. qemu:///system.",
        ),
        click.option(
            "--config",
            "config_files",
            multiple=True,
            type=click.Path(exists=True, dir_okay=False),
            help="virtfleet.conf file(s).",
        ),
        click.option(
            "--listen", metavar="HOST:PORT", help="HTTP listener (default 127.0.0.1:8774)."
        ),
        click.option(
            "--data-dir",
            type=click.Path(file_okay=False, path_type=pathlib.Path),
            help="Where the database, images and instance files live.",
        ),
        click.option(
            "--clouds-yaml",
            type=click.Path(dir_okay=False, path_type=pathlib.Path),
            help="clouds.yaml to add the 'virtfleet' cloud to "
            "(default ~/.config/openstack/clouds.yaml).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def build_cloud(
    fleet_file: pathlib.Path | None,
    libvirt_uris: Sequence[str],
    config_files: Sequence[str],
    listen: str | None,
    data_dir: pathlib.Path | None,
) -> EmbeddedCloud:
    """Configuration and fleet → an (unstarted) embedded cloud; bad input is a
    ClickException naming the problem."""
    overrides: dict[str, Any] = {}
    if listen:
        overrides["api__listen"] = listen
    if data_dir:
        overrides["data_dir"] = str(data_dir)
    warn_unknown_options(config_files)
    try:
        conf = vconf.make_conf(config_files=config_files, **overrides)
        fleet: Fleet | None
        if fleet_file is not None:
            fleet = load_fleet(fleet_file)
        elif libvirt_uris:
            fleet = None
        else:
            fleet = default_fleet()
    except errors.ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    except Exception as exc:  # oslo.config errors name the file and option
        raise click.ClickException(
            f"configuration: {type(exc).__name__}: {exc}" if str(exc) else repr(exc)
        ) from None
    return EmbeddedCloud(conf, fleet, libvirt_uris=libvirt_uris, config_files=config_files)


@contextlib.contextmanager
def running(cloud: EmbeddedCloud, clouds_yaml: pathlib.Path | None) -> Iterator[EmbeddedCloud]:
    """Start the cloud, write clouds.yaml, and always stop it again."""
    try:
        cloud.start()
    except (errors.VirtfleetError, OSError) as exc:
        cloud.stop()
        raise click.ClickException(f"could not start: {exc}") from None
    except Exception as exc:  # a bug: one line, not a traceback
        cloud.stop()
        raise click.ClickException(f"could not start: {type(exc).__name__}: {exc}") from None
    try:
        path = clouds_yaml or clouds.default_path()
        entry = cloud_entry(cloud)
        if entry is not None:
            clouds.write_entry(path, entry)
            if cloud.control is not None:
                clouds.write_entry(cloud.control.data_dir / "clouds.yaml", entry)
        yield cloud
    finally:
        cloud.stop()


def cloud_entry(cloud: EmbeddedCloud) -> dict[str, Any] | None:
    """The admin's password entry for the embedded Keystone; the unauthenticated
    entry in the test mode; None with an external Keystone (its users are not ours)."""
    keystone = cloud.keystone
    if keystone is None:
        return clouds.noauth_entry(cloud.endpoint) if is_noauth(cloud.conf) else None
    return clouds.password_entry(
        keystone.auth_url,
        ADMIN_USER,
        keystone.layout.admin_password(),
        ADMIN_PROJECT,
        cloud.conf.identity.region,
    )


def admin_client(cloud: EmbeddedCloud) -> Client:
    """A client of the running cloud's APIs as its admin user."""
    keystone = cloud.keystone
    if keystone is None:
        return Client(cloud.endpoint)
    session = password_session(
        keystone.auth_url, ADMIN_USER, keystone.layout.admin_password(), ADMIN_PROJECT
    )
    return Client(cloud.endpoint, token=lambda: str(session.get_token()))


def wait_for_signal() -> None:
    """Block until SIGINT or SIGTERM."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


@click.command()
@log_format_option
@fleet_option
def up(
    fleet_file: pathlib.Path | None,
    libvirt_uris: tuple[str, ...],
    config_files: tuple[str, ...],
    listen: str | None,
    data_dir: pathlib.Path | None,
    clouds_yaml: pathlib.Path | None,
) -> None:
    """Run the embedded control plane: APIs, scheduler, placement and one agent per host."""
    cloud = build_cloud(fleet_file, libvirt_uris, config_files, listen, data_dir)
    with running(cloud, clouds_yaml) as live:
        click.echo(f"virtfleet is up at {live.endpoint} with {len(live.agents)} host(s).")
        click.echo("Use it with:  openstack --os-cloud virtfleet server list")
        click.echo("Stop with Ctrl-C.")
        wait_for_signal()
    click.echo("virtfleet stopped.")
