"""The libvirt driver: the agent's hands on one hypervisor.

It talks to a *connection* with the libvirt-python API (real libvirt or the
simulator); libvirt errors are branched on by error code only. Host discovery,
guest policy and XML live in :mod:`.host`, :mod:`.guest` and :mod:`.config`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import libvirt
from oslo_config import cfg

from virtfleet import errors
from virtfleet.objects.migrate_data import LibvirtLiveMigrateData
from virtfleet.objects.rescue_device import RescueDevice
from virtfleet.virt.driver import LifecycleCallback
from virtfleet.virt.hypervisor import Connection, Domain
from virtfleet.virt.libvirt import config, console, guest, host, migration, rescue, settle
from virtfleet.virt.libvirt.images import ImageTool, QemuImg
from virtfleet.virt.types import GuestSpec, HostInfo

LOG = logging.getLogger(__name__)

CONSOLE_TAIL_BYTES = 64 * 1024
ADMIN_USER = "root"
AGENT_UNAVAILABLE_CODES = frozenset(
    {
        libvirt.VIR_ERR_AGENT_UNRESPONSIVE,
        libvirt.VIR_ERR_AGENT_UNSYNCED,
        libvirt.VIR_ERR_ARGUMENT_UNSUPPORTED,
        libvirt.VIR_ERR_OPERATION_UNSUPPORTED,
        libvirt.VIR_ERR_NO_SUPPORT,
    }
)
"""Codes meaning "no guest agent to talk to" (not configured, not running, silent)."""
SHUTDOWN_RETRY_SECONDS = 10.0  # the ACPI button is pressed again this often
SHUTDOWN_POLL_SECONDS = 0.25

POWER_STATES: dict[int, str] = {
    libvirt.VIR_DOMAIN_NOSTATE: "nostate",
    libvirt.VIR_DOMAIN_RUNNING: "running",
    libvirt.VIR_DOMAIN_BLOCKED: "running",
    libvirt.VIR_DOMAIN_PAUSED: "paused",
    libvirt.VIR_DOMAIN_SHUTDOWN: "running",  # shutting down, still running
    libvirt.VIR_DOMAIN_SHUTOFF: "shutoff",
    libvirt.VIR_DOMAIN_CRASHED: "crashed",
    libvirt.VIR_DOMAIN_PMSUSPENDED: "paused",
}
"""virDomainState -> the power state virtfleet reports."""

EVENT_STATES: dict[int, str] = {
    libvirt.VIR_DOMAIN_EVENT_STARTED: "running",
    libvirt.VIR_DOMAIN_EVENT_RESUMED: "running",
    libvirt.VIR_DOMAIN_EVENT_SUSPENDED: "paused",
    libvirt.VIR_DOMAIN_EVENT_STOPPED: "shutoff",
    libvirt.VIR_DOMAIN_EVENT_SHUTDOWN: "shutoff",
    libvirt.VIR_DOMAIN_EVENT_CRASHED: "crashed",
    libvirt.VIR_DOMAIN_EVENT_PMSUSPENDED: "paused",
}
"""Lifecycle event -> the power state it leaves the guest in (others are ignored)."""

UNSUPPORTED_CODES = frozenset(
    {libvirt.VIR_ERR_NO_SUPPORT, libvirt.VIR_ERR_INVALID_ARG, libvirt.VIR_ERR_ARGUMENT_UNSUPPORTED}
)
"""Codes meaning "this call/flag is not available here": fall back to a plainer call."""

CONNECTION_LOST_CODES = frozenset(
    {libvirt.VIR_ERR_INVALID_CONN, libvirt.VIR_ERR_SYSTEM_ERROR, libvirt.VIR_ERR_INTERNAL_ERROR}
)
"""Codes a call answers with once libvirtd went away under the connection."""

P = ParamSpec("P")
T = TypeVar("T")


#: What a cold migration or resize renames the source's instance directory to.
RESIZE_SUFFIX = "_resize"


def kept_dir(instance_dir: str) -> str:
    """Where a cold migration keeps the source's files until confirm or revert."""
    return os.path.normpath(instance_dir) + RESIZE_SUFFIX


def hypervisor_error(what: str, exc: BaseException) -> errors.HypervisorError:
    """Wrap a failure as HypervisorError carrying libvirt's message and code."""
    if isinstance(exc, libvirt.libvirtError):
        return errors.HypervisorError(f"{what}: {exc.get_error_message()}", exc.get_error_code())
    if isinstance(exc, subprocess.CalledProcessError):
        detail = (exc.stderr or "").strip() or f"exit status {exc.returncode}"
        return errors.HypervisorError(f"{what}: {exc.cmd[0]}: {detail}")
    return errors.HypervisorError(f"{what}: {exc}")


