"""The kind of the cloud family (support/clouds.py) without HTTP: real placement on the
test's database, the real scheduler and conductor on a LocalTransport, an image service
with one tiny image, and one agent per simulated host of the recipe's fleet, whose
drivers need no qemu-img. :func:`control_cloud` starts one; support.harness,
slice_cloud and vgpu_cloud are its scenarios (recipes and views)."""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Mapping
from typing import Any, Literal, TypeVar

from oslo_config import cfg

from support.clouds import Recipe
from virtfleet import conf as vconf
from virtfleet.agent import image_cache
from virtfleet.agent.manager import ComputeAgent
from virtfleet.agent.mdev.claims import MdevClaimStore
from virtfleet.api.compute.boot_checks import image_snapshot
from virtfleet.conductor.manager import Conductor
from virtfleet.control_plane import ImageServiceSource
from virtfleet.db import servers
from virtfleet.db.engine import Database
from virtfleet.image.file_store import FileStore
from virtfleet.image.service import ImageService
from virtfleet.objects.guest_request import GuestRequest
from virtfleet.objects.guest_resolution import BootPair, resolve_guest_request
from virtfleet.placement.service import PlacementService
from virtfleet.rpc.transport import LocalTransport
from virtfleet.scheduler.manager import Scheduler
from virtfleet.virt import arch as virt_arch
from virtfleet.virt.connection import open_connection
from virtfleet.virt.libvirt.driver import LibvirtDriver
from virtfleet.virt.sim import Fleet, SimHypervisor, hypervisor_for, load_fleet
from virtfleet.virt.sim.agentconf import conf_overrides

#: How an agent of a control cloud is configured: ``test`` (:func:`sim_agent_conf`: KVM,
#: no overcommit limits, nothing reserved) or ``profile`` (from the host's fleet profile,
#: as ``virtfleet up`` does: slices, CPU mode, its ``config:`` block).
AgentSetup = Literal["test", "profile"]


class FakeImageTool:
    """Creates the overlay file without qemu-img."""

    def create_overlay(self, path: str, backing: str, backing_format: str, size_gb: int) -> None:
        pathlib.Path(path).write_bytes(b"")

    def convert(self, source: str, source_format: str, target: str) -> None:
        pathlib.Path(target).write_bytes(pathlib.Path(source).read_bytes())

    def copy_disk(
        self, source: str, target: str, backing: str, backing_format: str, size_gb: int
    ) -> None:
        pathlib.Path(target).write_bytes(pathlib.Path(source).read_bytes())

    def rebase(self, target: str, backing: str, backing_format: str) -> None:
        pass  # no backing file to name


def guest_request_of(flavor: Mapping[str, Any], image: Mapping[str, Any]) -> GuestRequest:
    """The guest request the Compute API would resolve for a flavor snapshot and an
    image snapshot (for servers created without the API)."""
    pair = BootPair(
        flavor_name=str(flavor.get("name", "")),
        memory_mb=int(flavor.get("memory_mb", 0)),
        extra_specs=dict(flavor.get("extra_specs") or {}),
        image_id=str(image.get("id", "")),
        image_properties=dict(image.get("properties") or {}),
    )
    return resolve_guest_request(pair, virt_arch.canonicalize)


@dataclasses.dataclass
class ControlServices:
    """The control plane's services over one database, the conductor started."""

    db: Database
    placement: PlacementService
    scheduler: Scheduler
    conductor: Conductor
    transport: LocalTransport
    images: ImageService
    image_id: str

    def new_server(
        self,
        flavor: Mapping[str, Any],
        image_id: str | None = None,
        name: str = "vm",
        metadata: dict[str, str] | None = None,
    ) -> str:
        """A server row in BUILD with ``flavor`` (a flavor snapshot) and the image
        ``image_id`` (the tiny image by default); its uuid."""
        image = image_id or self.image_id
        snapshot = dict(image_snapshot(self.images.get(image)))
        server = servers.create(
            self.db,
            name=name,
            metadata=metadata,
            flavor=dict(flavor),
            image_ref=image,
            image=snapshot,
            guest_request=guest_request_of(flavor, snapshot),
            project_id="project",
            user_id="user",
        )
        return server.uuid

    def build(self, uuid: str) -> servers.Server:
        """Run the conductor's build of ``uuid`` to its end; the server afterwards."""
        self.conductor.build_server(uuid)
        self.conductor.drain(30)
        return servers.get(self.db, uuid)


def start_control(tmp_path: pathlib.Path, db: Database, **overrides: Any) -> ControlServices:
    """Start the services with their data under ``tmp_path`` (no host-cache delay, plus
    ``overrides`` as for :func:`virtfleet.conf.make_conf`)."""
    conf = vconf.make_conf(
        data_dir=str(tmp_path), **{"scheduler__host_cache_seconds": 0, **overrides}
    )
    placement = PlacementService(db)
    scheduler = Scheduler(conf, db, placement)
    transport = LocalTransport()
    images = ImageService(db, FileStore(tmp_path))
    image = images.create({"name": "tiny", "disk_format": "raw", "container_format": "bare"})
    images.upload(image.id, [b"\0" * 4096])
    conductor = Conductor(conf, db, placement, scheduler, transport, images)
    conductor.start()
    return ControlServices(db, placement, scheduler, conductor, transport, images, image.id)


