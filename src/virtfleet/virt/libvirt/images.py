"""Instance disks: a qcow2 overlay over the image file, made with ``qemu-img``; a
snapshot flattens one into a standalone qcow2."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from typing import Protocol

GiB = 1024**3
#: Base images whose virtual size :class:`QemuImg` remembers (forgotten all at once past it).
_SIZES_KEPT = 1024


class ImageTool(Protocol):
    """Creates an instance's root disk (a seam so tests need no qemu-img)."""

    def create_overlay(self, path: str, backing: str, backing_format: str, size_gb: int) -> None:
        """Create qcow2 ``path`` backed by ``backing``; at least ``size_gb`` GiB large."""

    def convert(self, source: str, source_format: str, target: str) -> None:
        """Write ``source`` (with its backing chain) as one standalone qcow2 ``target``."""

    def copy_disk(
        self, source: str, target: str, backing: str, backing_format: str, size_gb: int
    ) -> None:
        """Copy the qcow2 overlay ``source`` to ``target`` over ``backing`` (this host's
        copy of the same image), at least ``size_gb`` GiB large (a cold migration's or
        resize's root disk)."""

    def rebase(self, target: str, backing: str, backing_format: str) -> None:
        """Point the qcow2 overlay ``target`` at ``backing``, the same image under
        another path (this host's copy of it); the data is not touched."""


class QemuImg:
    """:class:`ImageTool` with the ``qemu-img`` command."""

    def __init__(self, binary: str = "qemu-img") -> None:
        self.binary = binary
        # Base images do not change under a name (the host's image cache renames a
        # verified download into place): their virtual size, keyed by the file's
        # identity, is asked of qemu-img once rather than at every boot.
        self._sizes: dict[tuple[str, str, int, int, int, int], int] = {}
        self._lock = threading.Lock()

    def virtual_size(self, path: str, fmt: str) -> int:
        """The image's virtual size in bytes."""
        out = subprocess.run(
            [self.binary, "info", "--output=json", "-f", fmt, path],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return int(json.loads(out)["virtual-size"])

    def base_size(self, path: str, fmt: str) -> int:
        """:meth:`virtual_size` of a base image, remembered while the file (device,
        inode, size, modification time) is the same."""
        try:
            st = os.stat(path)
        except OSError:  # qemu-img says what is wrong with it
            return self.virtual_size(path, fmt)
        key = (path, fmt, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        with self._lock:
            known = self._sizes.get(key)
        if known is None:
            known = self.virtual_size(path, fmt)
            with self._lock:
                if len(self._sizes) >= _SIZES_KEPT:
                    self._sizes.clear()
                self._sizes[key] = known
        return known

    def create_overlay(self, path: str, backing: str, backing_format: str, size_gb: int) -> None:
        size = max(self.base_size(backing, backing_format), size_gb * GiB)
        args = ["create", "-f", "qcow2", "-b", backing, "-F", backing_format, path, str(size)]
        subprocess.run(
            [self.binary, *args],
            check=True,
            capture_output=True,
            text=True,
        )

    def rebase(self, target: str, backing: str, backing_format: str) -> None:
        # -u: the same image under another path, only the name in the header changes
        rebase = ["rebase", "-u", "-f", "qcow2", "-b", backing, "-F", backing_format, target]
        subprocess.run([self.binary, *rebase], check=True, capture_output=True, text=True)

    def convert(self, source: str, source_format: str, target: str) -> None:
        # -U: QEMU holds a lock on a running (or paused) guest's disk; the caller has
        # paused the guest's vCPUs, so what is read is what the guest last wrote.
        args = ["convert", "-U", "-f", source_format, "-O", "qcow2", source, target]
        subprocess.run([self.binary, *args], check=True, capture_output=True, text=True)

    def copy_disk(
        self, source: str, target: str, backing: str, backing_format: str, size_gb: int
    ) -> None:
        shutil.copyfile(source, target)
        self.rebase(target, backing, backing_format)
        if self.virtual_size(target, "qcow2") < size_gb * GiB:
            args = ["resize", "-f", "qcow2", target, str(size_gb * GiB)]
            subprocess.run([self.binary, *args], check=True, capture_output=True, text=True)
