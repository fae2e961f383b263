"""Configuration: one oslo.config file, options grouped as operators expect.

Each group lives in its own module with a ``register(conf)`` and a ``list_opts()``;
:func:`make_conf` builds a private :class:`~oslo_config.cfg.ConfigOpts` with all of them.
"""

from __future__ import annotations

from collections.abc import Sequence

from oslo_config import cfg

from virtfleet import errors
from virtfleet.conf import (
    api,
    compute,
    database,
    devices,
    image,
    libvirt,
    placement,
    rpc,
    scheduler,
)

_GROUPS = (api, compute, database, devices, image, libvirt, placement, rpc, scheduler)


def make_conf(
    config_files: Sequence[str] = (), args: Sequence[str] = (), **overrides: object
) -> cfg.ConfigOpts:
    """Return a new ConfigOpts with every virtfleet option registered and parsed.

    ``overrides`` are ``group__option=value`` pairs (``DEFAULT`` options by plain name),
    which is handy for tests and for command-line flags.
    """
    conf = cfg.ConfigOpts()
    for group in _GROUPS:
        group.register(conf)
    try:
        conf(list(args), project="virtfleet", default_config_files=list(config_files))
        for key, value in overrides.items():
            group_name, _, name = key.rpartition("__")
            conf.set_override(name, value, group=group_name or None)
    except (cfg.Error, ValueError) as exc:
        raise errors.ConfigError(f"configuration: {exc}") from None
    _check_values(conf)
    return conf


def _check_values(conf: cfg.ConfigOpts) -> None:
    """Read every option once, so a bad value fails at start, naming file and option."""
    for group_name, opts in list_opts():
        group = conf[group_name] if group_name else conf
        for opt in opts:
            try:
                getattr(group, opt.dest)
            except (cfg.Error, ValueError) as exc:
                where = f"[{group_name or 'DEFAULT'}] {opt.dest}"
                raise errors.ConfigError(f"configuration: {where}: {exc}") from None


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    """Every option by group, for the sample config generator."""
    result: list[tuple[str | None, list[cfg.Opt]]] = []
    for group in _GROUPS:
        result.extend(group.list_opts())
    return result
