"""VXLAN flooding between hosts: the all-zeros FDB entry of a network's VXLAN device
holds one ``dst`` per other host carrying the network, so broadcasts and unknown
unicasts reach every peer VTEP (``bridge fdb append 00:00:00:00:00:00 dst PEER``);
MACs behind a peer are then learned from what it sends back."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable

from virtfleet import errors

FLOOD_MAC = "00:00:00:00:00:00"


def _bridge(*args: str, netns: str | None) -> str:
    command = ["bridge", *(("-n", netns) if netns else ()), *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:
        raise errors.HypervisorError(f"{' '.join(command)} failed: {done.stderr.strip()}")
    return done.stdout


def flood_peers(device: str, netns: str | None = None) -> set[str]:
    """The peer addresses of ``device``'s flood entry."""
    peers = set()
    for line in _bridge("fdb", "show", "dev", device, netns=netns).splitlines():
        words = line.split()
        if words[:1] == [FLOOD_MAC] and "dst" in words:
            peers.add(words[words.index("dst") + 1])
    return peers


def set_flood_peers(device: str, peers: Iterable[str], netns: str | None = None) -> None:
    """Make ``device`` flood to exactly ``peers``."""
    wanted = set(peers)
    current = flood_peers(device, netns)
    for peer in sorted(wanted - current):
        _bridge("fdb", "append", FLOOD_MAC, "dev", device, "dst", peer, netns=netns)
    for peer in sorted(current - wanted):
        _bridge("fdb", "del", FLOOD_MAC, "dev", device, "dst", peer, netns=netns)
