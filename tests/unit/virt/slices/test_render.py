"""Rendering a slice guest: virtfleet's name, uuid and metadata, and escaping of every
user-controlled value (server name, metadata) wherever the template prints it."""

from __future__ import annotations

import json

import pytest
from lxml import etree

from virtfleet import errors
from virtfleet.virt.libvirt.slices import SliceHost, load_tree
from virtfleet.virt.libvirt.slices.domain import slice_marker
from virtfleet.virt.libvirt.slices.tree import provider_uuid
from virtfleet.virt.types import GuestSpec

UUID = "6f1c0c39-8a63-4f0b-9a54-0c4b7a2a0001"
TEMPLATE = (
    "<domain type='kvm'><name>chosen-by-template</name><uuid>{{ instance_uuid }}</uuid>"
    "<title>{{ instance_name }}</title>"
    "<description note='{{ metadata.get('note', '') }}'>"
    "{{ metadata.get('note', '') }}</description>"
    "<vcpu cpuset='{{ 1 if slice_name == \"a\" else 2 }}'>{{ flavor.vcpus }}</vcpu>"
    "<devices/></domain>"
)
INJECTIONS = [
    "x</title><devices><hostdev type='pci'/></devices><title>",
    "q' evil='1",
    'q" evil="1',
    "]]><!--",
    "&amp;&lt;&#x3c;",
    "{{ 7 * 7 }}",
]


def host() -> SliceHost:
    lines = [
        json.dumps({"name": "top", "resource_class": "CUSTOM_TOP", "template": TEMPLATE}),
        json.dumps(
            {
                "name": "a",
                "resource_class": "CUSTOM_A",
                "template": TEMPLATE,
                "conflict_parent": "top",
            }
        ),
    ]
    return SliceHost("h1", load_tree(lines, facts=None))


def spec(name: str, note: str) -> GuestSpec:
    return GuestSpec(instance_uuid=UUID, name=name, vcpus=3, memory_mb=0, metadata={"note": note})


@pytest.mark.parametrize("crafted", INJECTIONS)
def test_user_text_is_text_wherever_the_template_prints_it(crafted: str) -> None:
    slices = host()
    chosen = slices.slice_for({provider_uuid("h1", "a"): {"CUSTOM_A": 1}})
    root = etree.fromstring(slices.domain_xml(spec(crafted, crafted), chosen, None).encode())
    tags = ["name", "uuid", "metadata", "title", "description", "vcpu", "devices"]
    assert [c.tag for c in root] == tags
    assert root.get("type") == "kvm"
    assert root.findtext("title") == crafted
    assert root.find("description").attrib == {"note": crafted}  # type: ignore[union-attr]
    assert root.findtext("description") == crafted
    assert len(root.find("devices")) == 0  # type: ignore[arg-type]
    assert root.find("vcpu").get("cpuset") == "1"  # type: ignore[union-attr]


def test_virtfleet_sets_name_uuid_and_records_the_slice() -> None:
    slices = host()
    allocation = {
        provider_uuid("h1", "top"): {"CUSTOM_TOP": 1},
        provider_uuid("h1", "a"): {"CUSTOM_A": 1},
    }
    chosen = slices.slice_for(allocation)
    assert chosen.name == "top"
    xml = slices.domain_xml(spec("vm", "n"), chosen, None)
    root = etree.fromstring(xml.encode())
    assert root.findtext("name") == f"vf-{UUID}"
    assert root.findtext("uuid") == UUID
    assert root.findtext("vcpu") == "3"
    assert root.find("vcpu").get("cpuset") == "2"  # type: ignore[union-attr]
    assert slice_marker(xml) == ("top", "a")


def test_an_allocation_without_a_slice_of_this_host_is_refused() -> None:
    with pytest.raises(errors.InvalidInput, match="host h1 offers only slices"):
        host().slice_for({"some-other-provider": {"VCPU": 1}})


def test_an_allocation_of_two_unrelated_slices_is_refused() -> None:
    lines = [
        json.dumps({"name": n, "resource_class": "CUSTOM_X", "template": "<domain/>"}) for n in "bc"
    ]
    slices = SliceHost("h1", load_tree(lines, facts=None))
    both = {provider_uuid("h1", n): {"CUSTOM_X": 1} for n in "bc"}
    with pytest.raises(errors.InvalidInput, match="allocation takes 2 unrelated slices"):
        slices.slice_for(both)
