"""The RPC API between control plane and agents: one typed client per direction.

Agents serve topic :data:`COMPUTE_TOPIC` with server = host name (the endpoint is
:class:`virtfleet.agent.manager.AgentEndpoint`); the control plane serves
:data:`CONDUCTOR_TOPIC` (server :data:`CONDUCTOR_SERVER`, endpoint
:class:`virtfleet.conductor.manager.ConductorEndpoint`). Every call either side makes
goes through :class:`ComputeClient` or :class:`ConductorClient`: a method per call,
named and typed as the endpoint's method (the compute client adds the target host
first), structured values as versioned objects. ``tests/agent/test_rpc_api.py`` fails
when a call exists on one side only or the signatures differ.

:data:`HISTORY` is the API's version history, newest last.
"""

from __future__ import annotations

from typing import TypeVar

from virtfleet import errors
from virtfleet.objects.host_report import HostReport
from virtfleet.objects.image_data import ImageData
from virtfleet.objects.instance import InstanceSpec
from virtfleet.objects.migrate_data import LibvirtLiveMigrateData
from virtfleet.objects.rescue_device import RescueDevice
from virtfleet.objects.rpc_results import (
    ConsoleEndpoint,
    DiskOffer,
    EvacuatedGuest,
    GuestWhereabouts,
    HostReportReceipt,
    MigrationProgress,
    OrphanDomain,
)
from virtfleet.objects.vif import GuestVif
from virtfleet.observability import metrics
from virtfleet.rpc import Transport

COMPUTE_TOPIC = "compute"
CONDUCTOR_TOPIC = "conductor"
CONDUCTOR_SERVER = "conductor"

#: (version, what changed) for both directions, oldest first.
HISTORY: tuple[tuple[str, str], ...] = (
    (
        "1.0",
        "the calls as the agents and conductor served them before the typed clients: "
        "guest lifecycle, console and XML; live migration checks, steps, mdev claims "
        "and recovery queries; host reports, power-state events, orphan and "
        "ended-migration queries",
    ),
    (
        "1.1",
        "results as versioned objects instead of dicts: report_host -> "
        "HostReportReceipt, orphan_domains -> [OrphanDomain], live_migration_progress "
        "-> MigrationProgress, live_migration_whereabouts -> GuestWhereabouts",
    ),
    (
        "1.2",
        "guests_on_host (a cast): an agent lists its guests on start and at every "
        "report, and the conductor marks the servers recorded there whose guest is gone",
    ),
    (
        "1.3",
        "get_console: the agent opens a one-connection relay to a guest's serial or VNC "
        "console and answers a ConsoleEndpoint (address, port, secret) for the proxy",
    ),
    (
        "1.4",
        "pause, unpause, suspend (managed save) and resume of a guest; snapshot (its "
        "root disk as a standalone qcow2 file)",
    ),
    (
        "1.5",
        "refresh_ports (a cast): the conductor sends a host its bound ports again after "
        "a change of rules, addresses or peers; GuestVif 1.1 carries subnets, resolved "
        "security-group rules, VXLAN peers and the project; HostReport 1.1 the host's "
        "tunnel address",
    ),
    (
        "1.6",
        "destroy, power_off and reboot take shutdown_timeout: the guest is asked to shut "
        "down (ACPI) and given that many seconds before it is forced (0: at once)",
    ),
    (
        "1.7",
        "set_admin_password: root's password set in the guest through the QEMU guest "
        "agent (Conflict without the agent's channel or an answer)",
    ),
    (
        "1.8",
        "cold migration and resize: prep_resize (destination check), "
        "migrate_disk_and_power_off (source: stopped, undefined, files kept), "
        "finish_resize (spawn from the kept root disk, on the destination or, for a "
        "revert, the source), confirm_resize (the kept files removed), resize_kept_dir",
    ),
    (
        "1.9",
        "host_ports: a starting agent asks for the compute ports bound to its host "
        "(GuestVif 1.2 names each port's server) and adopts those of its guests, so "
        "filtering and DHCP of guests running before a restart carry on",
    ),
    (
        "1.10",
        "offer_resize_disk -> DiskOffer (the source serves the kept root disk once over "
        "HTTP); finish_resize takes offer (the destination pulls and checks that disk "
        "when it does not share the source's instances path)",
    ),
    (
        "1.11",
        "evacuation: an agent asks evacuated_guests (-> [EvacuatedGuest]) at every "
        "report, removes those guests instead of starting them, and reports "
        "evacuated_guests_removed (the evacuations' source allocations are freed); "
        "fetch_images: an instance's image data fetched and verified into the host's "
        "image cache (a rebuild, before the old guest is removed)",
    ),
    (
        "1.12",
        "rescue (the guest booted from an overlay over the rescue image, its ImageData, "
        "as the first disk, its own root disk second; its definition kept) and unrescue "
        "(that definition restored, the rescue disk removed)",
    ),
    (
        "1.13",
        "evacuation on shared storage: instance_on_disk (-> bool: the guest's disk is in "
        "this host's instances path and writable there); spawn takes disk_in_place (the "
        "root disk in the instance directory used as it is, kept on failure); destroy "
        "takes keep_files (the domain goes, the files stay); both sent only to an agent "
        "that answered instance_on_disk",
    ),
    (
        "1.14",
        "rescue takes rescue_device (RescueDevice: disk, cdrom or floppy on a bus; sent "
        "only when set): a stable device rescue attaches the rescue overlay as that "
        "device, booted first, the guest's own disks unchanged",
    ),
)
VERSION = HISTORY[-1][0]

