"""[DEFAULT] RPC options and [upgrade_levels]."""

from __future__ import annotations

from oslo_config import cfg

OPTS: list[cfg.Opt] = [
    cfg.StrOpt(
        "transport_url",
        default="local://",
        help="RPC transport between server and agents. 'local://' dispatches in-process "
        "(embedded mode; objects are still serialised as on the wire); 'rabbit://...' "
        "or 'fake://' go through oslo.messaging.",
    ),
    cfg.IntOpt("rpc_response_timeout", default=60, min=1, help="Seconds to wait for an RPC reply."),
]

UPGRADE_OPTS: list[cfg.Opt] = [
    cfg.StrOpt(
        "compute",
        default=None,
        help="Pin the RPC object versions sent to agents to those of this release or "
        "version string (e.g. '1.0'), during rolling upgrades.",
    ),
]


def register(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS)
    conf.register_opts(UPGRADE_OPTS, group="upgrade_levels")


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(None, OPTS), ("upgrade_levels", UPGRADE_OPTS)]
