"""The host's image cache: fetched once, verified against the digests recorded at
upload, nothing left by a failed or corrupt download, images in use kept, unused ones
removed by age and past the size cap."""

from __future__ import annotations

import hashlib
import os
import pathlib
import threading
from collections.abc import Iterator

import pytest

from virtfleet import errors
from virtfleet.agent.image_cache import ImageCache
from virtfleet.objects.image_data import ImageData

UUID_A = "0f6f8d3e-2b8c-4d3a-9e55-6a8e7c1b2d44"
UUID_B = "1f6f8d3e-2b8c-4d3a-9e55-6a8e7c1b2d44"


def describe(image_id: str, data: bytes) -> ImageData:
    return ImageData(
        image_id=image_id,
        size=len(data),
        checksum=hashlib.md5(data, usedforsecurity=False).hexdigest(),
        os_hash_algo="sha512",
        os_hash_value=hashlib.sha512(data).hexdigest(),
        disk_format="raw",
    )


class Source:
    """Serves ``data`` per image id in small chunks; counts the downloads."""

    def __init__(self, **data: bytes) -> None:
        self.data = data
        self.downloads: list[str] = []
        self.fail_after: int | None = None  # chunks before an ImageDataError
        self.gate: threading.Event | None = None

    def chunks(self, image_id: str) -> Iterator[bytes]:
        self.downloads.append(image_id)
        if self.gate is not None:
            self.gate.wait(5)
        body = self.data[image_id]
        for i in range(0, len(body), 4):
            if self.fail_after is not None and i // 4 >= self.fail_after:
                raise errors.ImageDataError(f"image {image_id}: connection reset")
            yield body[i : i + 4]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def files(root: pathlib.Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_file())


def test_an_image_is_fetched_once_verified_and_reused(tmp_path: pathlib.Path) -> None:
    source = Source(a=b"image data a")
    cache = ImageCache(tmp_path, source)
    first = cache.prepare(UUID_A, [describe("a", b"image data a"), None])
    second = cache.prepare(UUID_B, [describe("a", b"image data a")])
    assert first == [str(tmp_path / "a"), None]
    assert second == [str(tmp_path / "a")]
    assert (tmp_path / "a").read_bytes() == b"image data a"
    assert source.downloads == ["a"]
    assert cache.users() == {UUID_A: ["a"], UUID_B: ["a"]}


@pytest.mark.parametrize(
    ("served", "message"),
    [
        (b"image data b", "corrupt download: sha512 .* differs from the os_hash_value"),
        (b"image data", "the download ended after 10 of 12 bytes"),
        (b"image data a and more", "sent more than the 12 bytes recorded"),
    ],
)
def test_a_corrupt_short_or_long_download_fails_and_leaves_nothing(
    tmp_path: pathlib.Path, served: bytes, message: str
) -> None:
    cache = ImageCache(tmp_path, Source(a=served))
    with pytest.raises(errors.ImageDataError, match=message):
        cache.prepare(UUID_A, [describe("a", b"image data a")])
    assert files(tmp_path) == []  # no image, no partial file
    assert cache.users() == {}


def test_only_the_md5_recorded_is_still_checked(tmp_path: pathlib.Path) -> None:
    recorded = describe("a", b"image data a")
    recorded.os_hash_algo, recorded.os_hash_value = None, None
    cache = ImageCache(tmp_path, Source(a=b"image data b"))
    with pytest.raises(errors.ImageDataError, match=r"MD5 .* differs from the checksum"):
        cache.prepare(UUID_A, [recorded])
    assert files(tmp_path) == []


def test_an_unknown_hash_algorithm_is_refused_not_trusted(tmp_path: pathlib.Path) -> None:
    recorded = describe("a", b"x")
    recorded.os_hash_algo = "whirlpool-9000"
    with pytest.raises(errors.ImageDataError, match="unknown hash algorithm 'whirlpool-9000'"):
        ImageCache(tmp_path, Source(a=b"x")).prepare(UUID_A, [recorded])
    assert files(tmp_path) == []


def test_a_fetch_ahead_caches_verified_data_and_keeps_the_users_as_they_were(
    tmp_path: pathlib.Path,
) -> None:
    source = Source(a=b"image data a", b=b"image data b")
    cache = ImageCache(tmp_path, source)
    cache.prepare(UUID_A, [describe("a", b"image data a")])
    cache.fetch([describe("b", b"image data b"), None])  # a rebuild's new image, ahead
    assert (tmp_path / "b").read_bytes() == b"image data b"
    assert cache.users() == {UUID_A: ["a"]}  # the old guest still holds its image
    assert cache.prepare(UUID_A, [describe("b", b"image data b")]) == [str(tmp_path / "b")]
    assert source.downloads == ["a", "b"]  # the spawn after found it cached

    source.data["c"] = b"image data X"
    with pytest.raises(errors.ImageDataError, match="corrupt download"):
        cache.fetch([describe("c", b"image data c")])
    assert files(tmp_path) == ["a", "b"]  # nothing of c, the rest untouched
    assert cache.users() == {UUID_A: ["b"]}


