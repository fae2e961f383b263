"""The `virtfleet` command: `<object> <action>` groups, as operators know from `openstack`."""

from __future__ import annotations

import logging
import sys
import warnings

# futurist imports eventlet when it is installed (oslo.messaging pulls it in), and
# eventlet announces its deprecation on import; virtfleet never uses eventlet.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import click  # noqa: E402 (after the warning filter on purpose)

from virtfleet import __version__  # noqa: E402
from virtfleet.cli import bench, config, daemons, demo, explain, servers, slices, up  # noqa: E402
from virtfleet.observability import logs  # noqa: E402


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="virtfleet")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def cli(verbose: int) -> None:
    """virtfleet: places and runs virtual machines on libvirt/QEMU fleets."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logs.configure(level)  # text; `up`, `server` and `agent` take --log-format


cli.add_command(up.up)
cli.add_command(config.config)
cli.add_command(demo.demo)
cli.add_command(servers.server)
cli.add_command(slices.slices)
cli.add_command(daemons.agent)
cli.add_command(bench.bench)
cli.add_command(explain.explain)


def main() -> None:
    """Entry point of the `virtfleet` console script."""
    sys.exit(cli.main(standalone_mode=True))
