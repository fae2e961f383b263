"""``[libvirt] slice_spec`` parsing: every bad entry is refused with a message naming it."""

from __future__ import annotations

import json
import pathlib

import pytest

from virtfleet.errors import ConfigError
from virtfleet.virt.libvirt.slices import load_tree, parse_specs

DOMAIN = "<domain type='kvm'><name>{{ name }}</name><uuid>{{ instance_uuid }}</uuid></domain>"


def line(name: str, rc: str = "CUSTOM_SLICE_1", parent: str | None = None, **extra: object) -> str:
    entry: dict[str, object] = {"name": name, "resource_class": rc, "template": DOMAIN, **extra}
    if parent is not None:
        entry["conflict_parent"] = parent
    return json.dumps(entry)


def test_a_valid_tree_parses_in_order() -> None:
    slices = parse_specs(
        [line("big", "CUSTOM_BIG"), line("a", parent="big"), line("b", parent="big")]
    )
    assert [(s.name, s.resource_class, s.conflict_parent) for s in slices] == [
        ("big", "CUSTOM_BIG", None),
        ("a", "CUSTOM_SLICE_1", "big"),
        ("b", "CUSTOM_SLICE_1", "big"),
    ]
    assert slices[0].template_origin == "inline"


def test_template_file_is_read_relative_to_the_base_dir(tmp_path: pathlib.Path) -> None:
    (tmp_path / "one.xml.j2").write_text(DOMAIN)
    entry = json.dumps({"name": "s", "resource_class": "CUSTOM_S", "template_file": "one.xml.j2"})
    (parsed,) = parse_specs([entry], tmp_path)
    assert parsed.template_text == DOMAIN
    assert parsed.template_origin == str(tmp_path / "one.xml.j2")


BAD_ENTRIES = [
    ("not json", "slice_spec entry 1: not a JSON object"),
    ("[1, 2]", "slice_spec entry 1: expected a JSON object, got list"),
    (json.dumps({"resource_class": "CUSTOM_X", "template": DOMAIN}), "slice_spec entry 1: name"),
    (json.dumps({"name": "bad name", "template": DOMAIN}), "slice_spec entry 1: name"),
    (line("s", typo=1), "slice_spec 's': unknown key 'typo'"),
    (line("s", rc="VCPU"), "slice_spec 's': resource_class must be CUSTOM_"),
    (line("s", rc="CUSTOM_lower"), "slice_spec 's': resource_class must be CUSTOM_"),
    (
        json.dumps({"name": "s", "resource_class": "CUSTOM_S"}),
        "slice_spec 's': give exactly one of template_file and template",
    ),
    (
        line("s", template_file="/x.j2"),
        "slice_spec 's': give exactly one of template_file and template",
    ),
    (
        json.dumps({"name": "s", "resource_class": "CUSTOM_S", "template_file": "/nope/s.xml.j2"}),
        "slice_spec 's': template_file '/nope/s.xml.j2' does not exist",
    ),
    (line("s", parent=7), "slice_spec 's': conflict_parent: expected a slice name"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("entry", "message"), BAD_ENTRIES)
def test_bad_entries_are_refused_naming_the_entry(entry: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_specs([entry])
    assert str(caught.value).startswith(message)


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(ConfigError, match="slice_spec 'a': duplicate slice name"):
        parse_specs([line("a"), line("a")])


def test_unknown_conflict_parent_is_refused() -> None:
    with pytest.raises(ConfigError, match="slice_spec 'a': unknown conflict_parent 'ghost'"):
        parse_specs([line("a", parent="ghost")])


def test_cyclic_conflict_parents_are_refused() -> None:
    with pytest.raises(ConfigError, match="slice_spec 'a': conflict_parent chain has a cycle"):
        parse_specs([line("a", parent="b"), line("b", parent="c"), line("c", parent="a")])


def test_a_slice_that_is_its_own_parent_is_a_cycle() -> None:
    with pytest.raises(ConfigError, match="cycle"):
        parse_specs([line("a", parent="a")])


BAD_TEMPLATES = [
    ("{% if %}", "slice_spec 's': template does not compile (line 1)"),
    ("<domain>{{ no_such_value }}</domain>", "slice_spec 's': template does not render"),
    ("<domain><name>x</domain>", "slice_spec 's': template does not produce well-formed XML"),
    ("<network/>", "slice_spec 's': template must produce a <domain>, produced <network>"),
    ("", "slice_spec 's': template does not produce well-formed XML"),
    ("<domain>{{ ''.__class__.__mro__ }}</domain>", "slice_spec 's': template does not render"),
    ("<domain>{{ 1 // 0 }}</domain>", "slice_spec 's': template does not render: ZeroDivision"),
]


@pytest.mark.parametrize(("template", "message"), BAD_TEMPLATES)
def test_templates_that_do_not_make_a_domain_are_refused(template: str, message: str) -> None:
    entry = json.dumps({"name": "s", "resource_class": "CUSTOM_S", "template": template})
    with pytest.raises(ConfigError) as caught:
        load_tree([entry], facts=None)
    assert str(caught.value).startswith(message)


def test_every_documented_context_value_can_be_used() -> None:
    names = [
        "name", "instance_uuid", "instance_name", "slice_name", "resource_class",
        "flavor.name", "flavor.vcpus", "flavor.memory_mb", "flavor.root_gb",
        "flavor.extra_specs", "image.id", "image.properties", "metadata",
        "image_path", "disk_path", "disk_format", "kernel_path", "ramdisk_path", "cmdline",
        "instance_dir", "console_log_path",
    ]  # fmt: skip
    body = "".join(f"<v>{{{{ {n} }}}}</v>" for n in names)
    entry = json.dumps(
        {"name": "s", "resource_class": "CUSTOM_S", "template": f"<domain>{body}</domain>"}
    )
    tree = load_tree([entry], facts=None)
    assert [s.name for s in tree.slices] == ["s"]
