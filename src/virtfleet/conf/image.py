"""[image]: the Image API's data store."""

from __future__ import annotations

from oslo_config import cfg

GROUP = "image"

TIB = 1 << 40

OPTS: list[cfg.Opt] = [
    cfg.IntOpt(
        "image_size_cap",
        default=TIB,
        min=1,
        max=2**62,
        help="Largest image data one upload may store, in bytes (as Glance's "
        "image_size_cap; default 1 TiB). A larger upload is refused with 413, before "
        "any data is read when the request says its size, else as soon as it passes "
        "the cap (what was written is removed and the image stays queued).",
    ),
    cfg.IntOpt(
        "project_storage_quota",
        default=0,
        min=0,
        max=2**62,
        help="Most image data, in bytes, the images owned by one project may hold "
        "together (as Glance's user_storage_quota); 0 means no limit. An upload that "
        "would pass it is refused with 413 naming the usage and the limit.",
    ),
]


def register(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(GROUP, OPTS)]
