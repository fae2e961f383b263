"""The host's cache of image data: one verified file per image that guests' disks
(qcow2 overlays) and direct-boot kernels are made from.

An image is fetched once per host from an :class:`ImageSource` (the Image API over
HTTP, see :mod:`virtfleet.agent.image_download`) into a temporary file, hashed while it
is written, checked against the size and digests the Image API recorded at upload, and
only then renamed into place: a failed or corrupt download leaves nothing behind and
fails the boot with :class:`~virtfleet.errors.ImageDataError`.

Which guest uses which image is recorded beside the images (``users/<instance uuid>``),
so the cleanup (:meth:`ImageCache.cleanup`) keeps every image a guest of the host may
still read, and removes the others once unused for long enough; past the size cap the
least recently used unused images go first.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import pathlib
import re
import threading
import time
import uuid as uuidlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from oslo_config import cfg

from virtfleet import errors
from virtfleet.objects.image_data import ImageData
from virtfleet.virt.libvirt.host import instances_path

LOG = logging.getLogger(__name__)

USERS = "users"
LOCKS = "locks"
PARTIAL = ".part-"


class ImageSource(Protocol):
    """Where image data comes from: the chunks of one image's data (ImageDataError
    naming the problem when it cannot be read)."""

    def chunks(self, image_id: str) -> Iterator[bytes]: ...


@dataclass(frozen=True)
class CachedImages:
    """Local files of one guest's image data (None where the guest has none)."""

    image_path: str | None = None
    kernel_path: str | None = None
    ramdisk_path: str | None = None


