"""First start of the embedded Keystone: database, keys, admin user and roles.

``keystone-manage`` does the work (``db_sync``, ``fernet_setup``, ``credential_setup``,
``bootstrap``); ``bootstrap`` creates the ``admin`` user and project and the ``admin``,
``member``, ``reader`` and ``service`` roles. The catalog is registered at every start
by :mod:`virtfleet.identity.catalog`, since the endpoints' URLs can change.
"""

from __future__ import annotations

import getpass
import grp
import os
import pathlib
import shutil
import subprocess
import sys

from virtfleet import errors
from virtfleet.identity.layout import ADMIN_PROJECT, ADMIN_USER, KeystoneLayout


def keystone_manage() -> str:
    """The ``keystone-manage`` of this Python environment."""
    beside = pathlib.Path(sys.executable).parent / "keystone-manage"
    found = str(beside) if beside.exists() else shutil.which("keystone-manage")
    if found is None:
        raise errors.ConfigError(
            "keystone-manage not found: install the 'keystone' package "
            "(pip install -e . installs it with virtfleet)"
        )
    return found


def _run(layout: KeystoneLayout, *args: str, env: dict[str, str] | None = None) -> None:
    command = [keystone_manage(), "--config-file", str(layout.config_file), *args]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**_env(layout), **(env or {})},
    )
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-5:])
        raise errors.ConfigError(f"keystone-manage {args[0]} failed ({result.returncode}): {tail}")


def _env(layout: KeystoneLayout) -> dict[str, str]:
    # keystone-manage would also read /etc/keystone/keystone.conf: only ours counts.
    return {**os.environ, "OS_KEYSTONE_CONFIG_DIR": str(layout.root)}


def bootstrap(layout: KeystoneLayout, region: str) -> None:
    """Create the database, keys and admin identity in ``layout`` (idempotent: a
    bootstrapped directory is left alone; a half-made one is made again)."""
    if layout.is_bootstrapped():
        return
    layout.write_config()
    layout.make_passwords()
    layout.database.unlink(missing_ok=True)
    user, group = getpass.getuser(), grp.getgrgid(os.getgid()).gr_name
    owner = ["--keystone-user", user, "--keystone-group", group]
    _run(layout, "db_sync")
    _run(layout, "fernet_setup", *owner)
    _run(layout, "credential_setup", *owner)
    _run(
        layout,
        "bootstrap",
        "--bootstrap-username",
        ADMIN_USER,
        "--bootstrap-project-name",
        ADMIN_PROJECT,
        "--bootstrap-region-id",
        region,
        # In the environment, not on the command line that `ps` shows.
        env={"OS_BOOTSTRAP_PASSWORD": layout.admin_password()},
    )
    layout.bootstrapped_marker.write_text("keystone-manage bootstrap done\n")