def test_a_download_that_breaks_off_leaves_nothing_and_a_later_one_works(
    tmp_path: pathlib.Path,
) -> None:
    source = Source(a=b"image data a")
    source.fail_after = 1
    cache = ImageCache(tmp_path, source)
    with pytest.raises(errors.ImageDataError, match="connection reset"):
        cache.prepare(UUID_A, [describe("a", b"image data a")])
    assert files(tmp_path) == []
    source.fail_after = None
    assert cache.prepare(UUID_A, [describe("a", b"image data a")]) == [str(tmp_path / "a")]


def test_concurrent_boots_of_one_image_download_it_once(tmp_path: pathlib.Path) -> None:
    source = Source(a=b"image data a")
    source.gate = threading.Event()
    cache = ImageCache(tmp_path, source)
    results: list[list[str | None]] = []
    uuids = [f"{i:08d}-2b8c-4d3a-9e55-6a8e7c1b2d44" for i in range(8)]
    threads = [
        threading.Thread(
            target=lambda u=u: results.append(cache.prepare(u, [describe("a", b"image data a")]))
        )
        for u in uuids
    ]
    for thread in threads:
        thread.start()
    source.gate.set()
    for thread in threads:
        thread.join(10)
    assert source.downloads == ["a"]
    assert results == [[str(tmp_path / "a")]] * 8


def test_cleanup_keeps_images_in_use_and_removes_old_unused_ones(tmp_path: pathlib.Path) -> None:
    clock = Clock()
    source = Source(a=b"aaaa", b=b"bbbb", c=b"cccc")
    cache = ImageCache(tmp_path, source, min_age=3600, clock=clock)
    cache.prepare(UUID_A, [describe("a", b"aaaa")])
    cache.prepare(UUID_B, [describe("b", b"bbbb")])
    cache.prepare("2f6f8d3e-2b8c-4d3a-9e55-6a8e7c1b2d44", [describe("c", b"cccc")])
    os.utime(tmp_path / "c", (clock.now - 10, clock.now - 10))  # used just now
    for old in ("a", "b"):
        os.utime(tmp_path / old, (clock.now - 7200, clock.now - 7200))
    # UUID_A still runs here; UUID_B and the third guest are gone.
    assert cache.cleanup([UUID_A]) == ["b"]
    assert files(tmp_path) == ["a", "c"]  # a in use, c unused but young
    assert cache.users() == {UUID_A: ["a"]}
    clock.now += 7200
    assert sorted(cache.cleanup([])) == ["a", "c"]
    assert files(tmp_path) == []


def test_cleanup_removes_nothing_when_told_not_to(tmp_path: pathlib.Path) -> None:
    cache = ImageCache(tmp_path, Source(a=b"aaaa"), min_age=0, remove_unused=False)
    cache.prepare(UUID_A, [describe("a", b"aaaa")])
    assert cache.cleanup([]) == []
    assert files(tmp_path) == ["a"]
    assert cache.users() == {}  # the users are still forgotten


def test_past_the_cap_least_recently_used_unused_images_are_evicted(
    tmp_path: pathlib.Path,
) -> None:
    source = Source(a=b"a" * 40, b=b"b" * 40, c=b"c" * 40)
    cache = ImageCache(tmp_path, source, max_bytes=100)
    cache.prepare(UUID_A, [describe("a", b"a" * 40)])
    cache.prepare(UUID_B, [describe("b", b"b" * 40)])
    os.utime(tmp_path / "a", (1, 1))
    os.utime(tmp_path / "b", (2, 2))
    cache.release(UUID_A)  # a and b unused now, a the least recently used
    cache.release(UUID_B)
    cache.prepare("2f6f8d3e-2b8c-4d3a-9e55-6a8e7c1b2d44", [describe("c", b"c" * 40)])
    assert files(tmp_path) == ["b", "c"]


def test_images_in_use_are_never_evicted_even_past_the_cap(tmp_path: pathlib.Path) -> None:
    source = Source(a=b"a" * 60, b=b"b" * 60)
    cache = ImageCache(tmp_path, source, max_bytes=100)
    cache.prepare(UUID_A, [describe("a", b"a" * 60)])
    cache.prepare(UUID_B, [describe("b", b"b" * 60)])
    assert files(tmp_path) == ["a", "b"]


def test_an_image_larger_than_the_cap_fails_the_boot_without_downloading(
    tmp_path: pathlib.Path,
) -> None:
    source = Source(a=b"a" * 200)
    cache = ImageCache(tmp_path, source, max_bytes=100)
    with pytest.raises(errors.ImageDataError, match=r"200 bytes, more than .*max_size_mb"):
        cache.prepare(UUID_A, [describe("a", b"a" * 200)])
    assert source.downloads == []
    assert files(tmp_path) == []


def test_ids_that_are_not_file_names_are_refused(tmp_path: pathlib.Path) -> None:
    cache = ImageCache(tmp_path, Source())
    with pytest.raises(errors.InvalidInput, match=r"invalid image or instance id '\.\./x'"):
        cache.prepare(UUID_A, [describe("../x", b"")])
