"""An in-process embedded cloud on a fleet file, for tests that drive the APIs."""

from __future__ import annotations

import pathlib
import time
from dataclasses import dataclass
from typing import Any

from virtfleet import conf as vconf
from virtfleet.agent.manager import ComputeAgent
from virtfleet.cli import clouds
from virtfleet.cli.apiclient import Client
from virtfleet.control_plane import ControlPlane, EmbeddedCloud
from virtfleet.virt.sim import SimHypervisor, hypervisor_for, load_fleet


def start_embedded(
    tmp: pathlib.Path, fleet_text: str, source: str, hosts: int, **overrides: Any
) -> tuple[EmbeddedCloud, pathlib.Path]:
    """Start an embedded cloud on ``fleet_text`` (listening on a free port, no host-cache
    delay, plus ``overrides``), write its clouds.yaml, and wait until ``hosts`` hosts
    have reported (the cloud is stopped again when it does not get there). Returns the
    cloud and the clouds.yaml path."""
    conf = vconf.make_conf(
        data_dir=str(tmp / "data"),
        api__listen="127.0.0.1:0",
        scheduler__host_cache_seconds=0,
        **overrides,
    )
    embedded = EmbeddedCloud(conf, load_fleet(fleet_text, source=source))
    try:
        embedded.start()
        clouds_yaml = tmp / "clouds.yaml"
        clouds.write_entry(clouds_yaml, embedded.endpoint)
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
    def control(self) -> ControlPlane:
        assert self.embedded.control is not None
        return self.embedded.control

    def agent(self, host: str) -> ComputeAgent:
        return next(a for a in self.embedded.agents if a.host == host)

    def hypervisor(self, host: str) -> SimHypervisor:
        fleet = self.embedded.fleet
        assert fleet is not None
        return hypervisor_for(fleet, host)