T = TypeVar("T")


def _timed_call(
    transport: Transport,
    topic: str,
    server: str,
    method: str,
    timeout: float | None,
    kwargs: dict[str, object],
) -> object:
    """``transport.call``, observed in ``virtfleet_rpc_call_duration_seconds``."""
    timer = metrics.Timer()
    outcome = "ok"
    try:
        reply: object = transport.call(topic, server, method, timeout, None, **kwargs)
    except Exception as exc:
        outcome = type(exc).__name__
        raise
    finally:
        metrics.RPC_CALLS.labels(topic, method, outcome).observe(timer.elapsed())
    return reply


def _counted_cast(
    transport: Transport, topic: str, server: str, method: str, **kwargs: object
) -> None:
    """``transport.cast``, counted in ``virtfleet_rpc_casts_total``."""
    metrics.RPC_CASTS.labels(topic, method).inc()
    transport.cast(topic, server, method, **kwargs)


def _expect(reply: object, kind: type[T], method: str) -> T:
    """``reply`` if it is a ``kind``; an RPCError naming the call otherwise."""
    if not isinstance(reply, kind):
        raise errors.RPCError(
            f"{method} answered a {type(reply).__name__}, expected {kind.__name__}"
        )
    return reply


def _expect_list(reply: object, kind: type[T], method: str) -> list[T]:
    """``reply`` if it is a list of ``kind``; an RPCError naming the call otherwise."""
    items = _expect(reply, list, method)
    return [_expect(item, kind, method) for item in items]


