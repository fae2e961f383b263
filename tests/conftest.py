"""Suite-wide test configuration.

Tests marked ``libvirt`` need a real libvirtd with QEMU at ``qemu:///system``. On a
developer machine without one they are skipped; under CI (``CI=true``) a missing
libvirtd is an error, so those tests can never silently vanish.

Under pytest-xdist (``-n N --dist loadgroup``, as scripts/test.sh runs the suite) each
module runs whole on one worker, so its module-scoped clouds start once. The tests on
the machine's own libvirtd (``libvirt``) run on one worker, one after another (``host``
group): clouds on one libvirtd would take each other's guests for orphans. A module
marked ``libvirt_hosts`` starts libvirt hosts of its own (scripts/libvirt-hosts.sh) and
runs beside them. Kernel networking tests work in namespaces of their own; distributed
deployments share the one RabbitMQ but not its topics (a control_exchange each).
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


def worker_group(item: pytest.Item) -> str:
    """The xdist group of a test: ``host`` for the machine's libvirtd, else its module."""
    if "libvirt" in item.keywords and "libvirt_hosts" not in item.keywords:
        return "host"
    return item.nodeid.split("::", 1)[0]


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups in the same hook
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.xdist_group(worker_group(item)))
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
