"""Image data reaches each host through its image cache (fetched, verified, reused),
and a corrupt or missing download fails the boot cleanly: the server ERROR with the
reason, no allocation, no guest, no instance directory and no cached file left."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest

from support.harness import Cloud, make_cloud
from virtfleet.agent.image_cache import ImageCache
from virtfleet.db.engine import Database


@pytest.fixture
def cloud(tmp_path: pathlib.Path, db: Database) -> Iterator[Cloud]:
    built = make_cloud(tmp_path, db)
    yield built
    built.stop()


def cache(cloud: Cloud, host: str) -> ImageCache:
    return cloud.agents[host].images


def cached_files(cloud: Cloud, host: str) -> list[str]:
    root = cache(cloud, host).root
    return sorted(p.name for p in root.iterdir() if p.is_file()) if root.is_dir() else []


def instance_dirs(cloud: Cloud, host: str) -> list[str]:
    instances = cloud.tmp_path / "agents" / host / "instances"
    return sorted(p.name for p in instances.iterdir() if p.name != "_base")


def test_the_image_is_fetched_into_the_hosts_cache_once_and_cleaned_when_unused(
    cloud: Cloud,
) -> None:
    first = cloud.boot(vcpus=1, memory_mb=512)
    second = cloud.boot(vcpus=1, memory_mb=512)
    assert first.host == second.host == "big"
    assert cached_files(cloud, "big") == [cloud.image_id]
    data = (cache(cloud, "big").root / cloud.image_id).read_bytes()
    assert data == b"\0" * 4096  # the uploaded data, not a server path
    assert cache(cloud, "big").users() == {
        first.uuid: [cloud.image_id],
        second.uuid: [cloud.image_id],
    }
    assert cached_files(cloud, "small") == []  # fetched only where a guest needs it

    cloud.conductor.delete_server(first.uuid)
    cloud.conductor.delete_server(second.uuid)
    cloud.conductor.drain(30)
    assert cache(cloud, "big").users() == {}
    cache(cloud, "big").min_age = 0
    assert cloud.agents["big"].clean_image_cache(force=True) == [cloud.image_id]
    assert cached_files(cloud, "big") == []


def test_a_corrupt_image_fails_the_boot_on_every_host_and_leaves_nothing(cloud: Cloud) -> None:
    image_id = cloud.add_image()
    stored = cloud.images.store.path(image_id)
    stored.write_bytes(b"\1" * 4096)  # the store's bits no longer match the upload's digests
    server = cloud.boot(vcpus=1, memory_mb=512, image_id=image_id)
    assert (server.vm_state, server.host) == ("error", None)
    assert server.fault is not None
    details = str(server.fault.get("details"))
    assert "corrupt download: sha512" in details
    assert "big" in details and "small" in details  # tried on each host, then gave up
    for host in ("big", "small"):
        assert cloud.usages(host) == {}
        assert cloud.domains(host) == []
        assert cached_files(cloud, host) == []
        assert instance_dirs(cloud, host) == []
        assert cache(cloud, host).users() == {}


def test_a_download_the_image_service_cannot_serve_fails_the_boot_cleanly(cloud: Cloud) -> None:
    image_id = cloud.add_image()
    stored = cloud.images.store.path(image_id)
    stored.write_bytes(b"\0" * 100)  # cut short after the conductor's check
    server = cloud.boot(vcpus=1, memory_mb=512, image_id=image_id)
    assert (server.vm_state, server.host) == ("error", None)
    assert server.fault is not None
    assert "the download ended after 100 of 4096 bytes" in str(server.fault.get("details"))
    assert cloud.usages("big") == {} and cloud.usages("small") == {}
    assert cached_files(cloud, "big") == [] and cached_files(cloud, "small") == []


def test_a_deleted_images_data_goes_with_its_last_server_and_a_live_images_never(
    cloud: Cloud,
) -> None:
    live, doomed = cloud.add_image(), cloud.add_image()
    on_live = cloud.boot(vcpus=1, memory_mb=512, image_id=live)
    first = cloud.boot(vcpus=1, memory_mb=512, image_id=doomed)
    second = cloud.boot(vcpus=1, memory_mb=512, image_id=doomed)
    cloud.images.delete(doomed)  # the record goes; two guests still use the data
    assert cloud.images.store.path(doomed).is_file()
    for server, left in ((first, True), (second, False), (on_live, False)):
        cloud.conductor.delete_server(server.uuid)
        cloud.conductor.drain(30)
        assert cloud.images.store.path(doomed).is_file() is left
    assert cloud.images.store.path(live).is_file()  # no server uses it, but it lives
