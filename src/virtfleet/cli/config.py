"""`virtfleet config ...`: the configuration file."""

from __future__ import annotations

import click

from virtfleet.conf import sample


@click.group()
def config() -> None:
    """The virtfleet.conf configuration file."""


@config.command("sample")
def config_sample() -> None:
    """Print a sample virtfleet.conf with every option, its help and default."""
    click.echo(sample.render(), nl=False)
