"""End-to-end scaffolding: a running `virtfleet up` (subprocess), the real `openstack`
CLI against it, and helpers for the real libvirt host.

Tests drive the cloud with the `openstack` CLI, but wait on it over plain HTTP
(:attr:`Cloud.api`): each CLI run costs about 2 s of CPU (its imports and a Keystone
login), so a loop polling `server show` or `console log show` kept a core busy that
the TCG guests under test needed."""

from __future__ import annotations

import atexit
import configparser
import functools
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from openstack.config import loader

from support import keystone
from support.ci import time_bound
from support.clouds import Recipe
from virtfleet.cli.apiclient import Client
from virtfleet.cli.target import find_server

VENV_BIN = pathlib.Path(sys.executable).parent
GUEST_IMAGES = pathlib.Path(os.environ.get("VIRTFLEET_IMAGES", "/var/lib/virtfleet/guest-images"))
REAL_HOST_CONF = "[libvirt]\nvirt_type = qemu\n"  # nested KVM here runs no guest code
#: The first config file of every process cloud (later ones override it): the tests'
#: busybox guests ignore the ACPI button, so stop and delete force them at once instead
#: of waiting the 60 s default; a graceful-stop test sets the image's os_shutdown_timeout.
BASE_CONF = "[compute]\nshutdown_timeout = 0\n"


def virsh(*args: str) -> str:
    """Run virsh against qemu:///system; its stdout, stripped."""
    return subprocess.run(
        ["virsh", "-c", "qemu:///system", *args], capture_output=True, text=True, check=False
    ).stdout.strip()


def virsh_error(*args: str) -> str:
    """Run virsh against qemu:///system; its stderr, stripped ("" when it worked)."""
    return subprocess.run(
        ["virsh", "-c", "qemu:///system", *args], capture_output=True, text=True, check=False
    ).stderr.strip()


def wait_for(predicate: Callable[[], bool], timeout: float = 90, step: float = 1.0) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


SMALL_FLEET = """
defaults:
  libvirt_version: 9.0.0
  qemu_version: 8.2.0
  disk_gb: 200
hosts:
  - name: kvm-a
    arch: x86_64
    virt_type: kvm
    emulators: [aarch64, s390x]
    cpus: 8
    memory_mb: 16384
    maxphysaddr_bits: 46
  - name: kvm-b
    arch: x86_64
    virt_type: kvm
    emulators: [aarch64]
    cpus: 4
    memory_mb: 8192
    maxphysaddr_bits: 39
  - name: arm-a
    arch: aarch64
    virt_type: kvm
    emulators: [x86_64]
    cpus: 8
    memory_mb: 16384
"""


