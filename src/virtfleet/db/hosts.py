"""Repository of compute nodes (hypervisor hosts), returning frozen records.

A host appears when its agent first reports (:func:`upsert_host`), is "up" while it
keeps reporting, and is marked "down" by :func:`mark_down` (explicitly, or for every
host whose last report is older than a cutoff). ``status`` (enabled/disabled) is the
operator's switch and is never changed by a report.
"""

from __future__ import annotations

import dataclasses
import datetime
import uuid as uuid_lib
from collections.abc import Mapping
from typing import Any, Literal, Protocol

from sqlalchemy import Row, select, update

from virtfleet import errors
from virtfleet.db.engine import Database
from virtfleet.db.models.hosts import ComputeNode

HostState = Literal["up", "down"]
HostStatus = Literal["enabled", "disabled"]

#: Root provider uuids are derived from the host name, so they survive a lost database.
HOST_UUID_NAMESPACE = uuid_lib.UUID("5f0f3c7e-2a41-4c55-9a57-6b1f0c1d8e21")


def host_uuid(host: str) -> str:
    """The stable uuid of ``host``'s compute node and root resource provider."""
    return str(uuid_lib.uuid5(HOST_UUID_NAMESPACE, host))


class ReportedHost(Protocol):
    """What a host report carries for the compute nodes table."""

    host: str
    hypervisor_hostname: str
    hypervisor_type: str
    hypervisor_version: int
    vcpus: int
    memory_mb: int
    local_gb: int


@dataclasses.dataclass(frozen=True)
class HostRecord:
    """One compute node as the rest of virtfleet sees it."""

    id: int
    uuid: str
    host: str
    hypervisor_type: str
    hypervisor_version: int
    hypervisor_hostname: str
    vcpus: int
    memory_mb: int
    local_gb: int
    cpu_info: Mapping[str, Any]
    state: HostState
    status: HostStatus
    updated_at: datetime.datetime
    disabled_reason: str | None = None
    forced_down: bool = False  # the operator says the host is down (os-services 2.11)
    tunnel_address: str | None = None  # its VXLAN endpoint, as its agent reported it

    @property
    def is_usable(self) -> bool:
        """Up and enabled: the scheduler may place guests here."""
        return self.state == "up" and self.status == "enabled" and not self.forced_down

    def is_down(self, down_after: float, now: datetime.datetime | None = None) -> bool:
        """Marked down, or silent for more than ``down_after`` seconds (0: only the
        mark counts) — its agent is not to be waited for. An operator's forced_down
        counts as down whatever the agent reports."""
        marked = self.state == "down" or self.forced_down
        return _is_down(marked, self.updated_at, down_after, now or _now())


def _is_down(
    marked: bool, updated_at: datetime.datetime, down_after: float, now: datetime.datetime
) -> bool:
    if marked:
        return True
    if down_after <= 0:
        return False
    return now - updated_at > datetime.timedelta(seconds=down_after)


def _utc(value: datetime.datetime) -> datetime.datetime:
    # SQLite drops the zone; everything stored is UTC.
    return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)


def as_state(value: str) -> HostState:
    return "up" if value == "up" else "down"


def as_status(value: str) -> HostStatus:
    return "disabled" if value == "disabled" else "enabled"


def record_from_row(row: ComputeNode | Row[Any]) -> HostRecord:
    """A host record from a compute_nodes ORM object or Core row (same attributes)."""
    return HostRecord(
        id=row.id,
        uuid=row.uuid,
        host=row.host,
        hypervisor_type=row.hypervisor_type,
        hypervisor_version=row.hypervisor_version,
        hypervisor_hostname=row.hypervisor_hostname,
        vcpus=row.vcpus,
        memory_mb=row.memory_mb,
        local_gb=row.local_gb,
        cpu_info=dict(row.cpu_info or {}),
        state=as_state(row.state),
        status=as_status(row.status),
        updated_at=_utc(row.updated_at),
        disabled_reason=row.disabled_reason,
        forced_down=bool(row.forced_down),
        tunnel_address=row.tunnel_address,
    )


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _cpu_info_of(report: object) -> dict[str, Any]:
    info = getattr(report, "cpu_info", None)
    if info is None:
        return {}
    if isinstance(info, Mapping):
        return dict(info)
    return dict(info.as_dict())


def upsert_host(
    db: Database,
    report: ReportedHost,
    cpu_info: Mapping[str, Any] | None = None,
    tunnel_address: str | None = None,
) -> HostRecord:
    """Create or refresh ``report.host``'s row and mark it up; returns the record.

    ``cpu_info`` defaults to the report's own ``cpu_info`` (a mapping, or an object
    with ``as_dict()`` such as a HostReport's); ``tunnel_address`` is the host's VXLAN
    endpoint (None: it has none)."""
    if cpu_info is None:
        cpu_info = _cpu_info_of(report)
    values: dict[str, Any] = {
        "hypervisor_hostname": report.hypervisor_hostname,
        "hypervisor_type": report.hypervisor_type,
        "hypervisor_version": int(report.hypervisor_version),
        "vcpus": int(report.vcpus),
        "memory_mb": int(report.memory_mb),
        "local_gb": int(report.local_gb),
        "cpu_info": dict(cpu_info or {}),
        "tunnel_address": tunnel_address,
        "state": "up",
        "updated_at": _now(),
    }
    with db.session() as session:
        row = session.scalars(select(ComputeNode).where(ComputeNode.host == report.host)).first()
        if row is None:
            row = ComputeNode(host=report.host, uuid=host_uuid(report.host), status="enabled")
            session.add(row)
        for key, value in values.items():
            setattr(row, key, value)
        session.flush()
        return record_from_row(row)


