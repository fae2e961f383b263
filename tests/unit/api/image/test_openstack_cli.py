"""The real ``openstack`` CLI on the Image API's import, tags and os_hidden (cheroot on
127.0.0.1; the web-download source is a web server on 127.0.0.1 the test starts, the
only host ``[image] web_download_allowed_hosts`` names here)."""

from __future__ import annotations

import hashlib
import pathlib

import pytest

from support.api_apps import Apps
from support.image_source import DATA, serve_source
from support.openstack_cli import serve
from virtfleet.image.web_download import WebDownload

pytestmark = pytest.mark.slow

RAW = {"disk_format": "raw", "container_format": "bare"}


def test_import_tags_and_hidden_through_the_cli(apps: Apps, tmp_path: pathlib.Path) -> None:
    apps.images.web = WebDownload(("127.0.0.1",), timeout=10)
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"\2" * 65536)
    # Images without data are created through the API: the CLI in a session (stdin not
    # a terminal) would upload its standard input as their data.
    c = apps.image()
    for name in ("staged", "fetched", "elsewhere"):
        assert c.post("/v2/images", {"name": name, **RAW}).status == 201
    with serve_source() as source, serve(apps, tmp_path) as cli:
        outputs, stderr = cli.session(
            "image import info -f json",
            "image stores list -f json",
            "image create --disk-format raw --container-format bare --import"
            f" --file {disk} direct -f json",
            f"image stage --file {disk} staged",
            "image import staged -f json",
            f"image import --method web-download --uri {source}/disk.img fetched -f json",
            "image set --tag blue --tag green fetched",
            "image unset --tag blue fetched",
            "image set --hidden staged",
            "image list -f json",
            "image list --hidden -f json",
            "image show direct -f json",
            "image show staged -f json",
            "image show fetched -f json",
        )
        assert len(outputs) == 10, stderr
        info, stores, *_created, listed, hidden, direct, staged, fetched = outputs
        assert info["import-methods"] == ["glance-direct", "web-download"]
        assert [(s["ID"], s["Default"]) for s in stores] == [("file", True)]
        assert direct["status"] == "active" and direct["size"] == 65536
        assert direct["checksum"] == hashlib.md5(disk.read_bytes()).hexdigest()
        assert staged["status"] == "active" and staged["properties"]["os_hidden"] is True
        assert fetched["status"] == "active" and fetched["size"] == len(DATA)
        assert fetched["checksum"] == hashlib.md5(DATA).hexdigest()
        assert fetched["tags"] == ["green"]
        assert sorted(i["Name"] for i in listed) == ["direct", "elsewhere", "fetched"]
        assert [i["Name"] for i in hidden] == ["staged"]
        stages = [line for line in cli.log if line.startswith("PUT ") and line.endswith("/stage")]
        assert len(stages) == 2, cli.log  # --import --file and image stage
        imports = [line for line in cli.log if line.startswith("POST ") and "/import" in line]
        assert len(imports) == 3, cli.log

        # The CLI (10.5) does not look at the import call's answer; the image says it.
        cli.run(
            "image", "import", "--method", "web-download", "--uri", "http://192.0.2.1/x.img",
            "elsewhere",
        )  # fmt: skip
        assert cli.log[-1].startswith("POST ") and cli.log[-1].endswith("/import")
        assert cli.json("image", "show", "elsewhere")["status"] == "queued"
        missing = cli.run("image", "unset", "--tag", "blue", "fetched", check=False)
        assert missing.returncode != 0
        assert "tag unset failed, 'blue' is a nonexistent tag" in missing.stderr  # the CLI's
        long_tag = cli.run("image", "set", "--tag", "x" * 256, "fetched", check=False)
        assert long_tag.returncode != 0
        assert "expected a list of strings of 1 to 255 characters" in long_tag.stderr
