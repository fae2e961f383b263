"""The one family of test clouds. Every test that starts a cloud gets it from here,
through the fixtures of support/plugin.py or these functions.

A cloud is described by a :class:`Recipe` (fleet text, conf overrides, database
:class:`Variant`, auth mode, real libvirt); the kind of cloud is the starter it is
handed to:

- **embedded simulated** (in-process, HTTP): :func:`sim_cloud` -- control plane, one
  agent per simulated host of the fleet and the HTTP listener in this process; an
  :class:`EmbeddedView` (or a scenario's subclass of it, e.g. support.fleet_cloud's)
  looks behind its APIs. Fixture ``start_sim_cloud``.
- **without HTTP** (in-process, conductor-level): :func:`support.control.control_cloud`
  -- the control plane's services on the test's database and one agent per host
  (support.harness, slice_cloud and vgpu_cloud are its scenarios).
- **process** (``virtfleet up``, the simulated fleet and/or the real qemu:///system
  host): :func:`support.cloud.process_cloud` -- fixture ``libvirt_cloud``.
- **distributed**: :class:`support.distributed.Deployment` (``virtfleet server`` and
  ``virtfleet agent`` processes over RabbitMQ) -- fixture ``distributed_cloud``.

The ``cloud_variant`` fixture picks the variant of a module's clouds and a directory
can parametrise it, e.g. ``@pytest.mark.parametrize("cloud_variant", VARIANTS,
indirect=True)``. A new variant is a new field of :class:`Variant` and one more conf
override in :meth:`Variant.conf_overrides`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import pathlib
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import pytest

from support import keystone as test_keystone
from support.databases import BACKENDS, database_url
from virtfleet import conf as vconf
from virtfleet.agent.manager import ComputeAgent
from virtfleet.cli import clouds
from virtfleet.cli.apiclient import Client
from virtfleet.control_plane import ControlPlane, EmbeddedCloud
from virtfleet.db import hosts
from virtfleet.identity import authtoken, catalog
from virtfleet.identity import limits as identity_limits
from virtfleet.identity.embedded import EmbeddedKeystone
from virtfleet.identity.layout import ADMIN_PROJECT, ADMIN_USER
from virtfleet.identity.session import password_session
from virtfleet.virt.sim import SimHypervisor, hypervisor_for, load_fleet

#: How a cloud's APIs take callers: ``noauth`` (the test mode) or ``keystone`` (tokens
#: of a real Keystone: the session's shared one in-process, the cloud's own embedded
#: one for ``virtfleet up``).
AuthMode = Literal["noauth", "keystone"]


@dataclass(frozen=True)
class Variant:
    """How a cloud of any kind is set up beyond its fleet: ``database`` is one of
    support.databases.BACKENDS (``sqlite``: a file in the data directory)."""

    database: str = "sqlite"

    def __post_init__(self) -> None:
        if self.database not in BACKENDS:
            raise ValueError(f"unknown database backend {self.database!r}; known: {BACKENDS}")

    @property
    def id(self) -> str:
        return self.database

    @contextlib.contextmanager
    def conf_overrides(self, tmp: pathlib.Path) -> Iterator[dict[str, Any]]:
        """The configuration options of this variant (``make_conf`` keywords), valid
        until the context ends (a PostgreSQL database is dropped then)."""
        if self.database == "sqlite":
            yield {}
            return
        with database_url(self.database, tmp, "cloud") as url:
            yield {"database__connection": url}


#: Every variant, as parameters marked with their backend (``-m "not postgresql"``):
#: ``@pytest.mark.parametrize("cloud_variant", VARIANTS, indirect=True)``.
VARIANTS = [
    pytest.param(Variant(database=backend), marks=getattr(pytest.mark, backend), id=backend)
    for backend in BACKENDS
]


@dataclass(frozen=True)
class Recipe:
    """What a test cloud is made of, whatever its kind.

    ``fleet``: fleet file text of the simulated hosts (None: none); ``source``: its name
    in messages; ``hosts``: how many hosts must report before the cloud is handed out
    (default: every host of the fleet); ``conf``: ``make_conf`` overrides
    (``group__option``); ``variant``: the database; ``auth``: see :data:`AuthMode`;
    ``libvirt``: also the real qemu:///system host (process clouds)."""

    fleet: str | None = None
    source: str = "fleet.yaml"
    hosts: int | None = None
    conf: Mapping[str, Any] = field(default_factory=dict)
    variant: Variant = Variant()
    auth: AuthMode = "noauth"
    libvirt: bool = False

    def but(self, **changes: Any) -> Recipe:
        """This recipe with ``changes``; ``conf`` changes are added to its conf."""
        if "conf" in changes:
            changes["conf"] = {**self.conf, **changes["conf"]}
        return dataclasses.replace(self, **changes)

    def host_count(self) -> int:
        """The hosts the cloud waits for."""
        if self.hosts is not None:
            return self.hosts
        simulated = len(load_fleet(self.fleet, source=self.source).names) if self.fleet else 0
        return simulated + (1 if self.libvirt else 0)


