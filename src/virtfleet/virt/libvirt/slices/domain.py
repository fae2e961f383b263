"""A rendered slice template -> the domain virtfleet defines.

virtfleet sets ``<name>`` (``vf-<uuid>``) and ``<uuid>`` itself, whatever the template
wrote, and records in ``<metadata>`` who the guest is (the same ``vf:instance`` element
built guests carry, so destroy/console find its files) and which slice it runs in.
"""

from __future__ import annotations

from lxml import etree

from virtfleet.virt.libvirt import config
from virtfleet.virt.libvirt.guest import domain_name
from virtfleet.virt.libvirt.slices.spec import Slice
from virtfleet.virt.types import GuestSpec

SLICE_NS = "http://virtfleet.dev/xmlns/slice/1.0"
SLICE_TAG = f"{{{SLICE_NS}}}slice"


def finish_domain(domain: etree._Element, spec: GuestSpec, chosen: Slice, subtree: str) -> str:
    """Set name, uuid and metadata (the slice and the ``subtree`` of slice names its
    claim holds) on the rendered ``domain``; returns the XML text."""
    _set_text(domain, "name", domain_name(spec.instance_uuid), index=0)
    _set_text(domain, "uuid", spec.instance_uuid, index=1)
    metadata = domain.find("metadata")
    if metadata is None:
        metadata = etree.Element("metadata")
        domain.insert(2, metadata)
    for old in [
        *metadata.findall(f"{{{config.METADATA_NS}}}instance"),
        *metadata.findall(SLICE_TAG),
    ]:
        metadata.remove(old)
    metadata.append(_instance_metadata(spec).to_element())
    marker = etree.SubElement(metadata, SLICE_TAG, nsmap={"vfs": SLICE_NS})
    marker.set("name", chosen.name)
    marker.set("resource_class", chosen.resource_class)
    marker.set("subtree", subtree)
    return etree.tostring(domain, encoding="unicode")


def slice_marker(domain_xml: str) -> tuple[str, str] | None:
    """(slice name, subtree) a defined domain records (None: not a slice guest)."""
    root = etree.fromstring(domain_xml.encode("utf-8"))
    marker = root.find(f"metadata/{SLICE_TAG}")
    if marker is None:
        return None
    return marker.get("name", ""), marker.get("subtree", "")


def _set_text(domain: etree._Element, tag: str, value: str, index: int) -> None:
    element = domain.find(tag)
    if element is None:
        element = etree.Element(tag)
        domain.insert(index, element)
    for child in list(element):
        element.remove(child)
    element.text = value


def _instance_metadata(spec: GuestSpec) -> config.InstanceMetadata:
    return config.InstanceMetadata(
        uuid=spec.instance_uuid,
        name=spec.name,
        flavor=spec.flavor_name or None,
        image=spec.image_id or None,
        instance_dir=spec.instance_dir,
        console_log=spec.console_log_path,
        items=[config.MetaItem(key=k, value=v) for k, v in sorted(spec.metadata.items())],
    )
