"""Slices: operator-written domain templates in a conflict tree.

- :mod:`.spec` — ``[libvirt] slice_spec`` lines -> validated :class:`Slice` entries.
- :mod:`.render` — sandboxed Jinja2 rendering and the documented template context.
- :mod:`.holdings` — what a rendered slice pins (CPUs, NUMA cells, PCI devices) and the
  host facts it is checked against.
- :mod:`.tree` — the conflict tree: ancestry, overlap rule, providers, printing.
- :mod:`.domain` — virtfleet's name, uuid and metadata on a rendered domain.
- :mod:`.host` — a host's slices loaded and checked (agent start and
  ``virtfleet slices validate``), and the XML of a slice guest.
"""

from __future__ import annotations

from virtfleet.virt.libvirt.slices.holdings import Holdings, HostFacts, host_facts
from virtfleet.virt.libvirt.slices.host import SliceHost, check_in_use, load_tree
from virtfleet.virt.libvirt.slices.render import RenderContext, render
from virtfleet.virt.libvirt.slices.spec import Slice, parse_specs
from virtfleet.virt.libvirt.slices.tree import SliceProvider, SliceTree, provider_uuid

__all__ = [
    "Holdings",
    "HostFacts",
    "RenderContext",
    "Slice",
    "SliceHost",
    "SliceProvider",
    "SliceTree",
    "check_in_use",
    "host_facts",
    "load_tree",
    "parse_specs",
    "provider_uuid",
    "render",
]
