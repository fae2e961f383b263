"""[glance] (where an agent fetches image data: the Image API, as Nova's compute
reaches Glance) and [image_cache] (the agent's cache of image data per host)."""

from __future__ import annotations

from keystoneauth1 import loading
from oslo_config import cfg

GLANCE = "glance"
CACHE = "image_cache"

GLANCE_OPTS: list[cfg.Opt] = [
    cfg.ListOpt(
        "api_servers",
        default=[],
        help="Image API endpoints agents fetch image data from, e.g. "
        "http://controller:8774/image (the servers' [api] listen address plus /image); "
        "tried in turn when one does not answer. Empty: the image endpoint of the "
        "Keystone service catalog, found with the service user below.",
    ),
    cfg.IntOpt(
        "num_retries",
        default=2,
        min=0,
        max=100,
        help="How many more Image API endpoints (or the same again) a download tries "
        "after one that does not answer or answers 5xx.",
    ),
    cfg.ListOpt(
        "valid_interfaces",
        default=["internal", "public"],
        help="Catalog interfaces of the image endpoint to use, in order of preference.",
    ),
]

CACHE_OPTS: list[cfg.Opt] = [
    cfg.StrOpt(
        "subdirectory_name",
        default="_base",
        help="Directory under the instances path ([libvirt] instances_path, else "
        "<data_dir>/instances) where an agent keeps the image data its guests' disks "
        "are made from (one verified file per image).",
    ),
    cfg.IntOpt(
        "max_size_mb",
        default=20480,
        min=0,
        help="Most MiB of image data the cache keeps; past it the least recently used "
        "images no guest uses are removed. An image larger than this fails the boot "
        "on this host. 0: no cap.",
    ),
    cfg.BoolOpt(
        "remove_unused_base_images",
        default=True,
        help="Whether the periodic cleanup removes cached images that no guest on the "
        "host uses (once they are older than the minimum age below).",
    ),
    cfg.IntOpt(
        "remove_unused_original_minimum_age_seconds",
        default=86400,
        min=0,
        help="Seconds since its last use before an unused cached image is removed.",
    ),
    cfg.IntOpt(
        "manager_interval",
        default=2400,
        min=0,
        help="Seconds between cleanups of the image cache; 0 disables them.",
    ),
]


def register(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(GLANCE_OPTS, group=GLANCE)
    loading.register_session_conf_options(conf, GLANCE)
    loading.register_auth_conf_options(conf, GLANCE)
    conf.register_opts(CACHE_OPTS, group=CACHE)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    """The service user's options too (the ``password`` plugin's), as Nova lists them."""
    keystone = [
        *loading.get_session_conf_options(),
        *loading.get_auth_common_conf_options(),
        *loading.get_auth_plugin_conf_options("password"),
    ]
    return [(GLANCE, [*GLANCE_OPTS, *keystone]), (CACHE, CACHE_OPTS)]
