#!/usr/bin/env python3
"""Build a tiny initramfs (gzip'd newc cpio) around a static busybox.

Usage: mkinitramfs.py BUSYBOX OUTPUT.gz

The guest's /init mounts proc, sys and devtmpfs, prints ``VIRTFLEET-GUEST-READY``
with the architecture, kernel and uptime, then idles. Kernel command line switches:
``vf.tick`` prints ``tick N`` every second (continuity across migrations) and
``vf.poweroff`` powers off at once. Output is deterministic (fixed mtimes and inodes).
Standard library only, so it runs before any virtualenv exists.
"""

from __future__ import annotations

import gzip
import io
import pathlib
import sys

INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
echo "VIRTFLEET-GUEST-READY arch=$(uname -m) kernel=$(uname -r) uptime=$(cut -d' ' -f1 /proc/uptime)"
if grep -q vf.poweroff /proc/cmdline; then poweroff -f; fi
if grep -q vf.tick /proc/cmdline; then
  n=0
  while true; do n=$((n + 1)); echo "tick $n"; sleep 1; done
fi
while true; do sleep 3600; done
"""

DIR, FILE, CHARDEV = 0o040755, 0o100755, 0o020600


def _entry(out: io.BytesIO, ino: int, name: str, mode: int, data: bytes = b"",
           rdev: tuple[int, int] = (0, 0)) -> None:
    encoded = name.encode() + b"\0"
    fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(encoded), 0]
    out.write(b"070701" + b"".join(b"%08X" % f for f in fields) + encoded)
    out.write(b"\0" * (-(110 + len(encoded)) % 4))
    out.write(data)
    out.write(b"\0" * (-len(data) % 4))


def build(busybox: bytes) -> bytes:
    out = io.BytesIO()
    entries: list[tuple[str, int, bytes, tuple[int, int]]] = [
        ("bin", DIR, b"", (0, 0)),
        ("dev", DIR, b"", (0, 0)),
        ("dev/console", CHARDEV, b"", (5, 1)),  # without it init's output is lost
        ("proc", DIR, b"", (0, 0)),
        ("sys", DIR, b"", (0, 0)),
        ("bin/busybox", FILE, busybox, (0, 0)),
        ("init", FILE, INIT.encode(), (0, 0)),
    ]
    for ino, (name, mode, data, rdev) in enumerate(entries, start=1):
        _entry(out, ino, name, mode, data, rdev)
    _entry(out, 0, "TRAILER!!!", 0)
    return gzip.compress(out.getvalue(), mtime=0)


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    busybox = pathlib.Path(sys.argv[1]).read_bytes()
    pathlib.Path(sys.argv[2]).write_bytes(build(busybox))
    return 0


if __name__ == "__main__":
    sys.exit(main())
