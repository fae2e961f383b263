"""The agent: one per hypervisor host.

:class:`ComputeAgent` discovers its host, reports it to the control plane, serves the
``compute`` RPC topic for its host (spawn, destroy, power actions, console, XML),
re-discovers and re-reports every ``[compute] resource_provider_refresh_interval``
seconds, and forwards the driver's lifecycle events (a guest that stops or crashes)
to the conductor, so the server's state follows the hypervisor without polling.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time

from oslo_config import cfg

from virtfleet import errors
from virtfleet.agent import console_relay, evacuated, image_cache, image_download, orphans
from virtfleet.agent import report as host_report
from virtfleet.agent.cold_migration import ColdMigrationEndpoint
from virtfleet.agent.guest_spec import to_guest_spec
from virtfleet.agent.image_cache import ImageCache
from virtfleet.agent.mdev import config as mdev_config
from virtfleet.agent.mdev.claims import MdevClaimStore
from virtfleet.agent.mdev.host import VgpuHost
from virtfleet.agent.migration import LiveMigrationEndpoint
from virtfleet.agent.network.plugging import HostNetwork, RecordingHostNetwork
from virtfleet.agent.report import NestedProviderInfo
from virtfleet.agent.rpcapi import COMPUTE_TOPIC, ComputeClient, ConductorClient
from virtfleet.network.physnets import parse_physical_networks
from virtfleet.objects.host_report import HostReport
from virtfleet.objects.image_data import ImageData
from virtfleet.objects.instance import InstanceSpec
from virtfleet.objects.migrate_data import LibvirtLiveMigrateData
from virtfleet.objects.rescue_device import RescueDevice
from virtfleet.objects.rpc_results import ConsoleEndpoint, HostReportReceipt
from virtfleet.objects.vif import GuestVif
from virtfleet.observability import metrics
from virtfleet.rpc import Transport
from virtfleet.virt import config_drive
from virtfleet.virt.driver import ComputeDriver
from virtfleet.virt.libvirt.host import instances_path
from virtfleet.virt.libvirt.slices import SliceHost
from virtfleet.virt.types import GuestSpec

LOG = logging.getLogger(__name__)


class AgentEndpoint(LiveMigrationEndpoint, ColdMigrationEndpoint):
    """What the agent serves on ``compute.<host>``: only these public methods (and the
    live-migration ones of :class:`LiveMigrationEndpoint`, the cold-migration ones of
    :class:`ColdMigrationEndpoint`), each the counterpart of
    :class:`~virtfleet.agent.rpcapi.ComputeClient`'s (without its ``host``)."""

    _agent: ComputeAgent

    def __init__(self, agent: ComputeAgent) -> None:
        self._agent = agent

    def spawn(self, instance: InstanceSpec, disk_in_place: bool = False) -> None:
        """Spawn ``instance`` over its image; ``disk_in_place`` (1.13): its root disk
        is already in its instance directory (an evacuation on shared storage) and is
        used as it is, and kept if the spawn fails."""
        timer = metrics.Timer()
        self._spawn_moved(instance, None, disk_in_place)
        LOG.info("host %s: guest %s spawned in %.3fs", self._agent.host, instance.uuid,
                 timer.elapsed())  # fmt: skip

    def fetch_images(self, instance: InstanceSpec) -> None:
        """The instance's image data (image, kernel, ramdisk) fetched into this host's
        image cache and verified, nothing else touched: ImageDataError (or the Image
        API's) names what is wrong with it."""
        timer = metrics.Timer()
        self._agent.images.fetch((instance.image_data, instance.kernel_data, instance.ramdisk_data))
        LOG.info("host %s: images of %s fetched in %.3fs", self._agent.host, instance.uuid,
                 timer.elapsed())  # fmt: skip

    def _spawn_moved(
        self, instance: InstanceSpec, disk_source: str | None, disk_in_place: bool = False
    ) -> None:
        """Spawn ``instance``; its root disk a copy of ``disk_source`` when given (a
        cold migration's, resize's or revert's), the one in its instance directory
        with ``disk_in_place``, else a new one over the image."""
        spec = self._agent.with_image_files(to_guest_spec(self._agent.conf, instance), instance)
        if disk_source is not None:
            spec = dataclasses.replace(spec, disk_source=disk_source)
        if disk_in_place:
            spec = dataclasses.replace(spec, disk_in_place=True)
        if instance.config_drive:  # the ISO is in the instance directory before the guest
            assert spec.instance_dir is not None
            drive = config_drive.path_in(spec.instance_dir)
            config_drive.write(drive, config_drive.decode_files(instance.config_drive))
            spec = dataclasses.replace(spec, config_drive_path=drive)
        network = self._agent.network
        try:
            if instance.vifs:  # ports plugged before the guest starts, unplugged if not
                nics = network.plug(instance.uuid, instance.vifs)
                spec = dataclasses.replace(spec, interfaces=tuple(nics))
            self._spawn(spec, instance)
        except Exception:
            network.unplug(instance.uuid)
            self._agent.images.release(instance.uuid)
            raise

    def _spawn(self, spec: GuestSpec, instance: InstanceSpec) -> None:
        if self._agent.slices:  # a slice host: the guest is its slice's template
            self._agent.slices.spawn(self._agent.driver, spec, instance.allocations)
            return
        vgpus = self._agent.vgpus
        picker = vgpus.assign(instance.allocations) if vgpus is not None else None
        if picker is None:
            self._agent.driver.spawn(spec)
            return
        try:  # the guest's vGPUs: mdevs created or reused on the allocated GPUs
            self._agent.driver.spawn(dataclasses.replace(spec, mdev_uuids=tuple(picker.taken)))
        except Exception:
            picker.undo()
            raise

    def claim_live_migration_mdevs(
        self,
        data: LibvirtLiveMigrateData,
        allocations: dict[str, dict[str, int]] | None = None,
    ) -> LibvirtLiveMigrateData:
        """On a destination, while the conductor chooses it: claim mdevs of the guest's
        types (persisted; ``pre_live_migration`` finds the same claim), on the GPUs
        ``allocations`` (the migration's placement allocation here) take VGPU from
        first. Refuses with InvalidInput when this host cannot."""
        vgpus = self._agent.vgpus
        if data.has_mdevs and vgpus is None:
            raise errors.InvalidInput(
                f"host {self._agent.host} offers no mdevs ([devices] enabled_mdev_types)"
            )
        preferred = [rp for rp, res in (allocations or {}).items() if res.get("VGPU")]
        data.target_mdevs = vgpus.claim_destination(data, preferred) if vgpus is not None else {}
        return data

    def release_live_migration_mdevs(self, data: LibvirtLiveMigrateData) -> None:
        """Drop the mdev claims of a migration that will not come here."""
        if self._agent.vgpus is not None:
            self._agent.vgpus.release(data, "destination", succeeded=False)

    def destroy(
        self, instance_uuid: str, shutdown_timeout: int = 0, keep_files: bool = False
    ) -> None:
        """Stop and undefine the guest and remove its files; ``keep_files`` (1.13):
        they stay (its disk is on shared storage, e.g. a failed evacuation's)."""
        timer = metrics.Timer()
        self._agent.driver.destroy(
            instance_uuid, remove_files=not keep_files, shutdown_timeout=shutdown_timeout
        )
        self._agent.network.unplug(instance_uuid)
        self._agent.images.release(instance_uuid)
        LOG.info("host %s: guest %s destroyed in %.3fs", self._agent.host, instance_uuid,
                 timer.elapsed())  # fmt: skip

    def refresh_ports(self, vifs: list[GuestVif]) -> None:
        """New rules, peers or subnets for ports plugged here (others are ignored)."""
        self._agent.network.refresh(vifs)

    def power_off(self, instance_uuid: str, shutdown_timeout: int = 0) -> None:
        self._agent.driver.power_off(instance_uuid, shutdown_timeout)

    def instance_on_disk(self, instance_uuid: str) -> bool:
        """Whether the guest's disk is on this host's instances path already (shared
        storage: an evacuation keeps it), as Nova's ``instance_on_disk`` (1.13)."""
        return self._agent.driver.instance_on_disk(instance_uuid)

    def power_on(self, instance_uuid: str) -> None:
        self._agent.driver.power_on(instance_uuid)

    def reboot(self, instance_uuid: str, hard: bool = True, shutdown_timeout: int = 0) -> None:
        self._agent.driver.reboot(instance_uuid, hard=hard, shutdown_timeout=shutdown_timeout)

    def pause(self, instance_uuid: str) -> None:
        self._agent.driver.pause(instance_uuid)

    def unpause(self, instance_uuid: str) -> None:
        self._agent.driver.unpause(instance_uuid)

    def suspend(self, instance_uuid: str) -> None:
        self._agent.driver.suspend(instance_uuid)

    def resume(self, instance_uuid: str) -> None:
        self._agent.driver.resume(instance_uuid)

    def snapshot(self, instance_uuid: str, target_path: str) -> None:
        self._agent.driver.snapshot(instance_uuid, target_path)

    def rescue(
        self,
        instance: InstanceSpec,
        rescue_image: ImageData,
        rescue_device: RescueDevice | None = None,
    ) -> None:
        """Boot the guest from ``rescue_image`` (fetched and verified into the image
        cache, recorded as used by the guest beside its own images), its own root disk
        second, or attached as ``rescue_device`` beside its own disks. On a failure the
        guest is as it was and uses its own images only."""
        agent = self._agent
        own = (instance.image_data, instance.kernel_data, instance.ramdisk_data)
        paths = agent.images.prepare(instance.uuid, (*own, rescue_image))
        spec = to_guest_spec(agent.conf, instance)
        if paths[0] is not None and instance.image_data is not None:
            spec = dataclasses.replace(
                spec, image_path=paths[0], image_format=instance.image_data.disk_format
            )
        rescue_path = paths[3]
        assert rescue_path is not None
        try:
            agent.driver.rescue(spec, rescue_path, rescue_image.disk_format, rescue_device)
        except Exception:
            agent.images.prepare(instance.uuid, own)
            raise

    def unrescue(self, instance: InstanceSpec) -> None:
        """The guest as it was before :meth:`rescue`, running; the rescue image is no
        longer recorded as used by it."""
        self._agent.driver.unrescue(instance.uuid)
        self._agent.images.prepare(
            instance.uuid, (instance.image_data, instance.kernel_data, instance.ramdisk_data)
        )

    def get_power_state(self, instance_uuid: str) -> str:
        return self._agent.driver.get_power_state(instance_uuid)

    def get_domain_xml(self, instance_uuid: str) -> str:
        return self._agent.driver.get_domain_xml(instance_uuid)

    def get_console_output(self, instance_uuid: str, length: int | None = None) -> str:
        output = self._agent.driver.get_console_output(instance_uuid)
        return tail_lines(output, length)

    def set_admin_password(self, instance_uuid: str, password: str) -> None:
        self._agent.driver.set_admin_password(instance_uuid, password)

    def get_console(self, instance_uuid: str, kind: str) -> ConsoleEndpoint:
        """Open a one-connection relay to console ``kind`` of the running guest
        (Conflict when it is not running, InvalidInput when it has no such console)."""
        driver = self._agent.driver
        driver.check_console(instance_uuid, kind)
        console = self._agent.conf.console
        relay = console_relay.open_relay(
            str(console.relay_address),
            float(console.token_ttl),
            lambda: driver.open_console(instance_uuid, kind),
            f"{kind} console of {instance_uuid}",
        )
        return ConsoleEndpoint(kind=kind, host=relay.host, port=relay.port, secret=relay.secret)

    def list_instance_uuids(self) -> list[str]:
        return list(self._agent.driver.list_instance_uuids())


