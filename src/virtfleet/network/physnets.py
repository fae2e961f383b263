"""``[network] physical_networks``: ``NAME:BRIDGE_OR_INTERFACE`` pairs, checked."""

from __future__ import annotations

import re
from collections.abc import Iterable

from virtfleet import errors

NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
DEVICE = re.compile(r"[A-Za-z0-9_.-]{1,15}")  # a Linux interface name (IFNAMSIZ - 1)


def parse_physical_networks(entries: Iterable[str]) -> dict[str, str]:
    """Physical network name -> host bridge or interface; ConfigError naming the bad
    entry (no colon, bad name, bad device name, a name given twice)."""
    mapping: dict[str, str] = {}
    for entry in entries:
        name, colon, device = entry.strip().partition(":")
        if not colon:
            raise errors.ConfigError(
                f"[network] physical_networks: {entry!r} is not NAME:BRIDGE_OR_INTERFACE."
            )
        if not NAME.fullmatch(name):
            raise errors.ConfigError(
                f"[network] physical_networks: bad name {name!r} in {entry!r} "
                "(letters, digits, '_', '.', '-'; at most 64)."
            )
        if not DEVICE.fullmatch(device):
            raise errors.ConfigError(
                f"[network] physical_networks: {device!r} in {entry!r} is not a Linux "
                "interface name (letters, digits, '_', '.', '-'; at most 15)."
            )
        if name in mapping:
            raise errors.ConfigError(f"[network] physical_networks: {name!r} is given twice.")
        mapping[name] = device
    return mapping
