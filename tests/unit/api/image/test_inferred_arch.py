"""An upload of an image that names no architecture: the Image API infers it from the
data (``architecture`` and where it was read), or logs why not and leaves it unset."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from support import image_bytes
from support.api_apps import Apps, Client

PATCH = "application/openstack-images-v2.1-json-patch"
INFERRED_FROM = "virtfleet_architecture_inferred_from"


def uploaded(c: Client, data: bytes, **properties: str) -> dict[str, Any]:
    reply = c.post("/v2/images", {"name": "img", "disk_format": "raw", **properties})
    assert reply.status == 201, reply.body
    image_id = reply.json["id"]
    put = c.request(
        "PUT", f"/v2/images/{image_id}/file", raw=data, content_type="application/octet-stream"
    )
    assert put.status == 204, put.body
    shown: dict[str, Any] = c.get(f"/v2/images/{image_id}").json
    return shown


def test_an_aarch64_kernel_gets_its_architecture_recorded_as_inferred(apps: Apps) -> None:
    image = uploaded(apps.image(), image_bytes.elf("aarch64"))
    assert (image["status"], image["architecture"], image[INFERRED_FROM]) == (
        "active",
        "aarch64",
        "elf",
    )


@pytest.mark.parametrize(
    "prop", ["hw_architecture", "hw_emulation_architecture", "architecture"], ids=str
)
def test_an_arch_the_image_names_is_left_alone(apps: Apps, prop: str) -> None:
    image = uploaded(apps.image(), image_bytes.elf("aarch64"), **{prop: "ppc64le"})
    assert image[prop] == "ppc64le"
    assert INFERRED_FROM not in image
    assert prop == "architecture" or "architecture" not in image


def test_garbage_data_leaves_the_arch_unset_with_a_log_line(
    apps: Apps, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="virtfleet.image.service"):
        image = uploaded(apps.image(), b"garbage " * 512)
    assert "architecture" not in image and INFERRED_FROM not in image
    lines = [r.getMessage() for r in caplog.records if r.name == "virtfleet.image.service"]
    assert lines == [
        f"Image {image['id']}: guest architecture not inferred from its data (no ELF, PE or "
        "Linux kernel header, and no EFI System Partition on a disk); boots use "
        "[scheduler] image_properties_default_architecture"
    ]


def test_architecture_is_validated_like_hw_architecture(apps: Apps) -> None:
    c = apps.image()
    bad = c.post("/v2/images", {"name": "img", "architecture": "vax"})
    assert bad.status == 400 and "architecture" in bad.body.decode()
    made = c.post("/v2/images", {"name": "img", "architecture": "arm64"})
    assert made.status == 201 and made.json["architecture"] == "aarch64"
