"""[placement]: the placement engine."""

from __future__ import annotations

from oslo_config import cfg

GROUP = "placement"

OPTS: list[cfg.Opt] = [
    cfg.IntOpt(
        "max_candidates",
        default=10000,
        min=1,
        help="Most allocation candidates one GET /allocation_candidates returns when "
        "the request has no limit (OpenStack Placement returns all of them; a fleet of "
        "tens of thousands of hosts makes that answer slow and huge).",
    ),
]


def register(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(GROUP, OPTS)]