def list_hosts(db: Database) -> list[HostRecord]:
    """Every compute node, by id."""
    with db.read_session() as session:
        return [
            record_from_row(r)
            for r in session.scalars(select(ComputeNode).order_by(ComputeNode.id))
        ]


def _get_one(db: Database, column: Any, value: object, what: str) -> HostRecord:
    with db.read_session() as session:
        row = session.scalars(select(ComputeNode).where(column == value)).first()
        if row is None:
            raise errors.NotFound(f"compute node {what} {value!r} does not exist")
        return record_from_row(row)


def get_host(db: Database, host_id: int) -> HostRecord:
    """The compute node with database id ``host_id`` (NotFound otherwise)."""
    return _get_one(db, ComputeNode.id, host_id, "id")


def get_host_by_uuid(db: Database, uuid: str) -> HostRecord:
    """The compute node whose (root provider) uuid is ``uuid``."""
    return _get_one(db, ComputeNode.uuid, uuid, "uuid")


def get_host_by_name(db: Database, host: str) -> HostRecord:
    """The compute node of host ``host``."""
    return _get_one(db, ComputeNode.host, host, "host")


def host_is_down(db: Database, host: str, down_after: float) -> bool:
    """Whether ``host`` is down (see :meth:`HostRecord.is_down`); a host that never
    reported is down too."""
    try:
        record = get_host_by_name(db, host)
    except errors.NotFound:
        return True
    return record.is_down(down_after)


def mark_down(
    db: Database, host: str | None = None, older_than: datetime.datetime | None = None
) -> list[str]:
    """Mark ``host`` down, or every up host not reported since ``older_than``.

    Returns the names of the hosts that went down."""
    if (host is None) == (older_than is None):
        raise errors.InvalidInput("mark_down needs exactly one of host or older_than")
    stmt = select(ComputeNode).where(ComputeNode.state == "up")
    if host is not None:
        stmt = stmt.where(ComputeNode.host == host)
    else:
        assert older_than is not None
        stmt = stmt.where(ComputeNode.updated_at < older_than)
    with db.session() as session:
        rows = list(session.scalars(stmt))
        for row in rows:
            row.state = "down"
        return [row.host for row in rows]


def set_status(
    db: Database, host: str, status: HostStatus, reason: str | None = None
) -> HostRecord:
    """Enable or disable ``host`` for scheduling (the operator's switch)."""
    if status not in ("enabled", "disabled"):
        raise errors.InvalidInput(f"host status must be enabled or disabled, got {status!r}")
    with db.write() as conn:
        result = conn.execute(
            update(ComputeNode)
            .where(ComputeNode.host == host)
            .values(status=status, disabled_reason=reason if status == "disabled" else None)
        )
        if result.rowcount == 0:
            raise errors.NotFound(f"compute node host {host!r} does not exist")
    return get_host_by_name(db, host)


def set_forced_down(db: Database, host: str, forced_down: bool) -> HostRecord:
    """Mark ``host`` down (or lift the mark) whatever its agent reports: the
    operator knows it is gone (fenced), so its servers may be evacuated."""
    with db.write() as conn:
        result = conn.execute(
            update(ComputeNode).where(ComputeNode.host == host).values(forced_down=forced_down)
        )
        if result.rowcount == 0:
            raise errors.NotFound(f"compute node host {host!r} does not exist")
    return get_host_by_name(db, host)


def delete_host(db: Database, host: str) -> None:
    """Forget ``host`` (its providers are the caller's business)."""
    with db.session() as session:
        row = session.scalars(select(ComputeNode).where(ComputeNode.host == host)).first()
        if row is None:
            raise errors.NotFound(f"compute node host {host!r} does not exist")
        session.delete(row)


def tunnel_addresses(db: Database) -> dict[str, str]:
    """Host name -> tunnel address, for the hosts that reported one."""
    query = select(ComputeNode.host, ComputeNode.tunnel_address).where(
        ComputeNode.tunnel_address.is_not(None)
    )
    with db.read_session() as session:
        return {host: address for host, address in session.execute(query) if address}


def set_tunnel_address(db: Database, host: str, address: str | None) -> None:
    """Record ``host``'s tunnel address (as its report would)."""
    with db.session() as session:
        row = session.scalars(select(ComputeNode).where(ComputeNode.host == host)).first()
        if row is None:
            raise errors.NotFound(f"compute node host {host!r} does not exist")
        row.tunnel_address = address


@dataclasses.dataclass(frozen=True)
class Heartbeat:
    """When a host's agent last reported, and whether the host counts as down."""

    host: str
    updated_at: datetime.datetime
    marked_down: bool  # marked down by the conductor, or forced down by the operator

    def is_down(self, down_after: float, now: datetime.datetime) -> bool:
        """The rule of :meth:`HostRecord.is_down`."""
        return _is_down(self.marked_down, self.updated_at, down_after, now)


def heartbeats(db: Database) -> list[Heartbeat]:
    """Every host's last report (UTC) and down marks, in one light query."""
    query = select(
        ComputeNode.host, ComputeNode.updated_at, ComputeNode.state, ComputeNode.forced_down
    )
    with db.read() as conn:
        rows = conn.execute(query).all()
    return [
        Heartbeat(row.host, _utc(row.updated_at), row.state == "down" or bool(row.forced_down))
        for row in rows
    ]
