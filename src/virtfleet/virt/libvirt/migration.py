"""Live migration, driver side: flags and parameters for ``migrateToURI3``, the
destination XML (with a rewrite hook for host-specific parts such as mdev UUIDs),
progress from the job statistics, abort and force-complete, and the destination's
cleanup after a failed migration.

Peer to peer (the source daemon connects to the destination's ``dest_uri``), the
domain defined on the destination and undefined on the source once it ran there.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypedDict

import libvirt
from lxml import etree

from virtfleet import errors
from virtfleet.objects.migrate_data import LibvirtLiveMigrateData
from virtfleet.virt.hypervisor import Connection, Domain, MigrationParams

LOG = logging.getLogger(__name__)

XmlRewrite = Callable[[str, LibvirtLiveMigrateData], str]
"""Turns the source's migratable XML into the XML the destination defines."""

BASE_FLAGS = (
    libvirt.VIR_MIGRATE_LIVE
    | libvirt.VIR_MIGRATE_PEER2PEER
    | libvirt.VIR_MIGRATE_PERSIST_DEST
    | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
)
BLOCK_FLAGS = libvirt.VIR_MIGRATE_NON_SHARED_INC  # the destination has the backing file
FULL_BLOCK_FLAGS = libvirt.VIR_MIGRATE_NON_SHARED_DISK  # it does not: whole disks
XML_FLAGS = libvirt.VIR_DOMAIN_XML_MIGRATABLE | libvirt.VIR_DOMAIN_XML_SECURE

ABORTED_CODES = frozenset({libvirt.VIR_ERR_OPERATION_ABORTED})

MIGRATION_EVENTS = frozenset(
    {
        (libvirt.VIR_DOMAIN_EVENT_STARTED, libvirt.VIR_DOMAIN_EVENT_STARTED_MIGRATED),
        (libvirt.VIR_DOMAIN_EVENT_SUSPENDED, libvirt.VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED),
        (libvirt.VIR_DOMAIN_EVENT_SUSPENDED, libvirt.VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY),
        (libvirt.VIR_DOMAIN_EVENT_RESUMED, libvirt.VIR_DOMAIN_EVENT_RESUMED_MIGRATED),
        (libvirt.VIR_DOMAIN_EVENT_RESUMED, libvirt.VIR_DOMAIN_EVENT_RESUMED_POSTCOPY),
        (libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_MIGRATED),
    }
)
"""(event, detail) pairs a live migration causes on either side: the source pauses the
guest for the last pass and stops it once it left, the destination starts and resumes
it (and a failed migration resumes it on the source). The conductor decides where the
guest runs; these must not change its power state. Post-copy failures are not here."""


def is_migration_event(event: int, detail: int) -> bool:
    """Whether a lifecycle event is a step of a live migration (see MIGRATION_EVENTS)."""
    return (int(event), int(detail)) in MIGRATION_EVENTS


