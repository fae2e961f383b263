"""[database]: where state lives."""

from __future__ import annotations

from oslo_config import cfg

GROUP = "database"

OPTS: list[cfg.Opt] = [
    cfg.StrOpt(
        "connection",
        default="",
        help="SQLAlchemy URL of the database. Empty means a SQLite file "
        "'virtfleet.sqlite' in the data directory. Use PostgreSQL "
        "(postgresql+psycopg://...) when several servers share one database.",
    ),
]


def register(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(GROUP, OPTS)]
