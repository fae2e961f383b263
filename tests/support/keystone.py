"""A real Keystone for the tests, bootstrapped once per test session.

``keystone-manage`` takes seconds to create a database (more on a busy machine), so the
first caller bootstraps one template directory and every cloud gets a copy of it in its
data dir (``seed``): `virtfleet up` then finds a bootstrapped Keystone and only starts
it. ``running_keystone`` starts one shared Keystone process for tests that configure
``[keystone_authtoken]`` themselves (distributed-mode style).
"""

from __future__ import annotations

import atexit
import functools
import pathlib
import shutil
import tempfile
import threading
import time

from virtfleet.identity import bootstrap
from virtfleet.identity.embedded import EmbeddedKeystone
from virtfleet.identity.layout import KeystoneLayout

REGION = "RegionOne"
_LOCK = threading.Lock()
#: Seconds the template's bootstrap took (for the record: tests print it).
BOOTSTRAP_SECONDS: list[float] = []


@functools.cache
def template() -> KeystoneLayout:
    """The session's bootstrapped Keystone directory (made on first use)."""
    with _LOCK:
        root = pathlib.Path(tempfile.mkdtemp(prefix="virtfleet-keystone-template-"))
        atexit.register(shutil.rmtree, root, True)
        layout = KeystoneLayout(root / "keystone")
        started = time.monotonic()
        bootstrap.bootstrap(layout, REGION)
        BOOTSTRAP_SECONDS.append(time.monotonic() - started)
        return layout


def seed(data_dir: pathlib.Path) -> KeystoneLayout:
    """Copy the template into ``data_dir``'s Keystone directory (unless one is there)."""
    layout = KeystoneLayout.in_data_dir(data_dir)
    if not layout.is_bootstrapped():
        data_dir.mkdir(parents=True, exist_ok=True)
        shutil.copytree(template().root, layout.root, dirs_exist_ok=True)
    return layout


IDENTITY_CONF = "[identity]\nlisten = 127.0.0.1:0\n"


@functools.cache
def running_keystone() -> EmbeddedKeystone:
    """One Keystone process for the whole session (stopped at exit)."""
    root = pathlib.Path(tempfile.mkdtemp(prefix="virtfleet-keystone-"))
    atexit.register(shutil.rmtree, root, True)
    layout = seed(root)
    keystone = EmbeddedKeystone(layout, "127.0.0.1:0", REGION, start_timeout=120)
    keystone.start()
    atexit.register(keystone.stop)
    return keystone
