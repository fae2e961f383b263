"""Assembling the pieces: the control plane (server side), agents, and the HTTP listener.

:class:`ControlPlane` is everything the server process runs: database, placement,
scheduler, conductor and the three APIs. :class:`Agent` is one hypervisor's agent.
:class:`EmbeddedCloud` (`virtfleet up`) runs a control plane, one agent per host and
the HTTP listener in one process; distributed mode runs the same pieces in separate
processes (:mod:`virtfleet.server_process`, :mod:`virtfleet.agent_process`).
"""

from __future__ import annotations

import logging
import pathlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from oslo_config import cfg

from virtfleet import conf as vconf
from virtfleet import errors
from virtfleet.agent import image_cache
from virtfleet.agent.image_cache import ImageSource
from virtfleet.agent.manager import ComputeAgent
from virtfleet.agent.mdev.claims import MdevClaimStore
from virtfleet.agent.network.host import host_network
from virtfleet.api.app import make_app, metrics_sources, protect_app
from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.console.proxy import ConsoleProxy
from virtfleet.api.listener import HttpListener
from virtfleet.api.metadata import MetadataApp
from virtfleet.api.metrics import unauthenticated_listener
from virtfleet.conductor.manager import Conductor
from virtfleet.db.engine import Database
from virtfleet.identity import authtoken, catalog
from virtfleet.identity import limits as identity_limits
from virtfleet.identity.embedded import EmbeddedKeystone
from virtfleet.identity.layout import ADMIN_PROJECT, ADMIN_USER, KeystoneLayout
from virtfleet.identity.session import password_session
from virtfleet.image.backends import open_store
from virtfleet.image.quota import UploadLimits
from virtfleet.image.service import ImageService
from virtfleet.image.web_download import WebDownload
from virtfleet.network.physnets import parse_physical_networks
from virtfleet.network.server_ports import ServerPorts
from virtfleet.network.service import NetworkService
from virtfleet.placement.service import PlacementService
from virtfleet.quota.limits import Quotas
from virtfleet.rpc import Transport, get_transport
from virtfleet.scheduler.manager import Scheduler
from virtfleet.virt import event_loop
from virtfleet.virt.connection import is_simulated, open_connection
from virtfleet.virt.libvirt.driver import LibvirtDriver
from virtfleet.virt.sim import registry
from virtfleet.virt.sim.agentconf import conf_overrides
from virtfleet.virt.sim.fleet import Fleet

LOG = logging.getLogger(__name__)


class ControlPlane:
    """The server side: state, placement, scheduling, workflows and the APIs."""

    def __init__(self, conf: cfg.ConfigOpts, transport: Transport) -> None:
        self.conf = conf
        self.data_dir = pathlib.Path(conf.data_dir).resolve()
        self.db = Database.for_data_dir(self.data_dir, conf.database.connection)
        self.db.upgrade()
        self.placement = PlacementService(self.db, max_candidates=conf.placement.max_candidates)
        self.quota = Quotas.from_conf(conf, self.db)
        self.images = ImageService(
            self.db,
            open_store(conf.image.store, self.data_dir, self.db),
            limits=UploadLimits(conf.image.image_size_cap, conf.image.project_storage_quota),
            quotas=self.quota if self.quota.enforced else None,
            web=WebDownload(
                tuple(conf.image.web_download_allowed_hosts), conf.image.web_download_timeout
            ),
        )
        self.networks = NetworkService(
            self.db, parse_physical_networks(conf.network.physical_networks)
        )
        self.scheduler = Scheduler(conf, self.db, self.placement)
        self.transport = transport
        self.conductor = Conductor(
            conf,
            self.db,
            self.placement,
            self.scheduler,
            transport,
            self.images,
            networks=ServerPorts(self.networks),
        )
        self.console_proxy = ConsoleProxy(conf, self.db) if conf.console.enabled else None
        deps = ComputeDeps(
            db=self.db,
            placement=self.placement,
            conductor=self.conductor,
            images=self.images,
            conf=conf,
            scheduler=self.scheduler,
            owner=self.conductor.name,
            networks=ServerPorts(self.networks),
            consoles=self.console_proxy,
            quota=self.quota,
        )
        # the metadata service ([metadata] listen): the proxies' signature is the proof
        self.metadata_app = MetadataApp(
            self.db, ServerPorts(self.networks), lambda: str(conf.metadata.shared_secret or "")
        )
        self.apis = make_app(deps, self.networks)  # the APIs by prefix
        self.metrics_sources = metrics_sources(deps)
        self.app = protect_app(self.apis, conf)  # authenticated, authorized

    def start(self, recover: bool = True) -> None:
        """Start the conductor; ``recover=False`` defers recovering dead servers'
        work until :meth:`Conductor.start_recovery` (agents in the same process)."""
        self.conductor.start(recover=recover)
        if self.console_proxy is not None:
            self.console_proxy.start()

    def stop(self) -> None:
        if self.console_proxy is not None:
            self.console_proxy.stop()
        self.conductor.stop()
        self.db.dispose()


