"""A host's slices, loaded and checked: what ``virtfleet slices validate`` and the agent
at start run, the providers the agent reports, and the XML of a slice guest.

:func:`load_tree` parses the entries, renders every template (it must produce a
``<domain>``), checks what each names against the host and that slices which can run
side by side share nothing. :func:`check_in_use` refuses a configuration that would
drop or reshape a slice a running guest holds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from oslo_config import cfg

from virtfleet import errors
from virtfleet.virt.hypervisor import Connection
from virtfleet.virt.libvirt.slices import domain as slice_domain
from virtfleet.virt.libvirt.slices.holdings import (
    HostFacts,
    check_on_host,
    holdings_of,
    host_facts,
)
from virtfleet.virt.libvirt.slices.render import RenderContext, render, sample_context
from virtfleet.virt.libvirt.slices.spec import Slice, parse_specs
from virtfleet.virt.libvirt.slices.tree import SliceProvider, SliceTree, slice_of_allocation
from virtfleet.virt.types import GuestSpec, HostInfo


class SliceDriver(Protocol):
    """What slices need of :class:`~virtfleet.virt.libvirt.driver.LibvirtDriver`."""

    @property
    def connection(self) -> Connection: ...
    def host_info(self) -> HostInfo: ...
    def list_instance_uuids(self) -> list[str]: ...
    def get_domain_xml(self, instance_uuid: str) -> str: ...
    def spawn_domain(self, spec: GuestSpec, make_xml: Callable[[str | None], str]) -> None: ...


def config_base_dir(conf: cfg.ConfigOpts) -> Path | None:
    """Relative ``template_file`` paths are relative to the first configuration file."""
    files = list(conf.config_file or ())
    return Path(files[0]).resolve().parent if files else None


def load_tree(
    lines: Sequence[str], facts: HostFacts | None, base_dir: Path | None = None
) -> SliceTree:
    """Every check of the configuration (``facts`` None: skip the host checks)."""
    slices = parse_specs(lines, base_dir)
    holdings = {}
    for entry in slices:
        label = f"slice_spec {entry.name!r}"
        rendered = render(
            label, entry.template_text, sample_context(entry.name, entry.resource_class)
        )
        held = holdings_of(label, rendered)
        if facts is not None:
            check_on_host(label, held, facts)
        holdings[entry.name] = held
    tree = SliceTree(slices, holdings)
    tree.check_overlaps()
    return tree


def slices_in_use(driver: SliceDriver) -> dict[str, tuple[str, str]]:
    """instance uuid -> (slice name, recorded subtree) of every slice guest here."""
    used: dict[str, tuple[str, str]] = {}
    for uuid in driver.list_instance_uuids():
        try:
            xml = driver.get_domain_xml(uuid)
        except errors.NotFound:
            continue
        marker = slice_domain.slice_marker(xml)
        if marker is not None:
            used[uuid] = marker
    return used


def check_in_use(tree: SliceTree, in_use: Mapping[str, tuple[str, str]]) -> None:
    """A slice a guest runs in must stay, with its resource class and the same slices
    below it (its claim holds them); ConfigError naming slice and guest otherwise."""
    by_name = tree.by_name
    for uuid, (name, subtree) in sorted(in_use.items()):
        entry = by_name.get(name)
        if entry is None:
            raise errors.ConfigError(
                f"slice_spec: slice {name!r} is in use by instance {uuid}; it cannot be "
                "removed until that guest is deleted"
            )
        if " ".join(sorted(tree.descendants(name))) != subtree:
            raise errors.ConfigError(
                f"slice_spec {name!r}: in use by instance {uuid}; the slices below it "
                f"cannot change until that guest is deleted (were: {subtree or 'none'})"
            )


@dataclass(frozen=True)
class SliceHost:
    """The validated slices of the host ``host`` (empty: the host has none)."""

    host: str
    tree: SliceTree

    def __bool__(self) -> bool:
        return bool(self.tree)

    @classmethod
    def load(cls, conf: cfg.ConfigOpts, host: str, driver: SliceDriver) -> SliceHost:
        """Load ``[libvirt] slice_spec`` and run every check, including against the
        guests already running here. ConfigError (naming the entry) stops the agent."""
        lines = list(conf.libvirt.slice_spec)
        if not lines:
            return cls(host, SliceTree(()))
        facts = host_facts(driver.connection, driver.host_info())
        tree = load_tree(lines, facts, config_base_dir(conf))
        check_in_use(tree, slices_in_use(driver))
        return cls(host, tree)

    def providers(self) -> list[SliceProvider]:
        """The nested providers the host reports (one per slice)."""
        return list(self.tree.providers())

    def slice_for(self, allocations: Mapping[str, Mapping[str, int]] | None) -> Slice:
        """The slice an allocation gives a guest; InvalidInput when it names none."""
        found = slice_of_allocation(self.tree, self.host, allocations or {})
        if found is None:
            raise errors.InvalidInput(
                f"host {self.host} offers only slices, and the guest's allocation takes "
                "none of them"
            )
        return found

    def domain_xml(self, spec: GuestSpec, chosen: Slice, disk_path: str | None) -> str:
        """The chosen slice's template rendered for ``spec``, with virtfleet's name,
        uuid and metadata."""
        context = RenderContext(
            name=f"vf-{spec.instance_uuid}",
            instance_uuid=spec.instance_uuid,
            instance_name=spec.name,
            slice_name=chosen.name,
            resource_class=chosen.resource_class,
            flavor={
                "name": spec.flavor_name,
                "vcpus": spec.vcpus,
                "memory_mb": spec.memory_mb,
                "root_gb": spec.root_gb,
                "extra_specs": dict(spec.extra_specs),
            },
            image={"id": spec.image_id, "properties": dict(spec.image_properties)},
            metadata=dict(spec.metadata),
            image_path=spec.image_path,
            disk_path=disk_path,
            kernel_path=spec.kernel_path,
            ramdisk_path=spec.ramdisk_path,
            cmdline=spec.cmdline,
            instance_dir=spec.instance_dir,
            console_log_path=spec.console_log_path,
        )
        label = f"slice {chosen.name!r}"
        try:
            rendered = render(label, chosen.template_text, context)
        except errors.ConfigError as exc:
            raise errors.InvalidInput(str(exc)) from None
        subtree = " ".join(sorted(self.tree.descendants(chosen.name)))
        return slice_domain.finish_domain(rendered, spec, chosen, subtree)

    def spawn(
        self,
        driver: SliceDriver,
        spec: GuestSpec,
        allocations: Mapping[str, Mapping[str, int]] | None,
    ) -> None:
        """Define and start ``spec`` as the rendered template of the slice its
        ``allocations`` give it."""
        chosen = self.slice_for(allocations)
        driver.spawn_domain(spec, lambda disk_path: self.domain_xml(spec, chosen, disk_path))
