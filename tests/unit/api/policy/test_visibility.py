"""Image visibility as Glance has it, without an HTTP server."""

from __future__ import annotations

import datetime

import pytest

from virtfleet.db.images import Image
from virtfleet.image.visibility import Viewer


def image(visibility: str, owner: str | None = "a") -> Image:
    now = datetime.datetime(2026, 1, 1)
    return Image(
        id="i", name="n", status="active", disk_format="raw", container_format="bare",
        size=None, checksum=None, os_hash_algo=None, os_hash_value=None,
        visibility=visibility, protected=False, min_disk=0, min_ram=0, owner=owner,
        created_at=now, updated_at=now,
    )  # fmt: skip


MEMBER_A, MEMBER_B, ADMIN = Viewer("a"), Viewer("b"), Viewer("x", is_admin=True)


@pytest.mark.parametrize(
    ("visibility", "b_sees", "b_lists", "b_lists_community"),
    [
        ("public", True, True, True),
        ("community", True, False, True),
        ("shared", False, False, False),
        ("private", False, False, False),
    ],
)
def test_another_project(
    visibility: str, b_sees: bool, b_lists: bool, b_lists_community: bool
) -> None:
    img = image(visibility)
    assert MEMBER_B.sees(img) is b_sees
    assert MEMBER_B.lists(img, None) is b_lists
    assert MEMBER_B.lists(img, "community") is b_lists_community
    assert not MEMBER_B.owns(img)


@pytest.mark.parametrize("visibility", ["public", "community", "shared", "private"])
def test_the_owner_and_an_admin_see_list_and_own(visibility: str) -> None:
    img = image(visibility)
    assert MEMBER_A.sees(img) and MEMBER_A.lists(img, None) and MEMBER_A.owns(img)
    assert ADMIN.sees(img) and ADMIN.owns(img)


def test_an_image_without_owner_is_everyones() -> None:
    assert MEMBER_B.owns(image("private", owner=None))