class ImageCache:
    """Image data under ``root``, fetched from ``source``, at most ``max_bytes`` (0: no
    cap) of it kept when unused; unused images older than ``min_age`` seconds are
    removed by :meth:`cleanup` when ``remove_unused`` is set."""

    def __init__(
        self,
        root: str | pathlib.Path,
        source: ImageSource,
        max_bytes: int = 0,
        min_age: float = 86400.0,
        remove_unused: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.root = pathlib.Path(root)
        self.source = source
        self.max_bytes = max_bytes
        self.min_age = min_age
        self.remove_unused = remove_unused
        self._clock = clock
        self._pending: dict[str, int] = {}  # instance uuid -> spawns preparing it now
        self._pending_lock = threading.Lock()

    # ------------------------------------------------------------------ guests

    def prepare(self, instance_uuid: str, data: Iterable[ImageData | None]) -> list[str | None]:
        """The local files of ``data`` (in order; None stays None), fetched and verified
        when not cached yet, recorded as used by ``instance_uuid``."""
        wanted = list(data)
        with self._preparing(instance_uuid):
            ids = [d.image_id for d in wanted if d is not None]
            self._write_users(instance_uuid, ids)
            try:
                paths = [None if d is None else str(self._ensure(d)) for d in wanted]
            except BaseException:
                self.release(instance_uuid)
                raise
        self._enforce_cap()
        return paths

    def fetch(self, data: Iterable[ImageData | None]) -> None:
        """Fetch and verify ``data`` into the cache when not there yet, for a spawn that
        follows (a rebuild fetches its new image before the old guest goes); no user is
        recorded: the spawn's :meth:`prepare` records its own."""
        for wanted in data:
            if wanted is not None:
                self._ensure(wanted)

    def release(self, instance_uuid: str) -> None:
        """``instance_uuid`` no longer uses any image here (destroyed, or never built)."""
        with contextlib.suppress(FileNotFoundError):
            self._users_dir().joinpath(_safe(instance_uuid)).unlink()

    def users(self) -> dict[str, list[str]]:
        """Instance uuid -> the image ids it uses, as recorded."""
        found: dict[str, list[str]] = {}
        folder = self._users_dir()
        if not folder.is_dir():
            return found
        for record in folder.iterdir():
            with contextlib.suppress(OSError, ValueError):
                ids = json.loads(record.read_text())
                found[record.name] = [str(i) for i in ids]
        return found

    # ----------------------------------------------------------------- cleanup

    def cleanup(self, live_instances: Iterable[str]) -> list[str]:
        """Forget the users that are not among ``live_instances`` (the host's guests),
        then remove the images no guest uses that were last used more than ``min_age``
        seconds ago. Returns the removed image ids."""
        live = set(live_instances)
        with self._pending_lock:
            live |= set(self._pending)
        for instance_uuid in self.users():
            if instance_uuid not in live:
                self.release(instance_uuid)
        if not self.remove_unused:
            return []
        now = self._clock()
        removed = []
        for image_id, (_size, used_at) in self.cached().items():
            if now - used_at >= self.min_age and self._remove_if_unused(image_id):
                removed.append(image_id)
        if removed:
            LOG.info("image cache %s: removed unused images %s", self.root, ", ".join(removed))
        return removed

    def cached(self) -> dict[str, tuple[int, float]]:
        """Image id -> (bytes, time of last use) of every complete image here."""
        found: dict[str, tuple[int, float]] = {}
        if not self.root.is_dir():
            return found
        for entry in self.root.iterdir():
            if entry.is_file() and PARTIAL not in entry.name:
                with contextlib.suppress(FileNotFoundError):
                    stat = entry.stat()
                    found[entry.name] = (stat.st_size, stat.st_mtime)
        return found

    # ---------------------------------------------------------------- internals

    def _ensure(self, data: ImageData) -> pathlib.Path:
        target = self.root / _safe(data.image_id)
        if self.max_bytes and data.size > self.max_bytes:
            raise errors.ImageDataError(
                f"image {data.image_id} is {data.size} bytes, more than this host's image "
                f"cache may hold ({self.max_bytes} bytes, [image_cache] max_size_mb)"
            )
        with self._locked(data.image_id):
            if target.is_file():
                os.utime(target)  # its last use, for the cleanup
                return target
            self._download(data, target)
            return target

    def _download(self, data: ImageData, target: pathlib.Path) -> None:
        partial = target.with_name(f"{target.name}{PARTIAL}{uuidlib.uuid4().hex[:8]}")
        digests = _Digests(data.os_hash_algo)
        size = 0
        started = time.monotonic()
        try:
            with partial.open("wb") as out:
                for chunk in self.source.chunks(data.image_id):
                    out.write(chunk)
                    digests.update(chunk)
                    size += len(chunk)
                    if size > data.size:
                        raise errors.ImageDataError(
                            f"image {data.image_id}: the Image API sent more than the "
                            f"{data.size} bytes recorded for it"
                        )
                out.flush()
                os.fsync(out.fileno())
            _verify(data, size, digests)
            os.replace(partial, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
            raise
        LOG.info("image %s: %d bytes fetched and verified in %.2fs", data.image_id, size,
                 time.monotonic() - started)  # fmt: skip

    def _remove_if_unused(self, image_id: str) -> bool:
        with self._locked(image_id):
            if any(image_id in ids for ids in self.users().values()):
                return False
            with contextlib.suppress(FileNotFoundError):
                (self.root / _safe(image_id)).unlink()
                return True
            return False

    def _enforce_cap(self) -> None:
        if not self.max_bytes:
            return
        cached = self.cached()
        total = sum(size for size, _ in cached.values())
        for image_id, (size, _) in sorted(cached.items(), key=lambda item: item[1][1]):
            if total <= self.max_bytes:
                return
            if self._remove_if_unused(image_id):
                LOG.info("image cache %s: evicted %s (over %d bytes)", self.root, image_id,
                         self.max_bytes)  # fmt: skip
                total -= size
        if total > self.max_bytes:
            LOG.warning("image cache %s holds %d bytes in use, more than its cap of %d",
                        self.root, total, self.max_bytes)  # fmt: skip

    @contextlib.contextmanager
    def _preparing(self, instance_uuid: str) -> Iterator[None]:
        with self._pending_lock:
            self._pending[instance_uuid] = self._pending.get(instance_uuid, 0) + 1
        try:
            yield
        finally:
            with self._pending_lock:
                left = self._pending.pop(instance_uuid) - 1
                if left:
                    self._pending[instance_uuid] = left

    @contextlib.contextmanager
    def _locked(self, image_id: str) -> Iterator[None]:
        """One image at a time, across threads and processes sharing the directory."""
        folder = self.root / LOCKS
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / _safe(image_id)).open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _users_dir(self) -> pathlib.Path:
        return self.root / USERS

    def _write_users(self, instance_uuid: str, image_ids: list[str]) -> None:
        folder = self._users_dir()
        folder.mkdir(parents=True, exist_ok=True)
        record = folder / _safe(instance_uuid)
        temporary = record.with_name(f"{record.name}{PARTIAL}{uuidlib.uuid4().hex[:8]}")
        temporary.write_text(json.dumps(image_ids))
        os.replace(temporary, record)


class _Digests:
    """MD5 and the recorded multihash algorithm, fed together."""

    def __init__(self, algo: str | None) -> None:
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.algo = algo
        known = algo is not None and algo in hashlib.algorithms_available
        self.multihash = hashlib.new(algo) if known and algo is not None else None

    def update(self, chunk: bytes) -> None:
        self.md5.update(chunk)
        if self.multihash is not None:
            self.multihash.update(chunk)


def _verify(data: ImageData, size: int, digests: _Digests) -> None:
    """ImageDataError unless size and every recorded digest match what arrived."""
    where = f"image {data.image_id}"
    if size != data.size:
        raise errors.ImageDataError(
            f"{where}: the download ended after {size} of {data.size} bytes"
        )
    if data.os_hash_value and digests.multihash is None:
        raise errors.ImageDataError(
            f"{where}: cannot verify it: unknown hash algorithm {data.os_hash_algo!r}"
        )
    if data.os_hash_value and digests.multihash is not None:
        got = digests.multihash.hexdigest()
        if got != data.os_hash_value:
            raise errors.ImageDataError(
                f"{where}: corrupt download: {data.os_hash_algo} {got} differs from the "
                f"os_hash_value {data.os_hash_value} recorded at upload"
            )
    if data.checksum and digests.md5.hexdigest() != data.checksum:
        raise errors.ImageDataError(
            f"{where}: corrupt download: MD5 {digests.md5.hexdigest()} differs from the "
            f"checksum {data.checksum} recorded at upload"
        )


def _safe(name: str) -> str:
    """A file name from an image id or instance uuid (anything else is refused)."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]*", name):
        raise errors.InvalidInput(f"invalid image or instance id {name!r}")
    return name


def cache_dir(conf: cfg.ConfigOpts) -> pathlib.Path:
    """``<instances path>/<[image_cache] subdirectory_name>``."""
    return pathlib.Path(instances_path(conf)) / str(conf.image_cache.subdirectory_name)


def from_conf(
    conf: cfg.ConfigOpts, source: ImageSource, root: str | pathlib.Path | None = None
) -> ImageCache:
    """The cache ``[image_cache]`` describes, in ``root`` (default :func:`cache_dir`)."""
    group = conf.image_cache
    return ImageCache(
        root if root is not None else cache_dir(conf),
        source,
        max_bytes=int(group.max_size_mb) * 1024 * 1024,
        min_age=float(group.remove_unused_original_minimum_age_seconds),
        remove_unused=bool(group.remove_unused_base_images),
    )
