"""[devices]: mediated devices (vGPUs) the agent offers."""

from __future__ import annotations

from oslo_config import cfg

GROUP = "devices"

OPTS: list[cfg.Opt] = [
    cfg.ListOpt(
        "enabled_mdev_types",
        default=[],
        help="mdev types (e.g. nvidia-35) this host offers as VGPU. Per type, a "
        "[mdev_<type>] device_addresses option may limit it to some GPUs.",
    ),
    cfg.IntOpt(
        "mdev_claim_max_age",
        default=3600,
        min=60,
        help="Seconds after which an mdev claim of a live migration that is still "
        "held is considered stale and released (at agent start).",
    ),
]


def register(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(GROUP, OPTS)]
