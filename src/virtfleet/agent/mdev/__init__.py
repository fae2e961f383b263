"""Mediated devices (vGPUs) on the agent: GPU providers, mdevs for guests, and the
mdev part of live migration.

- :mod:`.naming` — trait per mdev type, GPU provider names and uuids.
- :mod:`.config` — ``[devices] enabled_mdev_types`` and ``[mdev_<type>] device_addresses``.
- :mod:`.providers` — one child provider per physical GPU with ``VGPU`` inventory.
- :mod:`.assign` — mdevs created or reused for a guest's ``VGPU`` allocation.
- :mod:`.live_migration` — version gates, type checks, destination mapping, XML rewrite.
"""