def libvirt_failure(what: str, exc: libvirt.libvirtError) -> errors.VirtfleetError:
    """NotFound when the domain is gone (it may vanish between two calls), else
    HypervisorError."""
    if _code(exc) == libvirt.VIR_ERR_NO_DOMAIN:
        return errors.NotFound(f"{what}: {exc.get_error_message()}")
    return hypervisor_error(what, exc)


def _code(exc: libvirt.libvirtError) -> int:
    """The libvirt error code (0 when the error carries none)."""
    return int(exc.get_error_code() or 0)


class LibvirtDriver:
    """Spawns, destroys and powers guests on one hypervisor connection."""

    def __init__(
        self,
        conn: Connection,
        conf: cfg.ConfigOpts,
        images: ImageTool | None = None,
        reopen: Callable[[], Connection] | None = None,
    ) -> None:
        self._conn = conn
        self._reopen = reopen  # how to connect again after libvirtd restarted
        self._conf = conf
        self._images: ImageTool = images or QemuImg()
        self._host: HostInfo | None = None
        self._kvm_usable: bool | None = None  # probed at the first discovery
        self._callbacks: list[LifecycleCallback] = []

    # -- host ---------------------------------------------------------------------
    def discover(self) -> HostInfo:
        """Re-discover the host (capabilities, versions, traits) and remember it."""
        if self._kvm_usable is None:
            self._kvm_usable = self._check_kvm()
        self._host = host.discover(self._conn, self._conf, self._kvm_usable)
        return self._host

    def _check_kvm(self) -> bool:
        """Whether KVM can run guests here; when it cannot, fall back to TCG with a
        warning, or refuse to start (``[libvirt] kvm_unusable = refuse``)."""
        problem = host.kvm_problem(self._conn, self._conf)
        if problem is None:
            return True
        if self._conf.libvirt.kvm_unusable == "refuse":
            raise errors.HypervisorError(
                f"[libvirt] virt_type = kvm, but KVM cannot run a guest on this host: "
                f"{problem} (set [libvirt] virt_type = qemu for TCG, or "
                "kvm_unusable = fallback)"
            )
        LOG.warning(
            "KVM cannot run a guest on this host (%s): its guests run under TCG "
            "(virt_type qemu). [libvirt] kvm_unusable = refuse stops the agent instead.",
            problem,
        )
        return False

    def host_info(self) -> HostInfo:
        """The last discovery, discovering first if needed."""
        return self._host or self.discover()

    def ensure_connected(self) -> bool:
        """Connect again when the hypervisor connection died (libvirtd restarted):
        lifecycle events are registered anew. True when it reconnected; raises
        HypervisorError while the daemon is still away (the caller tries again)."""
        if self._reopen is None:
            return False
        try:
            alive = bool(self._conn.isAlive()) and self._conn.getLibVersion() > 0
        except libvirt.libvirtError as exc:
            LOG.info("hypervisor connection check failed: %s", exc.get_error_message())
            alive = False
        if alive:
            return False
        LOG.warning("the hypervisor connection is gone (libvirtd restarted?): reconnecting")
        with contextlib.suppress(libvirt.libvirtError):
            self._conn.close()
        try:
            self._conn = self._reopen()
        except libvirt.libvirtError as exc:
            raise hypervisor_error("cannot connect to the hypervisor again", exc) from exc
        if self._callbacks:
            self._conn.domainEventRegisterAny(
                None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._on_lifecycle_event, None
            )
        self._host = None  # discovered again on the new connection
        LOG.warning("reconnected to the hypervisor")
        return True

    # -- guests ---------------------------------------------------------------------
    def build(self, spec: GuestSpec) -> guest.ResolvedGuest:
        """Resolve ``spec`` on this host (InvalidInput when it cannot run here)."""
        return guest.resolve(spec, self.host_info(), self._conf)

    def spawn(self, spec: GuestSpec) -> None:
        """Create files, define and start the guest; on failure leave nothing behind."""
        resolved = self.build(spec)
        uuid = spec.instance_uuid
        if self._find(uuid) is not None:
            raise errors.Conflict(f"instance {uuid} already exists on this host")
        self._check_disk_in_place(spec, resolved.disk_path)
        domain_xml = guest.build_domain(resolved).to_xml()
        try:
            self._prepare_files(resolved)
            domain = self._conn.defineXML(domain_xml)
            domain.create()
            self._wait_settled(domain, resolved.console_log_path)
        except Exception as exc:  # any failure: leave nothing behind, then report it
            LOG.warning("spawn of %s failed, cleaning up: %s", uuid, exc)
            self._cleanup_after_failure(uuid, None if spec.disk_in_place else resolved.instance_dir)
            if isinstance(exc, errors.HypervisorError):
                raise
            raise hypervisor_error(f"spawn of instance {uuid} failed", exc) from exc

    def spawn_domain(self, spec: GuestSpec, make_xml: Callable[[str | None], str]) -> None:
        """Like :meth:`spawn` for a domain made elsewhere (a slice template): the
        instance dir, console log and disk overlay (with an image) are created, then
        ``make_xml(disk_path)`` gives the XML to define and start."""
        uuid = spec.instance_uuid
        if self._find(uuid) is not None:
            raise errors.Conflict(f"instance {uuid} already exists on this host")
        instance_dir = spec.instance_dir or self._default_dir(uuid)
        disk_path = os.path.join(instance_dir, guest.DISK_FILE) if spec.image_path else None
        self._check_disk_in_place(spec, disk_path)
        try:
            os.makedirs(instance_dir, exist_ok=True)
            if spec.image_path and disk_path:
                self._make_disk(spec, disk_path)
            with open(spec.console_log_path or os.path.join(instance_dir, guest.CONSOLE_LOG), "ab"):
                pass
            domain = self._conn.defineXML(make_xml(disk_path))
            domain.create()
            self._wait_settled(domain, spec.console_log_path)
        except Exception as exc:  # any failure: leave nothing behind, then report it
            LOG.warning("spawn of %s failed, cleaning up: %s", uuid, exc)
            self._cleanup_after_failure(uuid, None if spec.disk_in_place else instance_dir)
            if isinstance(exc, errors.VirtfleetError):
                raise
            raise hypervisor_error(f"spawn of instance {uuid} failed", exc) from exc

    def _wait_settled(self, domain: Domain, console_log: str | None) -> None:
        """A guest that stops within ``[libvirt] spawn_settle_seconds`` fails the spawn."""
        seconds = float(self._conf.libvirt.spawn_settle_seconds)
        if seconds > 0:
            settle.wait_settled(domain, seconds, console_log)

    @property
    def connection(self) -> Connection:
        """The hypervisor connection (slices read the host's PCI devices through it)."""
        return self._conn

    def _cleanup_after_failure(self, instance_uuid: str, instance_dir: str | None) -> None:
        """Best effort: a failing cleanup is logged, the original error wins."""
        try:
            self._remove(instance_uuid, instance_dir)
        except errors.VirtfleetError:
            LOG.exception("cleanup after the failed spawn of %s failed", instance_uuid)

    def destroy(
        self, instance_uuid: str, remove_files: bool = True, shutdown_timeout: float = 0
    ) -> None:
        """Stop and undefine the guest and (unless told not to) remove its files;
        nothing there is fine. With ``shutdown_timeout`` the guest is first asked to
        shut down (:meth:`clean_shutdown`)."""
        if shutdown_timeout > 0:
            domain = self._find(instance_uuid)
            if domain is not None:
                self.clean_shutdown(domain, shutdown_timeout)
        if not remove_files:
            self._remove(instance_uuid, None)
            return
        instance_dir = None
        domain = self._find(instance_uuid)
        if domain is not None:
            with contextlib.suppress(errors.NotFound):  # gone meanwhile: files may be left
                instance_dir = self._files(domain)[0]
        self._remove(instance_uuid, instance_dir or self._default_dir(instance_uuid))

    def power_off(self, instance_uuid: str, shutdown_timeout: float = 0) -> None:
        """Power off (idempotent): ask the guest first when ``shutdown_timeout`` > 0
        (:meth:`clean_shutdown`), then force it off."""
        domain = self._lookup(instance_uuid)
        if shutdown_timeout > 0 and self.clean_shutdown(domain, shutdown_timeout):
            return
        self._call(f"power off {instance_uuid}", self._stop, domain)

    def clean_shutdown(self, domain: Domain, timeout: float) -> bool:
        """Press the guest's ACPI power button (``virDomainShutdown``; again every
        :data:`SHUTDOWN_RETRY_SECONDS`) and wait up to ``timeout`` seconds for it to
        power off. True when it did (or was not running); False when the caller must
        force it."""
        uuid = domain.UUIDString()
        deadline = time.monotonic() + timeout
        next_press = 0.0
        while True:
            try:
                if not domain.isActive():
                    LOG.info("instance %s shut down cleanly", uuid)
                    return True
                now = time.monotonic()
                if now >= deadline:
                    LOG.warning(
                        "instance %s did not shut down within %ss: forcing it off", uuid, timeout
                    )
                    return False
                if now >= next_press:
                    domain.shutdown()
                    next_press = now + SHUTDOWN_RETRY_SECONDS
            except libvirt.libvirtError as exc:
                if _code(exc) == libvirt.VIR_ERR_NO_DOMAIN:
                    return True
                if _code(exc) != libvirt.VIR_ERR_OPERATION_INVALID:  # not running: next loop
                    LOG.warning("instance %s: clean shutdown failed, forcing: %s", uuid, exc)
                    return False
            time.sleep(min(SHUTDOWN_POLL_SECONDS, max(0.0, deadline - time.monotonic())))

    def power_on(self, instance_uuid: str) -> None:
        """Start a stopped guest (idempotent)."""
        domain = self._lookup(instance_uuid)
        what = f"power on {instance_uuid}"
        if not self._call(what, domain.isActive):
            self._call(what, domain.create)

    def reboot(self, instance_uuid: str, hard: bool = True, shutdown_timeout: float = 0) -> None:
        """Start a stopped guest; reset a running one. A soft reboot (``hard`` False
        with ``shutdown_timeout`` > 0) first asks the guest to shut down and starts it
        again once it did; one that does not within the timeout is reset."""
        domain = self._lookup(instance_uuid)
        what = f"reboot {instance_uuid}"
        if not self._call(what, domain.isActive):
            self._call(what, domain.create)
            return
        if not hard and shutdown_timeout > 0 and self.clean_shutdown(domain, shutdown_timeout):
            self._call(what, domain.create)
            return
        try:
            domain.reset(0)
        except libvirt.libvirtError as exc:
            if _code(exc) not in UNSUPPORTED_CODES:
                raise libvirt_failure(what, exc) from exc
            self._call(what, self._stop, domain)
            self._call(what, domain.create)

    def pause(self, instance_uuid: str) -> None:
        """Pause the guest's vCPUs (its memory stays in QEMU)."""
        domain = self._lookup(instance_uuid)
        self._call(f"pause {instance_uuid}", domain.suspend)

    def unpause(self, instance_uuid: str) -> None:
        """Run a paused guest's vCPUs again."""
        domain = self._lookup(instance_uuid)
        self._call(f"unpause {instance_uuid}", domain.resume)

    def suspend(self, instance_uuid: str) -> None:
        """Save the guest's memory to libvirt's managed save image and stop it (the
        next start restores it); a guest already saved is fine."""
        domain = self._lookup(instance_uuid)
        what = f"suspend {instance_uuid}"
        if self._call(what, domain.isActive):
            self._call(what, domain.managedSave, 0)
        elif not self._call(what, domain.hasManagedSaveImage, 0):
            raise errors.Conflict(f"{what}: the guest is not running and has no saved state")

    def resume(self, instance_uuid: str) -> None:
        """Restore a suspended guest from its managed save image (idempotent)."""
        domain = self._lookup(instance_uuid)
        what = f"resume {instance_uuid}"
        if not self._call(what, domain.isActive):
            self._call(what, domain.create)

    def snapshot(self, instance_uuid: str, target_path: str) -> None:
        """Write the guest's root disk, flattened with its base, as the qcow2
        ``target_path``; a running guest's vCPUs are paused meanwhile (so the disk
        holds what it last wrote) and run again afterwards. Conflict when the guest
        has no disk (a kernel booted without an image disk)."""
        domain = self._lookup(instance_uuid)
        what = f"snapshot {instance_uuid}"
        instance_dir = self._files(domain)[0] or self._default_dir(instance_uuid)
        disk = os.path.join(instance_dir, guest.DISK_FILE)
        if not os.path.isfile(disk):
            raise errors.Conflict(f"{what}: the guest has no disk to snapshot")
        state = int(self._call(what, domain.state, 0)[0])
        pause = state == libvirt.VIR_DOMAIN_RUNNING
        if pause:
            self._call(what, domain.suspend)
        try:
            self._images.convert(disk, "qcow2", target_path)
        except (OSError, subprocess.CalledProcessError) as exc:
            with contextlib.suppress(OSError):
                os.unlink(target_path)
            raise hypervisor_error(what, exc) from exc
        finally:
            if pause:
                self._call(what, domain.resume)

    # -- rescue -----------------------------------------------------------------------
    def rescue(
        self,
        spec: GuestSpec,
        rescue_image_path: str,
        rescue_image_format: str,
        device: RescueDevice | None = None,
    ) -> None:
        """Boot the guest from a new overlay over the rescue image (its first disk, on
        the bus its guest request gives its root disk, as at boot) with its own root
        disk second, or (``device``: a stable device rescue) attached as that device
        beside the guest's unchanged disks, booted first; its definition before is
        kept for :meth:`unrescue`. A stopped
        guest is started. On any failure the guest is defined and powered as it was
        and the rescue disk is gone."""
        uuid = spec.instance_uuid
        what = f"rescue of instance {uuid}"
        if rescue_image_format not in guest.IMAGE_FORMATS:
            raise errors.InvalidInput(
                f"{what}: rescue image format {rescue_image_format!r} is not one of: "
                f"{', '.join(guest.IMAGE_FORMATS)}"
            )
        domain = self._lookup(uuid)
        bus = self.build(spec).disk_bus
        instance_dir, console_log = self._files(domain)
        instance_dir = instance_dir or self._default_dir(uuid)
        saved = os.path.join(instance_dir, rescue.UNRESCUE_XML)
        if os.path.exists(saved):
            raise errors.Conflict(f"{what}: the guest is already rescued")
        original = self._call(what, domain.XMLDesc, libvirt.VIR_DOMAIN_XML_INACTIVE)
        was_running = bool(self._call(what, domain.isActive))
        disk = os.path.join(instance_dir, rescue.RESCUE_DISK)
        try:
            xml = (
                rescue.rescue_xml(original, disk, bus, guest.DISK_DEV_PREFIX[bus])
                if device is None
                else rescue.stable_rescue_xml(
                    original, disk, device.device, device.bus, guest.DISK_DEV_PREFIX[device.bus]
                )
            )
            _write_file(saved, original)
            self._images.create_overlay(disk, rescue_image_path, rescue_image_format, 0)
            self._stop(domain)
            rescued = self._conn.defineXML(xml)
            rescued.create()
            self._wait_settled(rescued, console_log)
        except Exception as exc:  # the guest as it was, then report why
            LOG.warning("%s failed, restoring the guest: %s", what, exc)
            self._restore(uuid, original, was_running)
            for leftover in (disk, saved):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(leftover)
            if isinstance(exc, errors.VirtfleetError):
                raise
            raise hypervisor_error(what, exc) from exc
        LOG.info("instance %s rescued from %s", uuid, rescue_image_path)

    def unrescue(self, instance_uuid: str) -> None:
        """Define the guest as it was before :meth:`rescue` (the kept definition,
        unchanged), start it and remove the rescue disk. Conflict when the guest is
        not rescued; on a failure the rescued guest is started again."""
        what = f"unrescue of instance {instance_uuid}"
        domain = self._lookup(instance_uuid)
        instance_dir = self._files(domain)[0] or self._default_dir(instance_uuid)
        saved = os.path.join(instance_dir, rescue.UNRESCUE_XML)
        try:
            with open(saved, encoding="utf-8") as handle:
                original = handle.read()
        except FileNotFoundError:
            raise errors.Conflict(f"{what}: the guest is not rescued") from None
        rescue_definition = self._call(what, domain.XMLDesc, libvirt.VIR_DOMAIN_XML_INACTIVE)
        try:
            self._stop(domain)
            restored = self._conn.defineXML(original)
            restored.create()
        except (libvirt.libvirtError, errors.VirtfleetError) as exc:
            LOG.warning("%s failed, starting the rescued guest again: %s", what, exc)
            self._restore(instance_uuid, rescue_definition, True)
            if isinstance(exc, errors.VirtfleetError):
                raise
            raise libvirt_failure(what, exc) from exc
        for done in (os.path.join(instance_dir, rescue.RESCUE_DISK), saved):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(done)
        LOG.info("instance %s unrescued", instance_uuid)

    def _restore(self, instance_uuid: str, xml: str, start: bool) -> None:
        """Best effort: define ``xml`` again (the domain stopped first) and start it
        when ``start``; a failure is logged (the caller reports the first error)."""
        try:
            domain = self._find(instance_uuid)
            if domain is not None:
                self._stop(domain)
            domain = self._conn.defineXML(xml)
            if start and not domain.isActive():
                domain.create()
        except (libvirt.libvirtError, errors.VirtfleetError):
            LOG.exception("could not restore instance %s as it was", instance_uuid)

    def get_power_state(self, instance_uuid: str) -> str:
        """running, shutoff, paused, crashed or nostate."""
        state = self._call(f"get state of {instance_uuid}", self._lookup(instance_uuid).state)
        return POWER_STATES.get(int(state[0]), "nostate")

    def get_domain_xml(self, instance_uuid: str) -> str:
        """The live domain XML."""
        return self._call(f"get XML of {instance_uuid}", self._lookup(instance_uuid).XMLDesc, 0)

    def get_console_output(self, instance_uuid: str, max_bytes: int = CONSOLE_TAIL_BYTES) -> str:
        """The last ``max_bytes`` of the guest's console log ("" before any output)."""
        console_log = self._files(self._lookup(instance_uuid))[1]
        if not console_log or not os.path.exists(console_log):
            return ""
        with open(console_log, "rb") as handle:
            handle.seek(max(0, os.path.getsize(console_log) - max_bytes))
            return handle.read().decode("utf-8", errors="replace")

    def check_console(self, instance_uuid: str, kind: str) -> None:
        """Conflict unless the guest runs; InvalidInput when it lacks console ``kind``
        (``serial`` or ``vnc``)."""
        domain = self._lookup(instance_uuid)
        if not self._call(f"console of {instance_uuid}", domain.isActive):
            raise errors.Conflict(f"instance {instance_uuid} is not running")
        console.has_console(domain, self.get_domain_xml(instance_uuid), kind)

    def open_console(self, instance_uuid: str, kind: str) -> console.Channel:
        """A byte channel to console ``kind`` of the running guest."""
        self.check_console(instance_uuid, kind)
        domain = self._lookup(instance_uuid)
        try:
            return console.open_channel(domain, self.get_domain_xml(instance_uuid), kind)
        except libvirt.libvirtError as exc:
            raise libvirt_failure(f"open {kind} console of {instance_uuid}", exc) from exc
        except OSError as exc:
            raise errors.HypervisorError(
                f"open {kind} console of {instance_uuid}: {exc.strerror or exc}"
            ) from exc

    def set_admin_password(self, instance_uuid: str, password: str) -> None:
        """Set root's password in the running guest through the QEMU guest agent;
        Conflict when the guest is not running, has no agent channel (image property
        ``hw_qemu_guest_agent``) or its agent does not answer. The password is never
        logged."""
        domain = self._lookup(instance_uuid)
        what = f"set the admin password of {instance_uuid}"
        if not self._call(what, domain.isActive):
            raise errors.Conflict(f"instance {instance_uuid} is not running")
        devices = config.Domain.parse(self.get_domain_xml(instance_uuid)).devices
        channels = devices.channels if devices else []
        if not any(c.target and c.target.name == guest.AGENT_CHANNEL for c in channels):
            raise errors.Conflict(
                f"instance {instance_uuid} has no QEMU guest agent channel: set the image "
                "property hw_qemu_guest_agent=yes (and run qemu-guest-agent in the guest)"
            )
        try:
            domain.setUserPassword(ADMIN_USER, password, 0)
        except libvirt.libvirtError as exc:
            if _code(exc) in AGENT_UNAVAILABLE_CODES:
                raise errors.Conflict(
                    f"{what}: the QEMU guest agent did not answer ({exc.get_error_message()})"
                ) from None
            raise libvirt_failure(what, exc) from None

    def list_instance_uuids(self) -> list[str]:
        """UUIDs of the guests virtfleet manages on this host (by domain name)."""
        domains = self._call("list domains", self._conn.listAllDomains, 0)
        return sorted(
            d.UUIDString() for d in domains if d.name().startswith(guest.DOMAIN_NAME_PREFIX)
        )

    def register_lifecycle_callback(self, callback: LifecycleCallback) -> None:
        """Call ``callback(instance_uuid, power_state)`` on lifecycle events.

        Real libvirt delivers events only when an event loop implementation was
        registered before the connection was opened, and is being run.
        """
        if not self._callbacks:
            self._conn.domainEventRegisterAny(
                None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._on_lifecycle_event, None
            )
        self._callbacks.append(callback)

    # -- live migration (policy and libvirt calls in .migration) ----------------------
    def live_migrate(
        self, data: LibvirtLiveMigrateData, rewrite: migration.XmlRewrite | None = None
    ) -> None:
        """Move the running guest to ``data.dest_uri``; returns once it runs there."""
        migration.migrate(self._lookup(data.instance_uuid), data, rewrite)

    def live_migration_progress(self, instance_uuid: str) -> migration.Progress:
        return migration.progress(self._lookup(instance_uuid))

    def live_migration_abort(self, instance_uuid: str) -> None:
        migration.abort(self._lookup(instance_uuid))

    def live_migration_force_complete(self, instance_uuid: str) -> None:
        migration.force_complete(self._lookup(instance_uuid))

    def live_migration_cleanup_destination(self, instance_uuid: str, remove_files: bool) -> None:
        """Undo an incoming migration that failed (files only when not shared)."""
        directory = self.instance_dir(instance_uuid) if remove_files else None
        migration.cleanup_destination(self._conn, instance_uuid, directory)

    def instance_dir(self, instance_uuid: str) -> str:
        """The guest's directory (from its domain metadata, else the default)."""
        domain = self._find(instance_uuid)
        recorded = self._files(domain)[0] if domain is not None else None
        return recorded or self._default_dir(instance_uuid)

    def migration_uri(self) -> str:
        """The URI another host's daemon reaches this one at: ``[libvirt]
        live_migration_uri`` (``%s`` = this host's name), else ``connection_uri``."""
        configured: str | None = self._conf.libvirt.live_migration_uri
        if configured:
            return configured.replace("%s", self._conf.host or socket.gethostname())
        return str(self._conf.libvirt.connection_uri)

    # -- helpers ----------------------------------------------------------------------
    def _on_lifecycle_event(
        self, _conn: Connection, domain: Domain, event: int, detail: int, _opaque: object
    ) -> None:
        if migration.is_migration_event(event, detail):  # the conductor follows moves
            return
        state = EVENT_STATES.get(int(event))
        if state is None or not domain.name().startswith(guest.DOMAIN_NAME_PREFIX):
            return
        uuid = domain.UUIDString()
        for callback in list(self._callbacks):
            try:
                callback(uuid, state)
            except Exception:  # one bad listener must not break libvirt's event loop
                LOG.exception("lifecycle callback failed for %s", uuid)

    @staticmethod
    def _call(what: str, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Call libvirt; a domain that vanished meanwhile is NotFound, the rest
        HypervisorError."""
        try:
            return func(*args, **kwargs)
        except libvirt.libvirtError as exc:
            raise libvirt_failure(what, exc) from exc

    def _find(self, instance_uuid: str, retry: bool = True) -> Domain | None:
        """The domain, or None when libvirt has no such domain (a dead connection is
        re-opened once first)."""
        try:
            return self._conn.lookupByUUIDString(instance_uuid)
        except libvirt.libvirtError as exc:
            if _code(exc) == libvirt.VIR_ERR_NO_DOMAIN:
                return None
            if retry and _code(exc) in CONNECTION_LOST_CODES and self.ensure_connected():
                return self._find(instance_uuid, retry=False)
            raise hypervisor_error(f"look up {instance_uuid}", exc) from exc

    def _lookup(self, instance_uuid: str) -> Domain:
        domain = self._find(instance_uuid)
        if domain is None:
            raise errors.NotFound(f"instance {instance_uuid} is not on this host")
        return domain

    def _files(self, domain: Domain) -> tuple[str | None, str | None]:
        """Instance dir and console log recorded in the domain's metadata."""
        xml = self._call("get XML", domain.XMLDesc, 0)
        meta = config.Domain.parse(xml).instance
        if meta is None:
            return None, None
        return meta.instance_dir, meta.console_log

    def instance_on_disk(self, instance_uuid: str) -> bool:
        """Whether the guest's files are on this host's instances path already, as on
        shared storage (Nova's ``instance_on_disk``): its instance directory holds its
        root disk and a probe file written there is seen in it (the directory is
        writable here, not a stale read-only copy); the probe is removed."""
        directory = self._default_dir(instance_uuid)
        if not os.path.isfile(os.path.join(directory, guest.DISK_FILE)):
            return False
        try:
            handle, probe = tempfile.mkstemp(prefix=".vf-shared-probe-", dir=directory)
        except OSError as exc:
            LOG.info("instance %s: %s is not writable here: %s", instance_uuid, directory, exc)
            return False
        os.close(handle)
        try:
            return os.path.basename(probe) in os.listdir(directory)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(probe)

    def _default_dir(self, instance_uuid: str) -> str:
        return os.path.join(host.instances_path(self._conf), instance_uuid)

    def _prepare_files(self, resolved: guest.ResolvedGuest) -> None:
        spec = resolved.spec
        os.makedirs(resolved.instance_dir, exist_ok=True)
        if spec.image_path and resolved.disk_path:
            self._make_disk(spec, resolved.disk_path)
        os.makedirs(os.path.dirname(resolved.console_log_path), exist_ok=True)
        with open(resolved.console_log_path, "ab"):
            pass

    @staticmethod
    def _check_disk_in_place(spec: GuestSpec, disk_path: str | None) -> None:
        """A spawn with ``disk_in_place`` needs that disk here (InvalidInput, before
        anything is made, otherwise)."""
        if spec.disk_in_place and (disk_path is None or not os.path.isfile(disk_path)):
            raise errors.InvalidInput(
                f"the root disk {disk_path} of instance {spec.instance_uuid} is not on "
                "this host's instances path (no shared storage here)"
            )

    def _make_disk(self, spec: GuestSpec, disk_path: str) -> None:
        """The root disk: a copy of a moved guest's (``disk_source``), else a new
        overlay over the image."""
        assert spec.image_path is not None
        if spec.disk_in_place:  # shared storage: the guest's own disk, as it is, over
            # this host's cached image (the source's cache may drop its copy later)
            self._check_disk_in_place(spec, disk_path)
            self._images.rebase(disk_path, spec.image_path, spec.image_format)
            return
        if spec.disk_source:
            self._images.copy_disk(
                spec.disk_source, disk_path, spec.image_path, spec.image_format, spec.root_gb
            )
            return
        self._images.create_overlay(disk_path, spec.image_path, spec.image_format, spec.root_gb)

    # -- cold migration and resize ----------------------------------------------------
    def migrate_disk_and_power_off(self, instance_uuid: str) -> str:
        """Stop the guest and undefine it, keeping its files: its instance directory
        becomes ``<directory>_resize`` (the source side of a cold migration or resize,
        kept until confirm or revert); returns that directory."""
        what = f"cold migration of {instance_uuid}"
        domain = self._lookup(instance_uuid)
        instance_dir = self._files(domain)[0] or self._default_dir(instance_uuid)
        self._call(what, self._stop, domain)
        self._call(what, self._undefine, domain)
        kept = kept_dir(instance_dir)
        if os.path.isdir(kept):  # a leftover of an earlier move that was never cleaned
            shutil.rmtree(kept)
        if os.path.isdir(instance_dir):
            os.rename(instance_dir, kept)
        else:
            os.makedirs(kept)
        return kept

    def cleanup_resize(self, kept: str) -> None:
        """Remove a directory :meth:`migrate_disk_and_power_off` kept (only such a one)."""
        if not os.path.basename(os.path.normpath(kept)).endswith(RESIZE_SUFFIX):
            raise errors.InvalidInput(f"{kept} is not a directory a cold migration kept")
        shutil.rmtree(kept, ignore_errors=True)

    @staticmethod
    def _stop(domain: Domain) -> None:
        """Destroy a running domain; one that already stopped is fine."""
        try:
            if domain.isActive():
                domain.destroy()
        except libvirt.libvirtError as exc:
            if _code(exc) != libvirt.VIR_ERR_OPERATION_INVALID:
                raise

    def _remove(self, instance_uuid: str, instance_dir: str | None) -> None:
        """Destroy + undefine (with NVRAM) the domain if any, then remove the files."""
        what = f"destroy instance {instance_uuid}"
        domain = self._find(instance_uuid)
        if domain is not None:
            try:
                self._call(what, self._stop, domain)
                self._call(what, self._undefine, domain)
            except errors.NotFound:
                LOG.info("%s: the domain went away by itself", what)
        if instance_dir and os.path.basename(os.path.normpath(instance_dir)) == instance_uuid:
            shutil.rmtree(instance_dir, ignore_errors=True)
        elif instance_dir:
            LOG.warning("not removing %s: not an instance directory", instance_dir)

    @staticmethod
    def _undefine(domain: Domain) -> None:
        flags = libvirt.VIR_DOMAIN_UNDEFINE_NVRAM | libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
        try:
            domain.undefineFlags(flags)
        except libvirt.libvirtError as exc:
            if _code(exc) == libvirt.VIR_ERR_NO_DOMAIN:
                return
            if _code(exc) not in UNSUPPORTED_CODES:
                raise
            domain.undefine()


def _write_file(path: str, text: str) -> None:
    """Write ``text`` to ``path`` whole (a temporary file renamed into place)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    partial = f"{path}.part"
    with open(partial, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(partial, path)
