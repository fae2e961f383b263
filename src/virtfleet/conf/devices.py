"""[devices]: mediated devices (vGPUs) the agent offers."""

from __future__ import annotations

from oslo_config import cfg

GROUP = "devices"
#: Per mdev type, an optional ``[mdev_<type>]`` group (its name depends on the type).
TYPE_GROUP_PREFIX = "mdev_"

DEVICE_ADDRESSES = cfg.ListOpt(
    "device_addresses",
    default=[],
    help="PCI addresses (dddd:bb:ss.f) of the GPUs that offer this mdev type; empty: "
    "every GPU offering it that no other enabled type names.",
)

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


def type_group(type_id: str) -> str:
    """The ``[mdev_<type>]`` group of one mdev type."""
    return f"{TYPE_GROUP_PREFIX}{type_id}"


def prefixed_groups() -> dict[str, list[cfg.Opt]]:
    """Groups named by a prefix plus a value: prefix -> their options."""
    return {TYPE_GROUP_PREFIX: [DEVICE_ADDRESSES]}


def register(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(GROUP, OPTS)]
