"""Suite-wide test configuration.

Tests marked ``libvirt`` need a real libvirtd with QEMU at ``qemu:///system``. On a
developer machine without one they are skipped; under CI (``CI=true``) a missing
libvirtd is an error, so those tests can never silently vanish.

Under pytest-xdist (``-n N --dist loadgroup``, as scripts/test.sh runs the suite) each
module runs whole on one worker, so its module-scoped clouds start once. The modules on
the machine's own libvirtd (``libvirt``) are dealt in turn into ``HOST_GROUPS`` groups,
each run on one worker: no more real guest modules than that share the cores at once.
The long groups run first (``longest_first``), so the run does not end waiting on one.
Clouds on one libvirtd keep apart (an agent reaps only domains under its own instances
path). A module marked ``libvirt_hosts`` starts libvirt hosts of its own
(scripts/libvirt-hosts.sh); kernel networking tests work in namespaces of their own;
distributed deployments share the one RabbitMQ but not its topics (a control_exchange
each).

The suite never reads or writes the user's own OpenStack client configuration: each
process points ``$OS_CLIENT_CONFIG_FILE`` and ``$XDG_CONFIG_HOME`` at a directory of its
own (``$HOME`` too: openstacksdk also searches ~/.config/openstack) and drops ``$OS_*``
settings, so a ``virtfleet`` cloud in the user's clouds.yaml (which `virtfleet up`
writes) cannot redirect a CLI test to another cloud, nor a test write there.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import tempfile

import pytest

#: Fixtures shared by every directory: databases and clouds (tests/support/plugin.py).
pytest_plugins = ["support.plugin"]


def _own_client_config() -> None:
    """This process's own (empty) client configuration place; see the docstring. Done
    at import, before any module reads the search path openstacksdk fixes at its own
    import; xdist workers inherit it and make their own."""
    for name in [n for n in os.environ if n.startswith("OS_")]:
        del os.environ[name]
    os.environ.setdefault("XDG_CACHE_HOME", os.path.expanduser("~/.cache"))  # caches kept
    home = tempfile.mkdtemp(prefix="virtfleet-test-home-")
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    os.environ["HOME"] = home
    os.environ["XDG_CONFIG_HOME"] = os.path.join(home, ".config")
    os.environ["OS_CLIENT_CONFIG_FILE"] = os.path.join(home, ".config", "openstack", "clouds.yaml")


_own_client_config()


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


#: Groups the modules with real guests on the machine's libvirtd are dealt into.
HOST_GROUPS = 2


def worker_groups(items: list[pytest.Item]) -> dict[str, str]:
    """The xdist group of each test module: a ``host-N`` group for a module with tests
    on the machine's libvirtd (dealt in collection order), else the module itself."""
    groups: dict[str, str] = {}
    dealt = 0
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        on_host = "libvirt" in item.keywords and "libvirt_hosts" not in item.keywords
        if on_host and not groups.get(module, "").startswith("host-"):
            groups[module] = f"host-{dealt % HOST_GROUPS}"
            dealt += 1
        groups.setdefault(module, module)
    return groups


def longest_first(items: list[pytest.Item], groups: dict[str, str]) -> None:
    """Put the long groups first, so no worker starts one near the end: the groups on
    the machine's libvirtd, then modules with libvirt hosts of their own, then the
    other slow ones (a stable sort: modules keep their order and stay whole)."""
    rank: dict[str, int] = {}
    for item in items:
        group = groups[item.nodeid.split("::", 1)[0]]
        if group.startswith("host-"):
            kind = 0
        elif "libvirt_hosts" in item.keywords:
            kind = 1
        elif "slow" in item.keywords:
            kind = 2
        else:
            kind = 3
        rank[group] = min(rank.get(group, kind), kind)
    items.sort(key=lambda item: rank[groups[item.nodeid.split("::", 1)[0]]])


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups in the same hook
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    groups = worker_groups(items)
    for item in items:
        item.add_marker(pytest.mark.xdist_group(groups[item.nodeid.split("::", 1)[0]]))
    longest_first(items, groups)
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