@dataclass(frozen=True)
class Progress:
    """Bytes of a running migration (all 0 before the job shows up)."""

    memory_total: int = 0
    memory_processed: int = 0
    memory_remaining: int = 0
    disk_total: int = 0
    disk_processed: int = 0
    disk_remaining: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)

    @property
    def percent(self) -> int:
        """Share of memory (and disk) copied, 0..100."""
        total = self.memory_total + self.disk_total
        done = self.memory_processed + self.disk_processed
        return 0 if total <= 0 else max(0, min(100, done * 100 // total))


def version_text(encoded: int) -> str:
    """libvirt's ``major * 1e6 + minor * 1e3 + micro`` as ``"major.minor.micro"``."""
    return f"{encoded // 1_000_000}.{encoded // 1000 % 1000}.{encoded % 1000}"


def version_tuple(text: str | None) -> tuple[int, ...]:
    """``"8.6.0"`` -> (8, 6, 0); None or junk -> ()."""
    try:
        return tuple(int(part) for part in (text or "").split("."))
    except ValueError:
        return ()


def migration_flags(data: LibvirtLiveMigrateData) -> int:
    """Live, peer to peer, persistent on the destination, undefined on the source;
    incremental disk copy for a block migration. Never post-copy.

    When the destination sees the instance directory (checked there), the disks are
    shared; libvirt cannot tell a shared local directory from a private one and calls
    such a migration unsafe, so it is told (VIR_MIGRATE_UNSAFE)."""
    block = FULL_BLOCK_FLAGS if data.full_disk_copy else BLOCK_FLAGS
    flags = BASE_FLAGS | (block if data.block_migration else 0)
    if data.is_shared_instance_path and not data.block_migration:
        flags |= libvirt.VIR_MIGRATE_UNSAFE
    return int(flags)


def migration_params(data: LibvirtLiveMigrateData, dest_xml: str | None) -> MigrationParams:
    """``migrateToURI3`` parameters: the data URI, bandwidth and destination XML. A
    block migration streamed over a unix socket copies the disks (NBD) over a socket
    of their own beside it, as libvirt requires."""
    params: MigrationParams = {}
    if data.data_uri:
        params[libvirt.VIR_MIGRATE_PARAM_URI] = data.data_uri
        if data.block_migration and data.data_uri.startswith("unix://"):
            params[libvirt.VIR_MIGRATE_PARAM_DISKS_URI] = disks_uri(data.data_uri)
    if data.bandwidth_mib:
        params[libvirt.VIR_MIGRATE_PARAM_BANDWIDTH] = data.bandwidth_mib
    if dest_xml is not None:
        params[libvirt.VIR_MIGRATE_PARAM_DEST_XML] = dest_xml
    return params


def disks_uri(data_uri: str) -> str:
    """The NBD socket beside a unix data socket: ``unix:///d/x.sock`` -> ``unix:///d/x-disks.sock``."""
    stem, dot, ext = data_uri.rpartition(".")
    return f"{stem}-disks.{ext}" if dot and "/" not in ext else f"{data_uri}-disks"


def destination_xml(
    domain: Domain, data: LibvirtLiveMigrateData, rewrite: XmlRewrite | None
) -> str | None:
    """The XML for the destination when ``rewrite`` changes something, else None (the
    source's own definition migrates as it is)."""
    if rewrite is None:
        return None
    source_xml = str(domain.XMLDesc(XML_FLAGS))
    rewritten = rewrite(source_xml, data)
    return None if rewritten == source_xml else rewritten


def migrate(
    domain: Domain, data: LibvirtLiveMigrateData, rewrite: XmlRewrite | None = None
) -> None:
    """Run the migration to ``data.dest_uri``; returns once the guest runs there.
    Raises HypervisorError (code VIR_ERR_OPERATION_ABORTED when aborted)."""
    if not data.dest_uri:
        raise errors.InvalidInput(f"migration {data.migration_uuid}: no destination URI")
    uuid = data.instance_uuid
    try:
        params = migration_params(data, destination_xml(domain, data, rewrite))
        domain.migrateToURI3(data.dest_uri, params, migration_flags(data))
    except libvirt.libvirtError as exc:
        raise errors.HypervisorError(
            f"live migration of {uuid} to {data.dest_host} failed: {exc.get_error_message()}",
            exc.get_error_code(),
        ) from exc


# -- block migration: the guest's files on the destination ----------------------------

DISK_SOURCES = "devices/disk[@type='file']/source"


def _inside(path: str, directory: str) -> bool:
    path, directory = os.path.normpath(path), os.path.normpath(directory)
    return path == directory or path.startswith(directory + os.sep)


def relocate(path: str, old_dir: str, new_dir: str) -> str:
    """``path`` inside ``old_dir`` as the same relative path inside ``new_dir``."""
    if not _inside(path, old_dir):
        return path
    rel = os.path.relpath(os.path.normpath(path), os.path.normpath(old_dir))
    return os.path.normpath(os.path.join(new_dir, rel)) if rel != "." else new_dir


def relocate_xml(xml: str, old_dir: str, new_dir: str) -> str:
    """The domain XML with every attribute and text naming ``old_dir`` or a file in it
    (disks, console logs, the instance metadata) moved into ``new_dir``."""
    if os.path.normpath(old_dir) == os.path.normpath(new_dir):
        return xml
    root = etree.fromstring(xml.encode())
    for element in root.iter():
        for name, value in element.attrib.items():
            text = value.decode() if isinstance(value, bytes) else value
            if _inside(text, old_dir):
                element.set(name, relocate(text, old_dir, new_dir))
        if element.text and _inside(element.text.strip(), old_dir):
            element.text = relocate(element.text.strip(), old_dir, new_dir)
    return str(etree.tostring(root, encoding="unicode"))


#: What :func:`local_disks` reads of ``qemu-img info --output=json``.
QemuImgInfo = TypedDict(
    "QemuImgInfo",
    {
        "format": str,
        "virtual-size": int,
        "full-backing-filename": str,
        "backing-filename": str,
        "backing-filename-format": str,
    },
    total=False,
)


def qemu_img_info(path: str) -> QemuImgInfo:
    """``qemu-img info`` of one file (format guessed by qemu-img; HypervisorError)."""
    try:
        out = subprocess.run(
            ["qemu-img", "info", "--output=json", "-U", path],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise errors.HypervisorError(f"cannot inspect disk {path}: {exc}") from exc
    info: QemuImgInfo = json.loads(out)
    return info


def local_disks(
    domain_xml: str, instance_dir: str, info: Callable[[str], QemuImgInfo] = qemu_img_info
) -> list[dict[str, str | None]]:
    """The guest's writable file disks inside its instance directory (what a block
    migration must recreate on the destination): path, format, virtual size, backing
    file. Read-only ones (the config drive) are left out: libvirt does not copy them."""
    disks: list[dict[str, str | None]] = []
    for source in etree.fromstring(domain_xml.encode()).iterfind(DISK_SOURCES):
        path = source.get("file")
        if not path or not _inside(path, instance_dir):
            continue  # images elsewhere (shared image cache, ISOs) are not copied
        disk = source.getparent()
        if disk is not None and disk.find("readonly") is not None:
            continue  # libvirt copies no read-only disk (the config drive goes apart)
        found = info(path)
        disks.append(
            {
                "path": path,
                "format": str(found.get("format", "raw")),
                "virtual_size": str(int(found.get("virtual-size", 0))),
                "backing": found.get("full-backing-filename") or found.get("backing-filename"),
                "backing_format": found.get("backing-filename-format"),
            }
        )
    return disks


def create_target_disks(data: LibvirtLiveMigrateData, target_dir: str) -> bool:
    """On the destination of a block migration: an empty disk for every local disk of
    the guest, in ``target_dir``. An overlay over the same backing file when this host
    has it (libvirt then copies the increment), else a whole image of the same size.
    Returns whether whole disks must be copied (VIR_MIGRATE_NON_SHARED_DISK)."""
    full = False
    source_dir = data.instance_dir or target_dir
    for disk in data.local_disks:
        path = relocate(str(disk["path"]), source_dir, target_dir)
        if os.path.exists(path):
            raise errors.Conflict(f"disk {path} already exists on {data.dest_host}")
        backing, fmt = disk.get("backing"), str(disk.get("format") or "raw")
        args = ["qemu-img", "create", "-q", "-f", fmt]
        if backing and os.path.exists(backing) and fmt == "qcow2":
            args += ["-b", backing, "-F", str(disk.get("backing_format") or "raw")]
        else:
            full = full or bool(backing)
        try:
            subprocess.run(
                [*args, path, str(disk.get("virtual_size") or 0)],
                check=True,
                capture_output=True,
                text=True,
                timeout=60,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            detail = getattr(exc, "stderr", "") or exc
            raise errors.HypervisorError(f"cannot create disk {path}: {detail}") from exc
    return full


def marker_name(migration_uuid: str) -> str:
    """The file the destination leaves in the directory it prepared for a migration."""
    return f".vf-migration-{migration_uuid}"


def mark_prepared(directory: str, migration_uuid: str) -> None:
    with open(os.path.join(directory, marker_name(migration_uuid)), "w", encoding="utf-8"):
        pass


def may_remove_source_files(data: LibvirtLiveMigrateData) -> str | None:
    """The source's instance directory when the post-migration cleanup may delete
    it, else None: never with shared storage, only a directory named after the
    instance, and never one holding the destination's marker of this migration (the
    source then sees the very directory the destination prepared: it is shared)."""
    directory = data.instance_dir
    if not directory or data.is_shared_instance_path or not data.block_migration:
        return None
    if os.path.basename(os.path.normpath(directory)) != data.instance_uuid:
        return None
    if os.path.exists(os.path.join(directory, marker_name(data.migration_uuid))):
        LOG.warning("%s holds the destination's marker: shared, not removed", directory)
        return None
    return directory


def progress(domain: Domain) -> Progress:
    """The running job's bytes (zeros when no job runs)."""
    try:
        stats = domain.jobStats(0)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
            raise errors.NotFound(f"no domain: {exc.get_error_message()}") from exc
        raise errors.HypervisorError(str(exc.get_error_message()), exc.get_error_code()) from exc
    if stats.get("type", libvirt.VIR_DOMAIN_JOB_NONE) == libvirt.VIR_DOMAIN_JOB_NONE:
        return Progress()

    def read(key: str) -> int:
        return int(stats.get(key, 0) or 0)

    return Progress(
        memory_total=read(libvirt.VIR_DOMAIN_JOB_MEMORY_TOTAL),
        memory_processed=read(libvirt.VIR_DOMAIN_JOB_MEMORY_PROCESSED),
        memory_remaining=read(libvirt.VIR_DOMAIN_JOB_MEMORY_REMAINING),
        disk_total=read(libvirt.VIR_DOMAIN_JOB_DISK_TOTAL),
        disk_processed=read(libvirt.VIR_DOMAIN_JOB_DISK_PROCESSED),
        disk_remaining=read(libvirt.VIR_DOMAIN_JOB_DISK_REMAINING),
    )


def job_active(domain: Domain) -> bool:
    """Whether a job (an outgoing or incoming migration) runs on the domain now."""
    try:
        stats = domain.jobStats(0)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
            return False
        raise errors.HypervisorError(str(exc.get_error_message()), exc.get_error_code()) from exc
    return bool(int(stats.get("type", libvirt.VIR_DOMAIN_JOB_NONE)) != libvirt.VIR_DOMAIN_JOB_NONE)


def abort(domain: Domain) -> None:
    """Cancel the running migration job (Conflict when none runs)."""
    try:
        domain.abortJob()
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID:
            raise errors.Conflict(f"no migration job to abort: {exc.get_error_message()}") from exc
        raise errors.HypervisorError(str(exc.get_error_message()), exc.get_error_code()) from exc


def force_complete(domain: Domain) -> None:
    """Let a running migration finish now: suspend the guest on the source, so it no
    longer dirties memory and the copy converges in one last pass; the destination
    resumes it (event resumed/migrated). Never post-copy: migrations here never start
    with VIR_MIGRATE_POSTCOPY, and guests with mdevs must not use it anyway.

    Conflict when no migration job runs (none yet, or it already ended); a pause that
    raced with the end of the job (libvirt then reports paused/user, not
    paused/migration) is undone before the Conflict."""
    name = _domain_name(domain)
    if not job_active(domain):
        raise errors.Conflict(f"no migration of {name} is running on this host to force")
    try:
        domain.suspend()
        state, reason = domain.state()[:2]
        if state == libvirt.VIR_DOMAIN_PAUSED and reason == libvirt.VIR_DOMAIN_PAUSED_USER:
            domain.resume()
            raise errors.Conflict(f"the migration of {name} ended before it could be forced")
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
            raise errors.Conflict(
                f"the migration of {name} ended before it could be forced: "
                f"{exc.get_error_message()}"
            ) from exc
        raise errors.HypervisorError(
            f"force complete of {name}: {exc.get_error_message()}", exc.get_error_code()
        ) from exc


def _domain_name(domain: Domain) -> str:
    try:
        return str(domain.name())
    except libvirt.libvirtError:
        return "the guest"


def cleanup_destination(conn: Connection, instance_uuid: str, instance_dir: str | None) -> None:
    """After a failed migration: remove the guest's domain here (it never ran here for
    good), and its files when ``instance_dir`` is given (not shared with the source)."""
    try:
        domain = conn.lookupByUUIDString(instance_uuid)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
            raise errors.HypervisorError(
                str(exc.get_error_message()), exc.get_error_code()
            ) from exc
        domain = None
    if domain is not None:
        for step in ("destroy", "undefine"):
            try:
                if step == "destroy" and domain.isActive():
                    domain.destroy()
                elif step == "undefine" and domain.isPersistent():
                    domain.undefine()
            except libvirt.libvirtError as exc:
                if exc.get_error_code() not in (
                    libvirt.VIR_ERR_NO_DOMAIN,
                    libvirt.VIR_ERR_OPERATION_INVALID,
                ):
                    raise errors.HypervisorError(
                        f"cleanup of {instance_uuid}: {exc.get_error_message()}",
                        exc.get_error_code(),
                    ) from exc
    if instance_dir and os.path.basename(os.path.normpath(instance_dir)) == instance_uuid:
        shutil.rmtree(instance_dir, ignore_errors=True)


# -- policy (pure) -------------------------------------------------------------------

MDEV_MIN_LIBVIRT = (8, 6, 0)
MDEV_MIN_QEMU = (8, 1, 0)


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in version)


def mdev_version_refusal(
    side: str, libvirt_version: str | None, qemu_version: str | None
) -> str | None:
    """Why ``side`` (source/destination) cannot migrate a guest with mdevs, or None."""
    lv, qv = version_tuple(libvirt_version), version_tuple(qemu_version)
    if lv >= MDEV_MIN_LIBVIRT and qv >= MDEV_MIN_QEMU:
        return None
    return (
        f"the {side} host is too old to live-migrate a guest with mediated devices: it has "
        f"libvirt {libvirt_version or 'unknown'} and QEMU {qemu_version or 'unknown'}, "
        f"libvirt >= {_dotted(MDEV_MIN_LIBVIRT)} and QEMU >= {_dotted(MDEV_MIN_QEMU)} are needed"
    )


def supports_mdev_migration(libvirt_version: str | None, qemu_version: str | None) -> bool:
    return mdev_version_refusal("", libvirt_version, qemu_version) is None


def resolve_block_migration(requested: bool | str, shared_instance_path: bool) -> bool:
    """Whether to copy the disks: ``auto`` copies when the instance directory is not
    shared; an explicit choice that contradicts the storage is refused."""
    if requested == "auto":
        return not shared_instance_path
    if requested is True and shared_instance_path:
        raise errors.InvalidInput(
            "block migration requested, but the instance directory is shared with the "
            "destination; use block_migration false or auto"
        )
    if requested is False and not shared_instance_path:
        raise errors.InvalidInput(
            "shared-storage migration requested, but the destination does not see the "
            "instance directory; use block_migration true or auto"
        )
    return bool(requested)
