"""``--log-format`` of the commands that run services (`up`, `server`, `agent`)."""

from __future__ import annotations

import click

from virtfleet.observability import logs


def _apply(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        logs.set_format(value)


log_format_option = click.option(
    "--log-format",
    type=click.Choice(logs.FORMATS),
    default=None,
    expose_value=False,
    callback=_apply,
    help="Log lines as text (the default) or one JSON object per line; each carries "
    "the request id it belongs to.",
)