def start_metrics_listener(control: ControlPlane) -> HttpListener | None:
    """``/metrics`` without tokens on ``[metrics] listen``, started; None when unset."""
    return unauthenticated_listener(control.conf, control.metrics_sources)


def start_metadata_listener(control: ControlPlane) -> HttpListener | None:
    """The metadata service's listener on ``[metadata] listen``, started; None when the
    option is unset."""
    listen = control.conf.metadata.listen
    if not listen:
        return None
    listener = HttpListener(control.metadata_app, control.conf.api, listen=listen)
    listener.start()
    return listener


def agent_conf(base_files: Sequence[str], overrides: dict[str, Any]) -> cfg.ConfigOpts:
    """One agent's configuration: the shared files plus its own overrides
    (``group__option`` keys, as :func:`virtfleet.conf.make_conf` takes them)."""
    return vconf.make_conf(config_files=base_files, **overrides)


def build_agent(
    name: str,
    uri: str,
    overrides: dict[str, Any],
    config_files: Sequence[str],
    fleet: Fleet | None,
    transport: Transport,
    mdev_claims: MdevClaimStore | None = None,
    image_source: ImageSource | None = None,
) -> ComputeAgent:
    """An (unstarted) agent for host ``name`` at ``uri`` (``sim://`` hosts come from
    ``fleet``), configured by ``config_files`` plus ``overrides``; ``mdev_claims``
    defaults to a store in the agent's own data directory. Image data comes from
    ``image_source`` into a cache of this host's own (default: the Image API over
    HTTP, ``[glance]``, into ``<instances path>/_base``)."""
    if not is_simulated(uri):
        event_loop.ensure_running()  # before the connection opens, or no events
    agent_cfg = agent_conf(config_files, overrides)  # parsed again only with a host file
    per_host = agent_cfg.host_config_dir
    own = pathlib.Path(per_host or "") / f"{name}.conf"
    if per_host and own.is_file():
        config_files = [*config_files, str(own)]
        agent_cfg = agent_conf(config_files, overrides)
    driver = LibvirtDriver(
        open_connection(uri, fleet), agent_cfg, reopen=lambda: open_connection(uri, fleet)
    )
    network = host_network(agent_cfg, simulated=is_simulated(uri), host=name)
    images = None
    if image_source is not None:  # agents of one process share an instances path
        images = image_cache.from_conf(
            agent_cfg, image_source, image_cache.cache_dir(agent_cfg) / name
        )
    return ComputeAgent(agent_cfg, name, driver, transport, mdev_claims, network, images)


class ImageServiceSource:
    """Image data read from the image service of the same process (embedded agents:
    `virtfleet up` has no second process to reach over HTTP)."""

    def __init__(self, images: ImageService) -> None:
        self.images = images

    def chunks(self, image_id: str) -> Iterator[bytes]:
        try:
            image, data = self.images.download(image_id)
        except errors.NotFound as exc:  # the image, or its data
            raise errors.ImageDataError(f"image {image_id}: {exc}") from None
        if data is None:
            raise errors.ImageDataError(f"image {image_id} has no data (status {image.status})")
        yield from data


