"""openstacksdk (unpatched) on the Image API's import, tags and os_hidden, as a user's
script calls it: create_image with use_import (glance-direct) and with web-download,
the tag calls, hidden images, import info and stores. The Image app is served on
127.0.0.1 with cheroot; the web-download source is a web server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import pathlib

import openstack
import pytest

from support.api_apps import Apps
from support.image_source import DATA, serve_source
from support.openstack_cli import serve
from virtfleet.image.web_download import WebDownload

pytestmark = pytest.mark.slow


def test_sdk_imports_tags_and_hides_images(
    apps: Apps, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    apps.images.web = WebDownload(("127.0.0.1",), timeout=10)
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"\3" * 40000)
    with serve_source() as source, serve(apps, tmp_path) as cli:
        monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(cli.clouds_yaml))
        conn = openstack.connect(cloud="virtfleet")
        try:
            assert conn.image.get_import_info().import_methods["value"] == [
                "glance-direct",
                "web-download",
            ]
            assert [s.id for s in conn.image.stores()] == ["file"]
            # glance-direct: create, stage, import, then the SDK checks the checksum
            direct = conn.image.create_image(
                "sdk-direct",
                filename=str(disk),
                disk_format="raw",
                container_format="bare",
                use_import=True,
                wait=True,
            )
            shown = conn.image.get_image(direct.id)
            assert shown.status == "active" and shown.size == 40000
            assert shown.checksum == hashlib.md5(disk.read_bytes()).hexdigest()
            fetched = conn.image.create_image(
                "sdk-web",
                disk_format="raw",
                container_format="bare",
                use_import=True,  # without it the SDK uploads no data through /file
                import_method="web-download",
                uri=f"{source}/disk.img",
            )
            shown = conn.image.get_image(fetched.id)
            assert shown.status == "active" and shown.size == len(DATA)

            conn.image.add_tag(fetched, "blue")
            conn.image.add_tag(fetched, "green")
            conn.image.remove_tag(fetched, "blue")
            assert conn.image.get_image(fetched.id).tags == ["green"]
            with pytest.raises(openstack.exceptions.NotFoundException):
                conn.image.remove_tag(fetched, "blue")

            conn.image.update_image(fetched, is_hidden=True)
            assert {i.name for i in conn.image.images()} == {"sdk-direct"}
            assert {i.name for i in conn.image.images(is_hidden=True)} == {"sdk-web"}
            assert conn.image.get_image(fetched.id).is_hidden is True
        finally:
            conn.close()
