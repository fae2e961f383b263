"""[image]: the Image API's data store and its interoperable import."""

from __future__ import annotations

from oslo_config import cfg

GROUP = "image"

TIB = 1 << 40

OPTS: list[cfg.Opt] = [
    cfg.StrOpt(
        "store",
        default="file",
        choices=["file", "database"],
        help="Where the servers keep image data. 'file': one file per image under "
        "<data_dir>/images (several servers must share that directory, e.g. over NFS). "
        "'database': in chunks of 1 MiB in the [database] every server already uses "
        "(PostgreSQL in distributed mode), so servers need no shared disk. Data "
        "already stored is not moved when this changes.",
    ),
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
    cfg.ListOpt(
        "web_download_allowed_hosts",
        default=[],
        help="Host names or addresses the web-download import method may fetch image "
        "data from (compared with the URL's host as written; http and https only, "
        "no redirects followed). Empty (the default): web-download is not enabled and "
        "/v2/info/import lists glance-direct only. A URL to any other host is refused "
        "with 400, as Glance's import URI filtering does.",
    ),
    cfg.IntOpt(
        "web_download_timeout",
        default=60,
        min=1,
        max=3600,
        help="Seconds a web-download waits to connect to its URL and, after that, for "
        "each read of the data; past it the import fails and the image stays queued.",
    ),
]


def register(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(GROUP, OPTS)]