#: Starts a cloud: ``start(tmp, fleet_text, *extra)`` (e.g. a second one on the same data dir).
StartCloud = Callable[..., "Cloud"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Cloud:
    """A `virtfleet up` process and how to reach it."""

    process: subprocess.Popen[str]
    endpoint: str
    clouds_yaml: pathlib.Path
    data_dir: pathlib.Path
    log: pathlib.Path

    @property
    def network_state_directory(self) -> pathlib.Path | None:
        """The dnsmasq state directory :func:`process_cloud` gave this cloud's real
        host (``[network] state_directory`` of its recipe.conf); None without one."""
        recipe = configparser.ConfigParser(strict=False, interpolation=None)
        recipe.read(self.data_dir.parent / "recipe.conf")
        found = recipe.get("network", "state_directory", fallback=None)
        return pathlib.Path(found) if found else None

    def openstack(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run the real openstack CLI against this cloud."""
        env = {
            **os.environ,
            "OS_CLIENT_CONFIG_FILE": str(self.clouds_yaml),
            "OS_CLOUD": "virtfleet",
        }
        result = subprocess.run(
            [str(VENV_BIN / "openstack"), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"openstack {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result

    def openstack_json(self, *args: str) -> Any:
        return json.loads(self.openstack(*args, "-f", "json").stdout)

    def token(self) -> str:
        """A Keystone token of the clouds.yaml user, for requests made without the CLI."""
        return self.openstack("token", "issue", "-f", "value", "-c", "id").stdout.strip()

    @functools.cached_property
    def api(self) -> Client:
        """virtfleet's HTTP client as the clouds.yaml user (its Keystone session keeps
        one token), for waiting without a CLI process per look."""
        region = loader.OpenStackConfig(config_files=[str(self.clouds_yaml)]).get_one(
            cloud="virtfleet"
        )
        if region.config.get("auth_type") in (None, "none"):
            return Client(self.endpoint)
        session = region.get_session()
        return Client(self.endpoint, token=lambda: str(session.get_token()))

    def server(self, name_or_id: str) -> dict[str, Any]:
        """The server's Compute API representation (latest microversion), by ID or
        exact name (as the ``virtfleet`` commands find it)."""
        return find_server(self.api, name_or_id)

    def console_log(self, name_or_id: str) -> str:
        """What `openstack console log show` prints: the guest's console output."""
        uuid = self.server(name_or_id)["id"]
        body = {"os-getConsoleOutput": {"length": None}}
        return str(self.api.compute("POST", f"/servers/{uuid}/action", body)["output"])

    def wait_status(self, server: str, wanted: str, timeout: float = 90) -> dict[str, Any]:
        """Poll (over HTTP) until the status is ``wanted`` or time runs out; then
        `openstack server show`."""
        deadline = time.monotonic() + timeout
        while self.server(server)["status"] != wanted and time.monotonic() < deadline:
            time.sleep(0.5)
        shown: dict[str, Any] = self.openstack_json("server", "show", server)
        return shown

    def usage(self, host: str) -> dict[str, int]:
        """Placement usage of ``host``'s root provider, by resource class."""
        providers = self.openstack_json("resource", "provider", "list", "--name", host)
        assert len(providers) == 1, providers
        rows = self.openstack_json("resource", "provider", "usage", "show", providers[0]["uuid"])
        return {row["resource_class"]: row["usage"] for row in rows}

    def allocations(self, consumer: str) -> list[dict[str, Any]]:
        """Placement allocations of ``consumer`` (a server id), one row per provider."""
        rows: list[dict[str, Any]] = self.openstack_json(
            "resource", "provider", "allocation", "show", consumer
        )
        return rows

    def virtfleet(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the ``virtfleet`` command against this cloud (``--endpoint`` added), as
        the admin of its clouds.yaml."""
        return subprocess.run(
            [str(VENV_BIN / "virtfleet"), *args, "--endpoint", self.endpoint],
            env={**os.environ, "OS_CLIENT_CONFIG_FILE": str(self.clouds_yaml)},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def assert_nothing_left(self, server: dict[str, Any]) -> None:
        """A server that failed to build left nothing behind: no placement allocation,
        no domain in libvirtd, no instance directory."""
        uuid = server["id"]
        assert self.allocations(uuid) == [], self.allocations(uuid)
        assert uuid not in virsh("list", "--all", "--uuid").split()
        assert not (self.data_dir / "instances" / uuid).exists()

    def kernel_image(
        self,
        arch: str,
        cmdline: str | None = None,
        name: str | None = None,
        properties: dict[str, str] | None = None,
    ) -> str:
        """Upload the real guest kernel + initramfs of ``arch`` (scripts/guest-images.sh)
        as aki/ari images (``<name>-aki``, ``<name>-ari``) and an ami image ``name`` that
        boots them (``cmdline``: its os_command_line, else virtfleet's default)."""
        name = name or f"kernel-{arch}"
        kernel, initrd = GUEST_IMAGES / f"vmlinuz-{arch}", GUEST_IMAGES / f"initrd-{arch}.gz"
        if not (kernel.exists() and initrd.exists()):
            pytest.fail(
                f"guest kernel for {arch} missing in {GUEST_IMAGES}: "
                f"run scripts/guest-images.sh {arch}"
            )
        ids = {}
        for kind, path in (("aki", kernel), ("ari", initrd)):
            formats = ["--disk-format", kind, "--container-format", kind]
            image = self.openstack_json("image", "create", *formats, "--file", str(path),
                                        f"{name}-{kind}")  # fmt: skip
            ids[kind] = image["id"]
        props = [f"kernel_id={ids['aki']}", f"ramdisk_id={ids['ari']}"]
        if cmdline:
            props.append(f"os_command_line={cmdline}")
        props += [f"{key}={value}" for key, value in (properties or {}).items()]
        prop_args = [arg for prop in props for arg in ("--property", prop)]
        formats = ["--disk-format", "ami", "--container-format", "ami"]
        self.openstack("image", "create", *formats, *prop_args, name)
        return name

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        """Stop the process with ``sig`` (SIGTERM or SIGINT); its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def process_cloud(tmp: pathlib.Path, recipe: Recipe, *extra: str) -> Cloud:
    """`virtfleet up` as a process, the process kind of the cloud family
    (support/clouds.py): ``recipe.fleet`` as its simulated hosts (None: none),
    ``recipe.libvirt`` adds the real qemu:///system host (TCG guests), ``recipe.conf``
    is written to its config file, ``recipe.auth`` ``keystone`` gives it its embedded
    Keystone (a copy of the session's bootstrapped one, on a free port); ``extra`` are
    further command-line arguments."""
    args: list[str] = []
    if recipe.auth == "keystone":
        keystone.seed(tmp / "data")
    config = tmp / "recipe.conf"  # tests may write their own virtfleet.conf beside it
    own = {"network__state_directory": network_state_directory()} if recipe.libvirt else {}
    config.write_text(
        (keystone.IDENTITY_CONF if recipe.auth == "keystone" else "")
        + (REAL_HOST_CONF if recipe.libvirt else "")
        + ini_lines({"api__auth_strategy": recipe.auth, **own, **recipe.conf})
    )
    args += ["--config", str(config)]
    if recipe.fleet is not None:
        fleet = tmp / "fleet.yaml"
        fleet.write_text(recipe.fleet)
        args += ["--fleet", str(fleet)]
    if recipe.libvirt:
        args += ["--libvirt", "qemu:///system"]
    return _run_up(tmp, [*args, *extra])


def network_state_directory() -> str:
    """A real host's dnsmasq state directory of this cloud's own. At its start an agent
    stops every dnsmasq in its state directory that it does not want, so clouds sharing
    the default one killed each other's DHCP and metadata proxies. dnsmasq runs as
    ``nobody``: the directory is not under pytest's tmp (mode 0700) but readable by all,
    and removed when the test process ends."""
    base = pathlib.Path("/var/tmp/virtfleet-test-network")
    base.mkdir(mode=0o755, exist_ok=True)
    own = tempfile.mkdtemp(prefix="cloud-", dir=base)
    os.chmod(own, 0o755)
    atexit.register(shutil.rmtree, own, ignore_errors=True)
    return own


def ini_lines(conf: Mapping[str, Any]) -> str:
    """``make_conf``-style overrides (``group__option``, lists as repeated lines) as
    config file sections."""
    sections: dict[str, list[str]] = {}
    for key, value in conf.items():
        group, _, option = key.rpartition("__")
        values = value if isinstance(value, list | tuple) else [value]
        lines = sections.setdefault(group or "DEFAULT", [])
        lines += [f"{option} = {one}" for one in values]
    return "".join(
        f"[{group}]\n" + "".join(f"{line}\n" for line in lines) for group, lines in sections.items()
    )


def start_cloud(tmp: pathlib.Path, fleet_text: str | None = SMALL_FLEET, *extra: str) -> Cloud:
    """`virtfleet up` on ``fleet_text`` (None: no simulated hosts) plus ``extra`` args,
    with its embedded Keystone."""
    return process_cloud(tmp, Recipe(fleet=fleet_text, auth="keystone"), *extra)


def start_real_cloud(tmp: pathlib.Path, libvirt_options: str = "", *extra: str) -> Cloud:
    """`virtfleet up` with the real qemu:///system host only (TCG guests);
    ``libvirt_options`` are further lines of its [libvirt] section."""
    options = tmp / "libvirt-options.conf"
    options.write_text("[libvirt]\n" + libvirt_options)
    recipe = Recipe(libvirt=True, auth="keystone")
    return process_cloud(tmp, recipe, "--config", str(options), *extra)


def _run_up(tmp: pathlib.Path, args: list[str]) -> Cloud:
    """Run `virtfleet up` with ``args`` on ``tmp``'s data directory and a free port;
    the cloud once it answers and has written its clouds.yaml."""
    port = free_port()
    log = tmp / "virtfleet.log"
    (tmp / "clouds.yaml").unlink(missing_ok=True)  # written again once this one is up
    base = tmp / "base.conf"
    base.write_text(BASE_CONF)
    cloud = Cloud(
        process=subprocess.Popen(
            [
                str(VENV_BIN / "virtfleet"),
                "-v",
                "up",
                "--config",
                str(base),
                *args,
                "--listen",
                f"127.0.0.1:{port}",
                "--data-dir",
                str(tmp / "data"),
                "--clouds-yaml",
                str(tmp / "clouds.yaml"),
            ],
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            text=True,
        ),
        endpoint=f"http://127.0.0.1:{port}",
        clouds_yaml=tmp / "clouds.yaml",
        data_dir=tmp / "data",
        log=log,
    )
    deadline = time.monotonic() + time_bound(120)  # scaled while workers share the cores
    while time.monotonic() < deadline:
        if cloud.process.poll() is not None:
            raise AssertionError(f"virtfleet up exited early:\n{log.read_text()}")
        try:
            urllib.request.urlopen(cloud.endpoint + "/compute/v2.1", timeout=2).read()
            if cloud.clouds_yaml.exists():
                return cloud
        except OSError:
            pass
        time.sleep(0.2)
    cloud.stop()
    raise AssertionError(f"virtfleet up did not come up:\n{log.read_text()}")
