"""[database]: where state lives."""

from __future__ import annotations

import pathlib

from oslo_config import cfg
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from virtfleet.conf.check import OptionValueError

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


def check(conf: cfg.ConfigOpts) -> None:
    """The URL parses; a SQLite file's directory exists (OptionValueError)."""
    url = conf.database.connection
    if not url:
        return
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise OptionValueError(
            GROUP,
            "connection",
            f"expected an SQLAlchemy URL such as sqlite:////var/lib/virtfleet/virtfleet.sqlite "
            f"or postgresql+psycopg://user:password@host/virtfleet, got {url!r}",
        ) from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        directory = pathlib.Path(parsed.database).parent
        if not directory.is_dir():
            raise OptionValueError(
                GROUP,
                "connection",
                f"the SQLite file's directory {str(directory)!r} does not exist",
            )


def register(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(GROUP, OPTS)]
