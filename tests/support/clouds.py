"""The one family of test clouds. Every test that starts a cloud gets it from here,
through the fixtures of support/plugin.py or these functions:

- **embedded simulated**: :func:`start_embedded` (control plane, one agent per simulated
  host of a fleet file and the HTTP listener, in this process); :class:`EmbeddedView`
  looks behind its APIs. Scenario helpers (fleet_cloud, migration_cloud, orphan_cloud,
  emulation_cloud, fuzz_cloud) build on it with their fleets and seeds.
- **embedded real libvirt**: :func:`support.cloud.start_real_cloud` (``virtfleet up
  --libvirt qemu:///system`` as a process) -- fixture ``libvirt_cloud``.
- **distributed**: :class:`support.distributed.Deployment` (``virtfleet server`` and
  ``virtfleet agent`` processes over RabbitMQ) -- fixture ``distributed_cloud``.
- below HTTP, for conductor-level scenarios: :func:`support.control.start_control`
  (harness, slice_cloud and vgpu_cloud build on it).

A variant of a kind is a :class:`Variant` (today: the database backend); the
``cloud_variant`` fixture picks it and a directory can parametrise it, e.g.
``@pytest.mark.parametrize("cloud_variant", VARIANTS, indirect=True)``. A new variant
(identity mode, ...) is a new field here and one more conf override in
:meth:`Variant.conf_overrides`.
"""

from __future__ import annotations

import contextlib
import pathlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from support.databases import BACKENDS, database_url
from virtfleet import conf as vconf
from virtfleet.agent.manager import ComputeAgent
from virtfleet.cli import clouds
from virtfleet.cli.apiclient import Client
from virtfleet.control_plane import ControlPlane, EmbeddedCloud
from virtfleet.virt.sim import SimHypervisor, hypervisor_for, load_fleet


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


@contextlib.contextmanager
def embedded_cloud(
    tmp: pathlib.Path,
    fleet_text: str,
    hosts: int,
    variant: Variant = Variant(),
    source: str = "fleet.yaml",
    **overrides: Any,
) -> Iterator[EmbeddedView]:
    """An embedded simulated cloud of ``variant`` for the ``with`` block (see
    :func:`start_embedded`; its clouds.yaml is ``tmp/clouds.yaml``); stopped, and its
    database dropped, afterwards."""
    with variant.conf_overrides(tmp) as variant_overrides:
        embedded, _ = start_embedded(
            tmp, fleet_text, source, hosts, **variant_overrides, **overrides
        )
        try:
            yield EmbeddedView(embedded)
        finally:
            embedded.stop()


def start_embedded(
    tmp: pathlib.Path, fleet_text: str, source: str, hosts: int, **overrides: Any
) -> tuple[EmbeddedCloud, pathlib.Path]:
    """Start an embedded cloud on ``fleet_text`` (listening on a free port, no host-cache
    delay, plus ``overrides``), write its clouds.yaml, and wait until ``hosts`` hosts
    have reported (the cloud is stopped again when it does not get there). Returns the
    cloud and the clouds.yaml path."""
    settings: dict[str, Any] = {
        "data_dir": str(tmp / "data"),
        "api__listen": "127.0.0.1:0",
        # These clouds do not test identity (tests/e2e/identity does).
        "api__auth_strategy": "noauth",
        "scheduler__host_cache_seconds": 0,
    }
    conf = vconf.make_conf(**{**settings, **overrides})
    embedded = EmbeddedCloud(conf, load_fleet(fleet_text, source=source))
    try:
        embedded.start()
        clouds_yaml = tmp / "clouds.yaml"
        clouds.write_entry(clouds_yaml, clouds.noauth_entry(embedded.endpoint))
        client = Client(embedded.endpoint)
        deadline = time.monotonic() + 30
        while len(client.hypervisors()) < hosts:
            assert time.monotonic() < deadline, "hosts did not report"
            time.sleep(0.05)
    except BaseException:
        embedded.stop()
        raise
    return embedded, clouds_yaml


@dataclass
class EmbeddedView:
    """A running embedded cloud of simulated hosts and ways to look behind its APIs."""

    embedded: EmbeddedCloud

    @property
    def endpoint(self) -> str:
        return self.embedded.endpoint

    @property
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
