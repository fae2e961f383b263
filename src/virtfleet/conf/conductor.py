"""[conductor]: membership of the control plane (several servers on one database)."""

from __future__ import annotations

from oslo_config import cfg

GROUP = "conductor"

OPTS: list[cfg.Opt] = [
    cfg.FloatOpt(
        "heartbeat_interval",
        default=2.0,
        min=0.1,
        help="Seconds between a server's heartbeats in the database (and its checks "
        "for work left by dead servers).",
    ),
    cfg.FloatOpt(
        "dead_after",
        default=20.0,
        min=1.0,
        help="A server whose last heartbeat is older than this many seconds is dead: "
        "the other servers take over its builds, deletes and live migrations. Keep it "
        "several heartbeat intervals long, and the servers' clocks in step (NTP).",
    ),
]


def register(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(GROUP, OPTS)]