@dataclass
class EmbeddedCloud:
    """One process: a control plane, an agent per host, and the HTTP listener."""

    conf: cfg.ConfigOpts
    fleet: Fleet | None
    libvirt_uris: Sequence[str] = ()
    config_files: Sequence[str] = ()
    control: ControlPlane | None = None
    agents: list[ComputeAgent] = field(default_factory=list)
    keystone: EmbeddedKeystone | None = None
    _http: HttpListener | None = None
    _metadata_http: HttpListener | None = None
    _metrics_http: HttpListener | None = None

    @property
    def endpoint(self) -> str:
        assert self._http is not None
        return self._http.endpoint

    @property
    def metrics_endpoint(self) -> str | None:
        """Where ``[metrics] listen`` serves ``/metrics`` without tokens (None: unset)."""
        return self._metrics_http.endpoint if self._metrics_http is not None else None

    def start(self) -> None:
        if self.conf.api.auth_strategy == "keystone" and self.conf.identity.embedded:
            self._start_keystone()
        transport = get_transport(self.conf.transport_url, self.conf)
        self.control = ControlPlane(self.conf, transport)
        if self.fleet is not None:  # simulated guests outlive a restart, as real ones do
            registry.persist_fleet(self.fleet, self.control.data_dir / "sim-hosts")
        self.control.start(recover=False)
        for name, uri, overrides in self._hosts():
            # Embedded agents share the control plane's data directory and database, so
            # the conductor's reaper sees their mdev claims.
            overrides = {"data_dir": self.conf.data_dir, **overrides}
            claims = MdevClaimStore(self.control.db, name)
            source = ImageServiceSource(self.control.images)
            agent = build_agent(
                name, uri, overrides, self.config_files, self.fleet, transport, claims, source
            )
            agent.start()
            self.agents.append(agent)
        self.control.conductor.start_recovery()  # every host's agent now answers
        self._http = HttpListener(self.control.app, self.conf.api)
        self._http.start()
        self._metadata_http = start_metadata_listener(self.control)
        self._metrics_http = start_metrics_listener(self.control)
        if self.keystone is not None:
            self._register_catalog(self.keystone)

    def _start_keystone(self) -> None:
        """Start the embedded Keystone and point ``[keystone_authtoken]`` at it."""
        identity = self.conf.identity
        data_dir = pathlib.Path(self.conf.data_dir).resolve()
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # as the database would say, before Keystone tries
            raise errors.ConfigError(
                f"[DEFAULT] data_dir {str(data_dir)!r}: cannot create the data directory: "
                f"{exc.strerror}"
            ) from None
        layout = KeystoneLayout.in_data_dir(data_dir)
        self.keystone = EmbeddedKeystone(
            layout, identity.listen, identity.region, identity.start_timeout
        )
        self.keystone.start()
        password = self.keystone.layout.service_password()
        authtoken.use_keystone(self.conf, self.keystone.auth_url, password)
        identity_limits.use_keystone(self.conf, self.keystone.auth_url, password, identity.region)

    def _register_catalog(self, keystone: EmbeddedKeystone) -> None:
        session = password_session(
            keystone.auth_url, ADMIN_USER, keystone.layout.admin_password(), ADMIN_PROJECT
        )
        admin = catalog.IdentityAdmin(session, keystone.auth_url)
        urls = catalog.service_urls(keystone.auth_url, self.endpoint)
        catalog.register(admin, keystone.layout.service_password(), urls, self.conf.identity.region)

    def _hosts(self) -> Iterable[tuple[str, str, dict[str, Any]]]:
        if self.fleet is not None:
            for profile in self.fleet.hosts:
                yield profile.name, f"sim://{profile.name}", conf_overrides(profile)
        for i, uri in enumerate(self.libvirt_uris):
            name = self._libvirt_host_name(uri, i)
            yield name, uri, {"host": name, "libvirt__connection_uri": uri}

    def _libvirt_host_name(self, uri: str, index: int) -> str:
        import socket

        base = self.conf.host or socket.gethostname()
        return base if index == 0 else f"{base}-{index}"

    def stop(self) -> None:
        if self._metrics_http is not None:
            self._metrics_http.stop()
        if self._metadata_http is not None:
            self._metadata_http.stop()
        if self._http is not None:
            self._http.stop()
        for agent in self.agents:
            agent.stop()
        if self.control is not None:
            self.control.stop()
            self.control.transport.close()
        if self.keystone is not None:
            self.keystone.stop()
