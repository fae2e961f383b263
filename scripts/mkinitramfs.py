#!/usr/bin/env python3
"""Build a tiny initramfs (gzip'd newc cpio) around a static busybox.

Usage: mkinitramfs.py BUSYBOX OUTPUT.gz [MODULE.ko[.xz] ...]

The guest's /init mounts proc, sys and devtmpfs, loads the given kernel modules in
order (the NIC drivers the kernel has as modules; missing ones are built in), prints
``VIRTFLEET-GUEST-READY`` with the architecture, kernel and uptime, then idles.
Kernel command line switches:
``vf.tick`` prints ``tick N`` every second (continuity across migrations),
``vf.poweroff`` powers off at once,
``vf.net`` asks DHCP on eth0 and prints ``VF-DHCP ip=... mask=... router=... mtu=...``
(or ``VF-DHCP none``); then ``vf.ping=A,B`` pings each address once a second
forever, printing ``VF-PING A ok`` or ``VF-PING A fail``, and ``vf.meta`` fetches
``http://169.254.169.254/virtfleet-probe`` once, printing ``VF-META`` and the answer.
Output is deterministic (fixed mtimes and inodes). Standard library only, so it runs
before any virtualenv exists.
"""

from __future__ import annotations

import gzip
import io
import lzma
import pathlib
import sys
from collections.abc import Sequence

INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
for m in /lib/modules/*.ko; do [ -e "$m" ] && insmod "$m" 2>/dev/null; done
echo "VIRTFLEET-GUEST-READY arch=$(uname -m) kernel=$(uname -r) uptime=$(cut -d' ' -f1 /proc/uptime)"
if grep -q vf.poweroff /proc/cmdline; then poweroff -f; fi
if grep -q vf.net /proc/cmdline; then
  ip link set lo up
  ip link set eth0 up 2>/dev/null
  if udhcpc -i eth0 -q -n -t 10 -T 2 -O mtu -O staticroutes -s /bin/vf-dhcp >/dev/null 2>&1; then :; else echo "VF-DHCP none"; fi
  if grep -q vf.meta /proc/cmdline; then
    echo "VF-META $(timeout 10 wget -q -O - http://169.254.169.254/virtfleet-probe 2>&1 | head -c 300)"
  fi
  targets=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^vf.ping=//p' | tr ',' ' ')
  if [ -n "$targets" ]; then
    while true; do
      for t in $targets; do
        if ping -c 1 -W 1 "$t" >/dev/null 2>&1; then echo "VF-PING $t ok"; else echo "VF-PING $t fail"; fi
      done
      sleep 1
    done
  fi
fi
if grep -q vf.tick /proc/cmdline; then
  n=0
  while true; do n=$((n + 1)); echo "tick $n"; sleep 1; done
fi
while true; do sleep 3600; done
"""

# udhcpc's script: configure eth0 from the lease and report it on the console
DHCP_SCRIPT = """#!/bin/busybox sh
case "$1" in
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    [ -n "$mtu" ] && ip link set dev "$interface" mtu "$mtu"
    for r in $router; do ip route add default via "$r" dev "$interface" 2>/dev/null; done
    set -- $staticroutes
    while [ $# -ge 2 ]; do ip route add "$1" via "$2" dev "$interface" 2>/dev/null; shift 2; done
    echo "VF-DHCP ip=$ip mask=$mask router=$router mtu=$mtu dns=$dns routes=$staticroutes"
    ;;
esac
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


def build(busybox: bytes, modules: Sequence[tuple[str, bytes]] = ()) -> bytes:
    """The initramfs; ``modules`` (name, contents) load in the order given."""
    out = io.BytesIO()
    entries: list[tuple[str, int, bytes, tuple[int, int]]] = [
        ("bin", DIR, b"", (0, 0)),
        ("dev", DIR, b"", (0, 0)),
        ("dev/console", CHARDEV, b"", (5, 1)),  # without it init's output is lost
        ("proc", DIR, b"", (0, 0)),
        ("sys", DIR, b"", (0, 0)),
        ("bin/busybox", FILE, busybox, (0, 0)),
        ("init", FILE, INIT.encode(), (0, 0)),
        ("bin/vf-dhcp", FILE, DHCP_SCRIPT.encode(), (0, 0)),
    ]
    if modules:
        entries.append(("lib", DIR, b"", (0, 0)))
        entries.append(("lib/modules", DIR, b"", (0, 0)))
    for index, (name, data) in enumerate(modules):
        entries.append((f"lib/modules/{index:02d}-{name}", FILE, data, (0, 0)))
    for ino, (name, mode, data, rdev) in enumerate(entries, start=1):
        _entry(out, ino, name, mode, data, rdev)
    _entry(out, 0, "TRAILER!!!", 0)
    return gzip.compress(out.getvalue(), mtime=0)


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    busybox = pathlib.Path(sys.argv[1]).read_bytes()
    modules = []
    for given in sys.argv[3:]:
        path = pathlib.Path(given)
        data = path.read_bytes()
        if path.suffix == ".xz":  # busybox insmod reads plain modules
            data = lzma.decompress(data)
        modules.append((path.name.split(".ko")[0] + ".ko", data))
    pathlib.Path(sys.argv[2]).write_bytes(build(busybox, modules))
    return 0


if __name__ == "__main__":
    sys.exit(main())
