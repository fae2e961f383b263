from __future__ import annotations

import pathlib

import pytest

from support.api_apps import Apps, make_apps


@pytest.fixture
def apps(tmp_path: pathlib.Path) -> Apps:
    return make_apps(tmp_path)


@pytest.fixture
def world(apps: Apps) -> Apps:
    """A flavor 'small' (id f1), an active image 'img' and a queued one 'empty'."""
    c = apps.compute()
    c.post(
        "/v2.1/flavors",
        {"flavor": {"name": "small", "id": "f1", "ram": 1024, "vcpus": 2, "disk": 1}},
    )
    i = apps.image()
    img = i.post(
        "/v2/images",
        {
            "id": "11111111-1111-1111-1111-111111111111",
            "name": "img",
            "disk_format": "raw",
            "container_format": "bare",
            "hw_architecture": "x86_64",
        },
    )
    assert img.status == 201, img.body
    i.request(
        "PUT",
        "/v2/images/11111111-1111-1111-1111-111111111111/file",
        raw=b"x" * 100,
        content_type="application/octet-stream",
    )
    i.post("/v2/images", {"id": "22222222-2222-2222-2222-222222222222", "name": "empty"})
    return apps
