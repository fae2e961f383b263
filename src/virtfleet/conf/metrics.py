"""[metrics]: where a process serves its Prometheus metrics to scrapers without tokens."""

from __future__ import annotations

from oslo_config import cfg

from virtfleet.conf.api import listen_address
from virtfleet.conf.check import OptionValueError

GROUP = "metrics"

OPTS: list[cfg.Opt] = [
    cfg.StrOpt(
        "listen",
        default=None,
        help="HOST:PORT of a separate listener serving this process's Prometheus metrics "
        "at /metrics WITHOUT authentication, for scrapers that hold no Keystone token "
        "(e.g. 192.0.2.10:9464). Bind it where only the monitoring network reaches it. "
        "Unset (the default): on a control server the metrics are only at /metrics of "
        "the API listener, behind a token and the virtfleet:metrics policy rule; an "
        "agent serves none.",
    ),
]


def check(conf: cfg.ConfigOpts) -> None:
    """``[metrics] listen`` must be HOST:PORT when set."""
    if conf.metrics.listen:
        try:
            listen_address(conf.metrics.listen)
        except ValueError as exc:
            raise OptionValueError(GROUP, "listen", str(exc)) from None


def register(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(GROUP, OPTS)]