@dataclass
class EmbeddedView:
    """A running embedded cloud of simulated hosts and ways to look behind its APIs.
    Scenario views subclass it; every view is made as ``view(embedded, clouds_yaml,
    keystone)`` by :func:`sim_cloud`."""

    embedded: EmbeddedCloud
    clouds_yaml: pathlib.Path
    keystone: EmbeddedKeystone | None = None

    @property
    def endpoint(self) -> str:
        return self.embedded.endpoint

    @functools.cached_property
    def client(self) -> Client:
        """A Compute/Image/Placement API client of this cloud."""
        return Client(self.endpoint)

    @property
    def control(self) -> ControlPlane:
        assert self.embedded.control is not None
        return self.embedded.control

    def agent(self, host: str) -> ComputeAgent:
        return next(a for a in self.embedded.agents if a.host == host)

    def hypervisor(self, host: str) -> SimHypervisor:
        fleet = self.embedded.fleet
        assert fleet is not None
        return hypervisor_for(fleet, host)


View = TypeVar("View", bound=EmbeddedView)


@contextlib.contextmanager
def sim_cloud(
    tmp: pathlib.Path,
    recipe: Recipe,
    view: type[View] = EmbeddedView,  # type: ignore[assignment]  # View's own bound
) -> Iterator[View]:
    """An embedded simulated cloud of ``recipe`` for the ``with`` block, seen through
    ``view``: listening on a free port, no host-cache delay, its clouds.yaml at
    ``tmp/clouds.yaml``, handed out once its hosts have reported; stopped, and its
    database dropped, afterwards."""
    assert recipe.fleet is not None and not recipe.libvirt, "embedded clouds are simulated"
    with variant_conf(tmp, recipe) as conf:
        keystone = _use_keystone(conf) if recipe.auth == "keystone" else None
        fleet = load_fleet(recipe.fleet, source=recipe.source)
        embedded = EmbeddedCloud(conf, fleet)
        try:
            embedded.start()
            clouds_yaml = tmp / "clouds.yaml"
            if keystone is None:
                clouds.write_entry(clouds_yaml, clouds.noauth_entry(embedded.endpoint))
            else:
                _register(keystone, embedded.endpoint)
            _wait_for_hosts(embedded, recipe.host_count())
            yield view(embedded, clouds_yaml, keystone)
        finally:
            embedded.stop()


@contextlib.contextmanager
def variant_conf(tmp: pathlib.Path, recipe: Recipe) -> Iterator[Any]:
    """The configuration of an in-process cloud of ``recipe`` with its data under
    ``tmp/data`` (valid while the context lasts: a PostgreSQL database is dropped at
    its end)."""
    settings: dict[str, Any] = {
        "data_dir": str(tmp / "data"),
        "api__listen": "127.0.0.1:0",
        "api__auth_strategy": recipe.auth,
        "scheduler__host_cache_seconds": 0,
    }
    if recipe.auth == "keystone":
        settings["identity__embedded"] = False  # the session's shared Keystone
    with recipe.variant.conf_overrides(tmp) as database:
        yield vconf.make_conf(**{**settings, **database, **recipe.conf})


def admin_session(keystone: EmbeddedKeystone) -> Any:
    """A password session of Keystone's bootstrap admin."""
    return password_session(
        keystone.auth_url, ADMIN_USER, keystone.layout.admin_password(), ADMIN_PROJECT
    )


def _use_keystone(conf: Any) -> EmbeddedKeystone:
    """The session's Keystone for tokens and (as `virtfleet up` does) quota limits."""
    keystone = test_keystone.running_keystone()
    password = keystone.layout.service_password()
    authtoken.use_keystone(conf, keystone.auth_url, password)
    identity_limits.use_keystone(conf, keystone.auth_url, password, test_keystone.REGION)
    return keystone


def _register(keystone: EmbeddedKeystone, endpoint: str) -> None:
    """The cloud's services in the shared Keystone's catalog."""
    admin = catalog.IdentityAdmin(admin_session(keystone), keystone.auth_url)
    urls = catalog.service_urls(keystone.auth_url, endpoint)
    catalog.register(admin, keystone.layout.service_password(), urls, test_keystone.REGION)


def _wait_for_hosts(embedded: EmbeddedCloud, count: int) -> None:
    assert embedded.control is not None
    deadline = time.monotonic() + 30
    while len(hosts.list_hosts(embedded.control.db)) < count:
        assert time.monotonic() < deadline, f"{count} hosts did not report in 30 s"
        time.sleep(0.05)
