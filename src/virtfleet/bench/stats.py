"""Percentiles of latency samples (nearest-rank, so every value was measured) and a
process's resident memory."""

from __future__ import annotations

import math
import pathlib
from collections.abc import Sequence


def percentile(samples: Sequence[float], pct: float) -> float:
    """The nearest-rank ``pct`` percentile of ``samples`` (0 < pct <= 100)."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def median(samples: Sequence[float]) -> float:
    return percentile(samples, 50)


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def rss_mb(pid: int | str = "self") -> float | None:
    """Resident memory of a process in MiB (Linux ``/proc``), None when unknown."""
    try:
        status = pathlib.Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None
