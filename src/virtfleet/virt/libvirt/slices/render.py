"""Rendering slice templates: sandboxed Jinja2, strict undefined, every value escaped,
bounded in time and output size (:mod:`~virtfleet.virt.libvirt.slices.bounded`).

The template context (documented for operators in ``docs/slices.md``):

==================  ==============================================================
``name``            libvirt domain name virtfleet uses (``vf-<uuid>``)
``instance_uuid``   the server's uuid (also the domain uuid)
``instance_name``   the server's display name (user text: escaped)
``slice_name``      the slice the guest was given, e.g. ``slice-1-3``
``resource_class``  that slice's resource class
``flavor``          ``name``, ``vcpus``, ``memory_mb``, ``root_gb``, ``extra_specs``
``image``           ``id``, ``properties`` (mapping)
``metadata``        the server's metadata (mapping; user text: escaped)
``image_path``      the image file (None without an image)
``disk_path``       the guest's own qcow2 overlay on the image (None without an image)
``disk_format``     format of ``disk_path`` (``qcow2``)
``kernel_path``     kernel for direct boot, ``ramdisk_path``, ``cmdline`` (or None)
``instance_dir``    the guest's directory; ``console_log_path`` a file in it
==================  ==============================================================

Every value is XML-escaped when it is printed (autoescape), so no value can add or
close an element or attribute; whatever the template writes for ``<name>`` and
``<uuid>`` is replaced by virtfleet afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import jinja2
from lxml import etree

from virtfleet.errors import ConfigError
from virtfleet.virt.libvirt.slices.bounded import (
    BoundedSandbox,
    TemplateBoundError,
    render_bounded,
)

SAMPLE_UUID = "00000000-0000-4000-8000-000000000000"


@dataclass(frozen=True)
class RenderContext:
    """What a template sees (see the module docstring)."""

    name: str
    instance_uuid: str
    instance_name: str
    slice_name: str
    resource_class: str
    flavor: Mapping[str, Any] = field(default_factory=dict)
    image: Mapping[str, Any] = field(default_factory=dict)
    metadata: Mapping[str, str] = field(default_factory=dict)
    image_path: str | None = None
    disk_path: str | None = None
    disk_format: str = "qcow2"
    kernel_path: str | None = None
    ramdisk_path: str | None = None
    cmdline: str | None = None
    instance_dir: str | None = None
    console_log_path: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sample_context(slice_name: str, resource_class: str) -> RenderContext:
    """The context a template is checked with at agent start: every optional value set,
    so every branch that uses one renders."""
    return RenderContext(
        name=f"vf-{SAMPLE_UUID}",
        instance_uuid=SAMPLE_UUID,
        instance_name="validation",
        slice_name=slice_name,
        resource_class=resource_class,
        flavor={
            "name": "validation",
            "vcpus": 1,
            "memory_mb": 1024,
            "root_gb": 0,
            "extra_specs": {f"resources:{resource_class}": "1"},
        },
        image={"id": SAMPLE_UUID, "properties": {}},
        image_path="/var/lib/virtfleet/images/validation",
        disk_path=f"/var/lib/virtfleet/instances/{SAMPLE_UUID}/disk",
        kernel_path="/var/lib/virtfleet/images/validation-kernel",
        ramdisk_path="/var/lib/virtfleet/images/validation-ramdisk",
        cmdline="console=ttyS0",
        instance_dir=f"/var/lib/virtfleet/instances/{SAMPLE_UUID}",
        console_log_path=f"/var/lib/virtfleet/instances/{SAMPLE_UUID}/console.log",
    )


_ENV = BoundedSandbox(
    undefined=jinja2.StrictUndefined,
    autoescape=True,
    keep_trailing_newline=True,
)

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False)


def render(label: str, template_text: str, context: RenderContext) -> etree._Element:
    """Render ``template_text`` and parse it; the root must be ``<domain>``.

    ConfigError naming ``label`` when it does not compile, render, parse or produce a
    domain."""
    try:
        template = _ENV.from_string(template_text)
        text = render_bounded(template.generate(context.as_dict()))
    except TemplateBoundError as exc:
        raise ConfigError(f"{label}: template does not render: {exc}") from None
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(
            f"{label}: template does not compile (line {exc.lineno}): {exc.message}"
        ) from None
    except jinja2.TemplateError as exc:  # undefined variable, sandbox violation...
        raise ConfigError(f"{label}: template does not render: {exc}") from None
    except Exception as exc:  # any error a template expression raises
        raise ConfigError(
            f"{label}: template does not render: {type(exc).__name__}: {exc}"
        ) from None
    try:
        root = etree.fromstring(text.strip().encode("utf-8"), _PARSER)
    except etree.XMLSyntaxError as exc:
        raise ConfigError(f"{label}: template does not produce well-formed XML: {exc}") from None
    if root.tag != "domain":
        raise ConfigError(f"{label}: template must produce a <domain>, produced <{root.tag}>")
    return root