def tail_lines(text: str, length: int | None) -> str:
    """The last ``length`` lines of ``text`` (all of it when ``length`` is None or < 0)."""
    if length is None or length < 0:
        return text
    if length == 0:
        return ""
    return "".join(text.splitlines(keepends=True)[-length:])


class ComputeAgent:
    """The agent of ``host_name``, driving ``driver`` and talking over ``transport``."""

    def __init__(
        self,
        conf: cfg.ConfigOpts,
        host_name: str,
        driver: ComputeDriver,
        transport: Transport,
        mdev_claims: MdevClaimStore | None = None,
        network: HostNetwork | None = None,
        images: ImageCache | None = None,
    ) -> None:
        self.conf = conf
        self.images = images or image_cache.from_conf(conf, image_download.source_from_conf(conf))
        self._cache_cleaned_at = 0.0
        self.network: HostNetwork = network or RecordingHostNetwork(
            parse_physical_networks(conf.network.physical_networks)
        )
        self.host = host_name
        self.driver = driver
        self._transport = transport
        self._conductor = ConductorClient(transport)
        self._stop = threading.Event()
        self._refresher: threading.Thread | None = None
        self._serving = False
        self._listening = False
        self.last_report: HostReport | None = None
        self.slices: SliceHost | None = None  # loaded and checked at the first report
        self.vgpus: VgpuHost | None = None  # with [devices] enabled_mdev_types
        self._mdev_claims = mdev_claims

    def start(self) -> None:
        """Report the host, serve RPC, forward lifecycle events, start refreshing."""
        self._stop.clear()
        self.refresh()
        self.adopt_ports()
        self._transport.serve(COMPUTE_TOPIC, self.host, AgentEndpoint(self))
        self._serving = True
        self.report_guests()  # now that the conductor can ask back about them
        if not self._listening:  # the driver has no way to unregister
            self.driver.register_lifecycle_callback(self._on_lifecycle_event)
            self._listening = True
        interval = self.conf.compute.resource_provider_refresh_interval
        if interval > 0 and self._refresher is None:
            self._refresher = threading.Thread(
                target=self._refresh_loop,
                args=(interval,),
                name=f"refresh-{self.host}",
                daemon=True,
            )
            self._refresher.start()

    def stop(self) -> None:
        """Stop serving and refreshing (idempotent)."""
        self._stop.set()
        if self._serving:
            self._transport.stop_serving(COMPUTE_TOPIC, self.host)
            self._serving = False
        if self._refresher is not None:
            self._refresher.join(timeout=10)
            self._refresher = None

    def refresh(self) -> HostReportReceipt:
        """Discover the host and report it, then tell the conductor the power state of
        every guest here and which guests there are (so changes missed while the
        agent was away are seen: a stopped guest's server turns SHUTOFF, a gone one's
        ERROR); returns the conductor's reply to the report. A hypervisor connection
        that died (libvirtd stopped or restarted) is opened again first; while the
        daemon is away this raises HypervisorError and nothing is reported."""
        self.driver.ensure_connected()
        info = self.driver.discover()
        if self.slices is None:  # a bad [libvirt] slice_spec stops the agent here
            self.slices = SliceHost.load(self.conf, self.host, self.driver)
        if self.vgpus is None:
            self._load_vgpus()
        nested: list[NestedProviderInfo] = list(self.slices.providers())
        if self.vgpus is not None:
            nested.extend(gpu.as_nested() for gpu in self.vgpus.providers())
        report = host_report.build_report(
            self.conf, self.host, info, nested, root_resources=not self.slices
        )
        reply = self._conductor.report_host(report)
        self.last_report = report
        self.remove_evacuated_guests()  # before anything reports or starts them
        self.sync_power_states()
        if self._serving:  # at start, once serving (the conductor asks back)
            self.report_guests()
        self.reap_mdev_claims()
        self.reap_orphans()
        self.clean_image_cache()
        return reply

    def adopt_ports(self) -> list[str]:
        """Take over the networking of the guests already here (a restarted agent):
        the ports the control plane has bound to this host whose guest is on it are
        plugged again, their filtering and DHCP rewritten, leftovers removed; returns
        the adopted port ids. A failure is logged: the agent still starts."""
        timeout = self.conf.rpc_response_timeout
        try:
            vifs = ConductorClient(self._transport, timeout).host_ports(self.host)
        except errors.VirtfleetError as exc:
            LOG.warning("host %s: cannot ask for its ports, guests' networking not "
                        "adopted: %s", self.host, exc)  # fmt: skip
            return []
        guests = set(self.driver.list_instance_uuids())
        try:
            adopted = self.network.adopt(vifs, guests)
        except errors.VirtfleetError:
            LOG.exception("host %s: adopting its guests' networking failed", self.host)
            return []
        if adopted:
            LOG.info("host %s: adopted %d ports of its guests", self.host, len(adopted))
        return adopted

    def with_image_files(self, spec: GuestSpec, instance: InstanceSpec) -> GuestSpec:
        """``spec`` with the local files of the instance's image data, fetched into this
        host's image cache (verified) when not there yet. An instance from a conductor
        older than InstanceSpec 1.3 names the files itself."""
        wanted = (instance.image_data, instance.kernel_data, instance.ramdisk_data)
        if not any(wanted):
            return spec
        image, kernel, ramdisk = self.images.prepare(instance.uuid, wanted)
        return dataclasses.replace(
            spec,
            image_path=image,
            image_format=instance.image_data.disk_format if instance.image_data else "qcow2",
            kernel_path=kernel,
            ramdisk_path=ramdisk,
        )

    def clean_image_cache(self, force: bool = False) -> list[str]:
        """Every ``[image_cache] manager_interval`` seconds (or now with ``force``):
        forget the image users gone from this host and remove the cached images
        unused for long enough; returns the removed image ids."""
        interval = self.conf.image_cache.manager_interval
        now = time.monotonic()
        if not force and (not interval or now - self._cache_cleaned_at < interval):
            return []
        self._cache_cleaned_at = now
        return self.images.cleanup(self.driver.list_instance_uuids())

    def report_guests(self) -> list[str]:
        """Tell the conductor which guests this host has, so servers recorded here
        whose guest is gone are marked (see :mod:`virtfleet.conductor.reconcile`);
        returns them."""
        guests = sorted(self.driver.list_instance_uuids())
        self._conductor.guests_on_host(self.host, guests)
        return guests

    def remove_evacuated_guests(self) -> list[str]:
        """Remove the guests evacuated from this host while it was down (see
        :mod:`virtfleet.agent.evacuated`); returns their migrations' uuids."""
        conductor = ConductorClient(self._transport, self.conf.rpc_response_timeout)
        try:
            return evacuated.remove_evacuated(
                self.host, conductor, self.driver, self._shares_storage_with, self._forget
            )
        except errors.VirtfleetError as exc:  # asked again at the next report
            LOG.warning("host %s: cannot ask which guests were evacuated: %s", self.host, exc)
            return []

    def _forget(self, instance_uuid: str) -> None:
        self.network.unplug(instance_uuid)
        self.images.release(instance_uuid)

    def reap_orphans(self) -> list[str]:
        """Deal with the domains here that should not be (their server was deleted
        while this host was down, is unknown, or lives elsewhere) as ``[compute]
        orphan_domain_action`` says; returns their uuids. See
        :mod:`virtfleet.agent.orphans`."""
        action = self.conf.compute.orphan_domain_action
        if action == orphans.NOOP:
            return []
        owned = orphans.owned_domains(self.driver, instances_path(self.conf))
        if not owned:
            return []
        timeout = self.conf.rpc_response_timeout
        try:
            reply = ConductorClient(self._transport, timeout).orphan_domains(
                self.host, sorted(owned)
            )
            found = orphans.as_orphans(reply)
        except errors.VirtfleetError as exc:  # asked again at the next report
            LOG.info("host %s: cannot ask which domains are orphaned: %s", self.host, exc)
            return []
        return orphans.handle_orphans(
            self.host, action, self.driver, owned, found, self._shares_storage_with
        )

    def _shares_storage_with(self, other: str) -> bool | None:
        """Whether ``other`` sees this host's instances path (its agent writes a test
        file there); None when it cannot be asked."""
        compute = ComputeClient(self._transport, self.conf.rpc_response_timeout)
        try:
            name = compute.create_shared_storage_test_file(other)
        except errors.VirtfleetError as exc:
            LOG.info("host %s: cannot ask %s about shared storage: %s", self.host, other, exc)
            return None
        try:
            return AgentEndpoint(self).check_shared_storage_test_file(name)
        finally:
            try:
                compute.cleanup_shared_storage_test_file(other, name)
            except errors.VirtfleetError as exc:
                LOG.warning("host %s: test file %s left on %s: %s", self.host, name, other, exc)

    def reap_mdev_claims(self) -> list[str]:
        """Release this agent's mdev claims whose migration ended (the control plane
        is asked) or went stale; returns their migration uuids. The claims live with
        the agent (its data directory, or the database it shares), so it reaps them."""
        if self.vgpus is None:
            return []
        held = self.vgpus.claimed_migrations()
        ended: list[str] = []
        if held:
            try:
                conductor = ConductorClient(self._transport, self.conf.rpc_response_timeout)
                ended = conductor.live_migrations_ended(held)
            except errors.VirtfleetError as exc:  # only local evidence and age, then
                LOG.info("host %s: cannot ask which migrations ended: %s", self.host, exc)
        reaped = self.vgpus.reap_stale(ended=ended)
        if reaped:
            LOG.info("host %s: released stale mdev claims of %s", self.host, ", ".join(reaped))
        return reaped

    def _load_vgpus(self) -> None:
        """With mdev types enabled: the vGPU host, its persisted claims and the mdev
        hooks of live migration."""
        if not mdev_config.enabled_types(self.conf):
            return
        vgpus = VgpuHost(
            self.driver.connection,
            self.conf,
            self.host,
            self._mdev_claims or MdevClaimStore.local(self.conf, self.host),
        )
        self.vgpus = vgpus  # its stale claims are reaped after the first report
        self.migration_hooks = vgpus

    def sync_power_states(self) -> int:
        """Cast the current power state of every guest on this host; returns how many."""
        count = 0
        for uuid in self.driver.list_instance_uuids():
            try:
                state = self.driver.get_power_state(uuid)
            except errors.NotFound:
                continue  # gone in the meantime
            self._conductor.instance_power_state_changed(self.host, uuid, state)
            count += 1
        return count

    def _refresh_loop(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.refresh()
            except (errors.RPCError, errors.HypervisorError) as exc:
                # e.g. the server or libvirtd restarting: say it briefly
                LOG.warning("host %s: periodic report failed: %s", self.host, exc)
            except Exception:  # keep refreshing; the next round may work
                if self._stop.is_set():
                    return  # stopping: the transport may already be closed
                LOG.exception("host %s: periodic report failed", self.host)

    def _on_lifecycle_event(self, instance_uuid: str, state: str) -> None:
        if self._stop.is_set():
            return
        try:
            self._conductor.instance_power_state_changed(self.host, instance_uuid, state)
        except Exception:  # an event is advisory; never break the driver's loop
            LOG.exception(
                "host %s: could not forward %s event of %s", self.host, state, instance_uuid
            )
