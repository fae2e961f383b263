"""What a real test does when something it needs is missing: skip on a developer
machine, fail under CI (``CI=true``), where the scripts install everything."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(reason: str) -> NoReturn:
    """Skip the test because of ``reason``; under CI, fail it instead."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: scripts/test.sh installs everything real tests need)")
    pytest.skip(reason)


def time_bound(seconds: float) -> float:
    """A test's time bound (a guard against hangs, not a speed claim): ``seconds``
    times ``VIRTFLEET_TEST_TIME_FACTOR`` (default 1), which scripts/test.sh raises while
    several test workers share the machine's cores."""
    return seconds * float(os.environ.get("VIRTFLEET_TEST_TIME_FACTOR", "1"))