class ComputeClient:
    """Calls to the agent of one host (by the conductor, or by another agent)."""

    def __init__(self, transport: Transport, timeout: float | None = None) -> None:
        self._transport = transport
        self._timeout = timeout

    def with_timeout(self, timeout: float | None) -> ComputeClient:
        """The same client waiting ``timeout`` seconds per call (e.g. for the call
        that blocks while a guest migrates)."""
        return ComputeClient(self._transport, timeout)

    def _call(self, host: str, method: str, **kwargs: object) -> object:
        return _timed_call(self._transport, COMPUTE_TOPIC, host, method, self._timeout, kwargs)

    # -- guest lifecycle ---------------------------------------------------------------
    def spawn(self, host: str, instance: InstanceSpec, disk_in_place: bool = False) -> None:
        if disk_in_place:  # 1.13
            self._call(host, "spawn", instance=instance, disk_in_place=True)
            return
        self._call(host, "spawn", instance=instance)

    def fetch_images(self, host: str, instance: InstanceSpec) -> None:
        self._call(host, "fetch_images", instance=instance)

    def destroy(
        self, host: str, instance_uuid: str, shutdown_timeout: int = 0, keep_files: bool = False
    ) -> None:
        extra: dict[str, object] = {"keep_files": True} if keep_files else {}  # 1.13
        self._call(
            host,
            "destroy",
            instance_uuid=instance_uuid,
            shutdown_timeout=shutdown_timeout,
            **extra,
        )

    def instance_on_disk(self, host: str, instance_uuid: str) -> bool:
        reply = self._call(host, "instance_on_disk", instance_uuid=instance_uuid)
        return _expect(reply, bool, "instance_on_disk")

    def power_off(self, host: str, instance_uuid: str, shutdown_timeout: int = 0) -> None:
        self._call(
            host, "power_off", instance_uuid=instance_uuid, shutdown_timeout=shutdown_timeout
        )

    def power_on(self, host: str, instance_uuid: str) -> None:
        self._call(host, "power_on", instance_uuid=instance_uuid)

    def reboot(
        self, host: str, instance_uuid: str, hard: bool = True, shutdown_timeout: int = 0
    ) -> None:
        self._call(
            host,
            "reboot",
            instance_uuid=instance_uuid,
            hard=hard,
            shutdown_timeout=shutdown_timeout,
        )

    def pause(self, host: str, instance_uuid: str) -> None:
        self._call(host, "pause", instance_uuid=instance_uuid)

    def unpause(self, host: str, instance_uuid: str) -> None:
        self._call(host, "unpause", instance_uuid=instance_uuid)

    def suspend(self, host: str, instance_uuid: str) -> None:
        self._call(host, "suspend", instance_uuid=instance_uuid)

    def resume(self, host: str, instance_uuid: str) -> None:
        self._call(host, "resume", instance_uuid=instance_uuid)

    def rescue(
        self,
        host: str,
        instance: InstanceSpec,
        rescue_image: ImageData,
        rescue_device: RescueDevice | None = None,
    ) -> None:
        if rescue_device is None:  # as 1.12 (an agent that predates 1.14 takes it)
            self._call(host, "rescue", instance=instance, rescue_image=rescue_image)
            return
        self._call(
            host,
            "rescue",
            instance=instance,
            rescue_image=rescue_image,
            rescue_device=rescue_device,
        )

    def unrescue(self, host: str, instance: InstanceSpec) -> None:
        self._call(host, "unrescue", instance=instance)

    def snapshot(self, host: str, instance_uuid: str, target_path: str) -> None:
        self._call(host, "snapshot", instance_uuid=instance_uuid, target_path=target_path)

    def get_power_state(self, host: str, instance_uuid: str) -> str:
        reply = self._call(host, "get_power_state", instance_uuid=instance_uuid)
        return _expect(reply, str, "get_power_state")

    def get_domain_xml(self, host: str, instance_uuid: str) -> str:
        reply = self._call(host, "get_domain_xml", instance_uuid=instance_uuid)
        return _expect(reply, str, "get_domain_xml")

    def refresh_ports(self, host: str, vifs: list[GuestVif]) -> None:
        """A cast: new facts for the ports plugged on ``host``."""
        _counted_cast(self._transport, COMPUTE_TOPIC, host, "refresh_ports", vifs=vifs)

    def get_console_output(self, host: str, instance_uuid: str, length: int | None = None) -> str:
        reply = self._call(host, "get_console_output", instance_uuid=instance_uuid, length=length)
        return _expect(reply, str, "get_console_output")

    def set_admin_password(self, host: str, instance_uuid: str, password: str) -> None:
        self._call(host, "set_admin_password", instance_uuid=instance_uuid, password=password)

    def get_console(self, host: str, instance_uuid: str, kind: str) -> ConsoleEndpoint:
        """A relay to console ``kind`` (serial, vnc) of the guest, for the proxy."""
        reply = self._call(host, "get_console", instance_uuid=instance_uuid, kind=kind)
        return _expect(reply, ConsoleEndpoint, "get_console")

    def list_instance_uuids(self, host: str) -> list[str]:
        return _expect_list(self._call(host, "list_instance_uuids"), str, "list_instance_uuids")

    # -- live migration: checks (destination, then source) -------------------------------
    def check_can_live_migrate_destination(
        self, host: str, data: LibvirtLiveMigrateData, block_migration: bool | str = "auto"
    ) -> LibvirtLiveMigrateData:
        reply = self._call(
            host, "check_can_live_migrate_destination", data=data, block_migration=block_migration
        )
        return _expect(reply, LibvirtLiveMigrateData, "check_can_live_migrate_destination")

    def check_can_live_migrate_source(
        self, host: str, data: LibvirtLiveMigrateData
    ) -> LibvirtLiveMigrateData:
        reply = self._call(host, "check_can_live_migrate_source", data=data)
        return _expect(reply, LibvirtLiveMigrateData, "check_can_live_migrate_source")

    def create_shared_storage_test_file(self, host: str) -> str:
        reply = self._call(host, "create_shared_storage_test_file")
        return _expect(reply, str, "create_shared_storage_test_file")

    def check_shared_storage_test_file(self, host: str, name: str) -> bool:
        reply = self._call(host, "check_shared_storage_test_file", name=name)
        return _expect(reply, bool, "check_shared_storage_test_file")

    def cleanup_shared_storage_test_file(self, host: str, name: str) -> None:
        self._call(host, "cleanup_shared_storage_test_file", name=name)

    def claim_live_migration_mdevs(
        self,
        host: str,
        data: LibvirtLiveMigrateData,
        allocations: dict[str, dict[str, int]] | None = None,
    ) -> LibvirtLiveMigrateData:
        reply = self._call(host, "claim_live_migration_mdevs", data=data, allocations=allocations)
        return _expect(reply, LibvirtLiveMigrateData, "claim_live_migration_mdevs")

    def release_live_migration_mdevs(self, host: str, data: LibvirtLiveMigrateData) -> None:
        self._call(host, "release_live_migration_mdevs", data=data)

    # -- live migration: steps -----------------------------------------------------------
    def pre_live_migration(self, host: str, data: LibvirtLiveMigrateData) -> LibvirtLiveMigrateData:
        reply = self._call(host, "pre_live_migration", data=data)
        return _expect(reply, LibvirtLiveMigrateData, "pre_live_migration")

    def live_migrate(self, host: str, data: LibvirtLiveMigrateData) -> None:
        self._call(host, "live_migrate", data=data)

    def live_migration_progress(self, host: str, instance_uuid: str) -> MigrationProgress:
        reply = self._call(host, "live_migration_progress", instance_uuid=instance_uuid)
        return _expect(reply, MigrationProgress, "live_migration_progress")

    def live_migration_abort(self, host: str, instance_uuid: str) -> None:
        self._call(host, "live_migration_abort", instance_uuid=instance_uuid)

    def live_migration_force_complete(self, host: str, instance_uuid: str) -> None:
        self._call(host, "live_migration_force_complete", instance_uuid=instance_uuid)

    def post_live_migration_at_destination(self, host: str, data: LibvirtLiveMigrateData) -> str:
        reply = self._call(host, "post_live_migration_at_destination", data=data)
        return _expect(reply, str, "post_live_migration_at_destination")

    def rollback_live_migration_at_destination(
        self, host: str, data: LibvirtLiveMigrateData
    ) -> None:
        self._call(host, "rollback_live_migration_at_destination", data=data)

    def post_live_migration_at_source(self, host: str, data: LibvirtLiveMigrateData) -> None:
        self._call(host, "post_live_migration_at_source", data=data)

    # -- cold migration and resize -------------------------------------------------------
    def prep_resize(self, host: str, instance: InstanceSpec, same_host: bool = False) -> None:
        self._call(host, "prep_resize", instance=instance, same_host=same_host)

    def migrate_disk_and_power_off(self, host: str, instance_uuid: str) -> str:
        reply = self._call(host, "migrate_disk_and_power_off", instance_uuid=instance_uuid)
        return _expect(reply, str, "migrate_disk_and_power_off")

    def offer_resize_disk(self, host: str, instance_uuid: str, kept: str) -> DiskOffer | None:
        reply = self._call(host, "offer_resize_disk", instance_uuid=instance_uuid, kept=kept)
        return None if reply is None else _expect(reply, DiskOffer, "offer_resize_disk")

    def finish_resize(
        self,
        host: str,
        instance: InstanceSpec,
        kept: str,
        power_on: bool = True,
        offer: DiskOffer | None = None,
    ) -> None:
        if offer is None:  # as a 1.8 agent takes it
            self._call(host, "finish_resize", instance=instance, kept=kept, power_on=power_on)
            return
        self._call(
            host, "finish_resize", instance=instance, kept=kept, power_on=power_on, offer=offer
        )

    def confirm_resize(self, host: str, kept: str) -> None:
        self._call(host, "confirm_resize", kept=kept)

    def resize_kept_dir(self, host: str, instance_uuid: str) -> str:
        reply = self._call(host, "resize_kept_dir", instance_uuid=instance_uuid)
        return _expect(reply, str, "resize_kept_dir")

    # -- live migration: recovery --------------------------------------------------------
    def live_migration_whereabouts(self, host: str, instance_uuid: str) -> GuestWhereabouts:
        reply = self._call(host, "live_migration_whereabouts", instance_uuid=instance_uuid)
        return _expect(reply, GuestWhereabouts, "live_migration_whereabouts")

    def live_migration_instance_dir(self, host: str, instance_uuid: str) -> str:
        reply = self._call(host, "live_migration_instance_dir", instance_uuid=instance_uuid)
        return _expect(reply, str, "live_migration_instance_dir")


