"""Suite-wide test configuration.

Tests marked ``libvirt`` need a real libvirtd with QEMU at ``qemu:///system``. On a
developer machine without one they are skipped; under CI (``CI=true``) a missing
libvirtd is an error, so those tests can never silently vanish.
"""

from __future__ import annotations

import functools
import os
import subprocess

import pytest

#: Fixtures shared by every directory: databases and clouds (tests/support/plugin.py).
pytest_plugins = ["support.plugin"]


@functools.cache
def libvirt_available() -> bool:
    try:
        result = subprocess.run(
            ["virsh", "-c", "qemu:///system", "version"],
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if libvirt_available():
        return
    in_ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    for item in items:
        if "libvirt" in item.keywords:
            if in_ci:
                item.add_marker(pytest.mark.usefixtures("_libvirt_required"))
            else:
                item.add_marker(pytest.mark.skip(reason="no libvirtd at qemu:///system"))


@pytest.fixture
def _libvirt_required() -> None:
    pytest.fail("CI=true but no libvirtd answers at qemu:///system (scripts/libvirtd-up.sh)")
