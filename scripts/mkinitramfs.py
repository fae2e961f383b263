#!/usr/bin/env python3
"""Build a tiny initramfs (gzip'd newc cpio) around a static busybox.

Usage: mkinitramfs.py BUSYBOX OUTPUT.gz [MODULE.ko[.xz] ...]

The guest's /init mounts proc, sys and devtmpfs, loads the given kernel modules in
order, each after those its modinfo ``depends=`` names (the NIC drivers the kernel has
as modules; missing ones are built in), prints
``VIRTFLEET-GUEST-READY`` with the architecture, kernel and uptime, then idles.
Kernel command line switches:
``vf.tick`` prints ``tick N`` every second (continuity across migrations),
``vf.poweroff`` powers off at once,
``vf.net`` asks DHCP on every ``eth*`` NIC at once and prints
``VF-DHCP dev=ethN ip=... mask=... router=... mtu=...`` for each lease
(``VF-DHCP dev=ethN none`` for a NIC without one, ``VF-DHCP none`` without NICs);
then ``vf.ping=A,B`` pings each address once a second forever, printing
``VF-PING A ok`` or ``VF-PING A fail``, and ``vf.meta`` fetches
``http://169.254.169.254/virtfleet-probe`` once, printing ``VF-META`` and the answer.
Output is deterministic (fixed mtimes and inodes). Standard library only, so it runs
before any virtualenv exists.
"""

from __future__ import annotations

import gzip
import io
import lzma
import pathlib
import re
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
  nics=$(ls /sys/class/net | grep '^eth' | sort)
  [ -n "$nics" ] || echo "VF-DHCP none"
  for nic in $nics; do  # in parallel: each waits up to 20 s for its lease
    ip link set "$nic" up
    ( udhcpc -i "$nic" -q -n -t 10 -T 2 -O mtu -O staticroutes -s /bin/vf-dhcp >/dev/null 2>&1 ||
      echo "VF-DHCP dev=$nic none" ) &
  done
  wait
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

# udhcpc's script: configure the NIC from the lease and report it on the console (udhcpc's
# own output is discarded)
DHCP_SCRIPT = """#!/bin/busybox sh
case "$1" in
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    [ -n "$mtu" ] && ip link set dev "$interface" mtu "$mtu"
    for r in $router; do ip route add default via "$r" dev "$interface" 2>/dev/null; done
    set -- $staticroutes
    while [ $# -ge 2 ]; do ip route add "$1" via "$2" dev "$interface" 2>/dev/null; shift 2; done
    echo "VF-DHCP dev=$interface ip=$ip mask=$mask router=$router mtu=$mtu dns=$dns routes=$staticroutes" >/dev/console
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


def depends(data: bytes) -> list[str]:
    """The modules a kernel module needs first (its modinfo ``depends=``)."""
    found = re.search(rb"(?:^|\0)depends=([^\0]*)", data)
    if found is None or not found.group(1):
        return []
    return [name.decode().replace("-", "_") for name in found.group(1).split(b",")]


def load_order(modules: Sequence[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """``modules`` (name, contents) ordered so each comes after the modules it
    depends on (dependencies not given are taken to be built in); otherwise in the
    order given."""
    by_name = {name.removesuffix(".ko").replace("-", "_"): (name, data) for name, data in modules}
    ordered: list[tuple[str, bytes]] = []
    placed: set[str] = set()

    def place(key: str, path: tuple[str, ...]) -> None:
        if key in placed or key not in by_name:
            return
        if key in path:
            raise ValueError(f"kernel modules depend on each other in a cycle: {path}")
        for needed in depends(by_name[key][1]):
            place(needed, (*path, key))
        placed.add(key)
        ordered.append(by_name[key])

    for key in by_name:
        place(key, ())
    return ordered


def build(busybox: bytes, modules: Sequence[tuple[str, bytes]] = ()) -> bytes:
    """The initramfs; ``modules`` (name, contents) load in the order given, moved
    after the ones they depend on."""
    modules = load_order(modules)
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
    output = pathlib.Path(sys.argv[2])
    partial = output.with_name(output.name + ".partial")  # guests may be reading it
    partial.write_bytes(build(busybox, modules))
    partial.replace(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