class ConductorClient:
    """Calls from an agent to the control plane."""

    def __init__(self, transport: Transport, timeout: float | None = None) -> None:
        self._transport = transport
        self._timeout = timeout

    def _call(self, method: str, **kwargs: object) -> object:
        return _timed_call(
            self._transport, CONDUCTOR_TOPIC, CONDUCTOR_SERVER, method, self._timeout, kwargs
        )

    def report_host(self, report: HostReport) -> HostReportReceipt:
        reply = self._call("report_host", report=report)
        return _expect(reply, HostReportReceipt, "report_host")

    def orphan_domains(self, host: str, instance_uuids: list[str]) -> list[OrphanDomain]:
        """Which of ``instance_uuids`` (domains on ``host``) should not be there."""
        reply = self._call("orphan_domains", host=host, instance_uuids=instance_uuids)
        return _expect_list(reply, OrphanDomain, "orphan_domains")

    def evacuated_guests(self, host: str) -> list[EvacuatedGuest]:
        """The guests evacuated from ``host`` (to remove, never to start)."""
        reply = self._call("evacuated_guests", host=host)
        return _expect_list(reply, EvacuatedGuest, "evacuated_guests")

    def evacuated_guests_removed(self, host: str, migration_uuids: list[str]) -> list[str]:
        """``host`` removed the guests of these evacuations; the ones ended."""
        reply = self._call("evacuated_guests_removed", host=host, migration_uuids=migration_uuids)
        return _expect_list(reply, str, "evacuated_guests_removed")

    def live_migrations_ended(self, migration_uuids: list[str]) -> list[str]:
        """Which of these migrations are over (their mdev claims may go)."""
        reply = self._call("live_migrations_ended", migration_uuids=migration_uuids)
        return _expect_list(reply, str, "live_migrations_ended")

    def instance_power_state_changed(self, host: str, instance_uuid: str, state: str) -> None:
        """A cast: the conductor updates the server's power state when it gets to it."""
        _counted_cast(
            self._transport,
            CONDUCTOR_TOPIC,
            CONDUCTOR_SERVER,
            "instance_power_state_changed",
            host=host,
            instance_uuid=instance_uuid,
            state=state,
        )

    def host_ports(self, host: str) -> list[GuestVif]:
        """The compute ports bound to ``host``, as its agent realises them."""
        reply = self._call("host_ports", host=host)
        return _expect_list(reply, GuestVif, "host_ports")

    def guests_on_host(self, host: str, instance_uuids: list[str]) -> None:
        """A cast: ``host`` has these guests; the conductor marks the servers recorded
        there whose guest it lacks."""
        _counted_cast(
            self._transport,
            CONDUCTOR_TOPIC,
            CONDUCTOR_SERVER,
            "guests_on_host",
            host=host,
            instance_uuids=instance_uuids,
        )
