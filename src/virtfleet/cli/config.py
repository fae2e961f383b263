"""`virtfleet config ...`: the configuration file."""

from __future__ import annotations

from collections.abc import Sequence

import click

from virtfleet import conf as vconf
from virtfleet.conf import sample


@click.group()
def config() -> None:
    """The virtfleet.conf configuration file."""


@config.command("sample")
def config_sample() -> None:
    """Print a sample virtfleet.conf with every option, its help and default."""
    click.echo(sample.render(), nl=False)


@config.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def config_check(files: tuple[str, ...]) -> None:
    """Check virtfleet.conf FILES as a whole: unknown sections and options (typos),
    and every value. Prints one line per problem (FILE:LINE: what is wrong) and exits
    1 when there is any."""
    problems = check_files(files)
    for line in problems:
        click.echo(line)
    if problems:
        raise click.exceptions.Exit(1)
    click.echo(f"{', '.join(files)}: OK")


def check_files(files: Sequence[str]) -> list[str]:
    """Every problem of ``files`` read together, as lines."""
    for path in files:
        try:
            with open(path, encoding="utf-8") as handle:
                handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            return [f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}"]
    return vconf.check_files(files)


def warn_unknown_options(files: Sequence[str]) -> None:
    """At start: one warning line per unknown section or option of ``files``."""
    try:
        findings = vconf.unknown_options(files)
    except (OSError, UnicodeDecodeError):
        return  # make_conf reports an unreadable file
    for finding in findings:
        click.echo(f"Warning: {finding}", err=True)