def sim_agent_conf(data_dir: pathlib.Path, host: str, **overrides: Any) -> cfg.ConfigOpts:
    """An agent's configuration for simulated host ``host`` (KVM, no overcommit limits
    in the way, no periodic refresh: tests refresh explicitly), plus ``overrides``."""
    return vconf.make_conf(
        **{
            "data_dir": str(data_dir),
            "host": host,
            "cpu_allocation_ratio": 16.0,
            "reserved_host_memory_mb": 0,
            "libvirt__connection_uri": f"sim://{host}",
            "libvirt__virt_type": "kvm",
            "compute__resource_provider_refresh_interval": 0,
            **overrides,
        }
    )


def start_sim_agent(
    fleet: Fleet,
    host: str,
    conf: cfg.ConfigOpts,
    transport: LocalTransport,
    claims: MdevClaimStore | None = None,
    images: ImageService | None = None,
) -> tuple[ComputeAgent, LibvirtDriver]:
    """Start the agent of simulated host ``host`` with ``conf``; it and its driver. Its
    image data comes from ``images`` (the image service of the test's control plane)."""
    driver = LibvirtDriver(open_connection(f"sim://{host}", fleet), conf, FakeImageTool())
    cache = None
    if images is not None:
        cache = image_cache.from_conf(conf, ImageServiceSource(images))
    agent = ComputeAgent(conf, host, driver, transport, claims, images=cache)
    agent.start()
    return agent, driver


def profile_agent_conf(
    fleet: Fleet, host: str, data_dir: pathlib.Path, /, **overrides: Any
) -> cfg.ConfigOpts:
    """An agent's configuration from host ``host``'s fleet profile (no periodic
    refresh: tests refresh explicitly), plus ``overrides``."""
    return vconf.make_conf(
        data_dir=str(data_dir),
        compute__resource_provider_refresh_interval=0,
        **{**conf_overrides(fleet.host(host)), **overrides},
    )


@dataclasses.dataclass
class ControlCloud(ControlServices):
    """The control services and an agent (with its driver) per simulated host."""

    fleet: Fleet
    agents: dict[str, ComputeAgent]
    drivers: dict[str, LibvirtDriver]
    tmp_path: pathlib.Path
    setup: AgentSetup = "test"
    agent_overrides: dict[str, Any] = dataclasses.field(default_factory=dict)
    local_claims: bool = False

    def hypervisor(self, host: str) -> SimHypervisor:
        return hypervisor_for(self.fleet, host)

    def agent_conf(self, host: str, **overrides: Any) -> cfg.ConfigOpts:
        """The configuration the agent of ``host`` starts with (plus ``overrides``)."""
        data_dir = self.tmp_path / "agents" / host
        merged = {**self.agent_overrides, **overrides}
        if self.setup == "profile":
            return profile_agent_conf(self.fleet, host, data_dir, **merged)
        return sim_agent_conf(data_dir, host, **merged)

    def start_agent(self, host: str, **overrides: Any) -> ComputeAgent:
        """Start the agent of ``host`` (a new driver; its mdev claims in the shared
        database, or with ``local_claims`` in its own data directory as in
        distributed mode)."""
        conf = self.agent_conf(host, **overrides)
        local = self.local_claims
        claims = MdevClaimStore.local(conf, host) if local else MdevClaimStore(self.db, host)
        agent, driver = start_sim_agent(
            self.fleet, host, conf, self.transport, claims, images=self.images
        )
        self.agents[host], self.drivers[host] = agent, driver
        return agent

    def restart_agent(self, host: str, **overrides: Any) -> ComputeAgent:
        """Stop ``host``'s agent and start a new one (same host and claims) with the
        cloud's agent configuration plus ``overrides``."""
        self.agents[host].stop()
        return self.start_agent(host, **overrides)

    def stop(self) -> None:
        for agent in self.agents.values():
            agent.stop()
        self.conductor.stop()
        self.transport.close()


Cloud = TypeVar("Cloud", bound=ControlCloud)


def control_cloud(
    tmp_path: pathlib.Path,
    db: Database,
    recipe: Recipe,
    view: type[Cloud] = ControlCloud,  # type: ignore[assignment]  # Cloud's own bound
    *,
    setup: AgentSetup = "test",
    local_claims: bool = False,
    **agent_overrides: Any,
) -> Cloud:
    """A cloud without HTTP on ``db``: the control services configured by
    ``recipe.conf`` and an agent per host of ``recipe.fleet`` (configured by ``setup``
    plus ``agent_overrides``), seen through ``view``. The caller stops it."""
    assert recipe.fleet is not None, "a control cloud's hosts are simulated"
    fleet = load_fleet(recipe.fleet, source=recipe.source)
    control = start_control(tmp_path, db, **recipe.conf)
    cloud = view(
        **vars(control),
        fleet=fleet,
        agents={},
        drivers={},
        tmp_path=tmp_path,
        setup=setup,
        agent_overrides=agent_overrides,
        local_claims=local_claims,
    )
    try:
        for host in fleet.names:
            cloud.start_agent(host)
    except BaseException:
        cloud.stop()
        raise
    return cloud
