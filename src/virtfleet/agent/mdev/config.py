"""Which mdev types this agent offers, and on which GPUs.

``[devices] enabled_mdev_types`` lists the types; for each, an optional
``[mdev_<type>] device_addresses`` (PCI addresses) limits it to some GPUs. Those groups
are registered here, on demand, because their names depend on the types.
"""

from __future__ import annotations

from collections.abc import Sequence

from oslo_config import cfg

from virtfleet import errors
from virtfleet.conf.devices import DEVICE_ADDRESSES, type_group

__all__ = ["DEVICE_ADDRESSES", "device_addresses", "enabled_types", "type_for_gpu", "type_group"]


def enabled_types(conf: cfg.ConfigOpts) -> list[str]:
    """``[devices] enabled_mdev_types``, in the configured order, without repeats."""
    return list(dict.fromkeys(conf.devices.enabled_mdev_types or []))


def device_addresses(conf: cfg.ConfigOpts, type_id: str) -> list[str]:
    """``[mdev_<type>] device_addresses`` (the group is registered when first asked)."""
    group = type_group(type_id)
    conf.register_opt(DEVICE_ADDRESSES, group=group)
    return [a.strip().lower() for a in getattr(conf, group).device_addresses]


def type_for_gpu(conf: cfg.ConfigOpts, pci_address: str, offered: Sequence[str]) -> str | None:
    """The enabled type a GPU serves (one type per physical GPU), or None.

    A type whose ``device_addresses`` name the GPU wins; otherwise the first enabled
    type the GPU offers that lists no addresses. ConfigError when two types claim it."""
    address = pci_address.lower()
    named = [t for t in enabled_types(conf) if address in device_addresses(conf, t)]
    if len(named) > 1:
        raise errors.ConfigError(
            f"GPU {pci_address} is named by device_addresses of several mdev types: "
            f"{', '.join(named)} (a GPU serves one type)"
        )
    if named:
        if named[0] not in offered:
            raise errors.ConfigError(
                f"[{type_group(named[0])}] device_addresses names GPU {pci_address}, which "
                f"does not offer mdev type {named[0]} (it offers: {', '.join(offered) or 'none'})"
            )
        return named[0]
    return next(
        (t for t in enabled_types(conf) if t in offered and not device_addresses(conf, t)), None
    )
