"""[api]: the HTTP listener."""

from __future__ import annotations

from oslo_config import cfg

GROUP = "api"

OPTS: list[cfg.Opt] = [
    cfg.StrOpt(
        "listen",
        default="127.0.0.1:8774",
        help="HOST:PORT the HTTP listener binds to. It serves /compute/v2.1, /image and "
        "/placement on this one port.",
    ),
    cfg.IntOpt(
        "workers_threads",
        default=32,
        min=1,
        help="Threads serving HTTP requests concurrently.",
    ),
]


def register(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(GROUP, OPTS)]
