"""The fleet at a glance: hosts by architecture and state, capacity and usage per
resource class, emulated architectures and physical address bits, counts of servers
and migrations. A handful of aggregate queries whatever the fleet's size: the per-host
facts (architecture, emulation, address bits) are read and grouped inside the database."""

from __future__ import annotations

import datetime
import json
from collections import Counter
from typing import Any

from sqlalchemy import ColumnElement, String, and_, cast, func, not_, or_, select

from virtfleet.db.engine import Database
from virtfleet.db.migration_records import IN_PROGRESS
from virtfleet.db.models.compute import Server
from virtfleet.db.models.hosts import ComputeNode
from virtfleet.db.models.migrations import Migration
from virtfleet.placement.dbutil import ALLOCATIONS, INVENTORIES

STATES = ("up", "disabled", "down")
NODES = ComputeNode.__table__.c


def _utc(value: datetime.datetime) -> datetime.datetime:
    return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)


def host_state(row: Any, down_after: float, now: datetime.datetime | None = None) -> str:
    """``down`` (marked, forced or silent past ``down_after`` seconds), ``disabled``
    (up, but an operator disabled it) or ``up``; ``row`` has the compute node's
    ``state``, ``status``, ``forced_down`` and ``updated_at``."""
    if row.state == "down" or row.forced_down:
        return "down"
    if down_after > 0:
        age = (now or datetime.datetime.now(datetime.UTC)) - _utc(row.updated_at)
        if age > datetime.timedelta(seconds=down_after):
            return "down"
    return "disabled" if row.status == "disabled" else "up"


def _is_down(down_after: float) -> ColumnElement[bool]:
    """The SQL of :func:`host_state`'s ``down``."""
    down = or_(NODES.state == "down", NODES.forced_down.is_(True))
    if down_after > 0:
        cutoff = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=down_after)
        down = or_(down, NODES.updated_at < cutoff)
    return down


def state_is(state: str, down_after: float) -> ColumnElement[bool]:
    """SQL: the host is in ``state`` (one of :data:`STATES`), as :func:`host_state`."""
    down = _is_down(down_after)
    if state == "down":
        return down
    disabled = NODES.status == "disabled"
    return and_(not_(down), disabled if state == "disabled" else not_(disabled))


#: Per-host facts read inside the database (no row's JSON decoded in Python).
ARCH = NODES.cpu_info["arch"].as_string()
EMULATED = cast(NODES.cpu_info["emulated_arches"], String)
BITS = NODES.cpu_info["maxphysaddr_bits"].as_integer()


def _arches(text: str | None) -> list[str]:
    try:
        found = json.loads(text) if text else []
    except ValueError:
        return []
    return [str(a) for a in found] if isinstance(found, list) else []


def overview(db: Database, down_after: float) -> dict[str, Any]:
    """Everything the fleet page shows, JSON-ready."""
    by_arch: dict[str, Counter[str]] = {}
    emulated: Counter[str] = Counter()
    bits: Counter[str] = Counter()
    down = _is_down(down_after)
    servers = Server.__table__.c
    migrations = Migration.__table__.c
    with db.read() as conn:
        groups = conn.execute(
            select(ARCH, EMULATED, BITS, down.label("down"), NODES.status, func.count()).group_by(
                ARCH, EMULATED, BITS, down, NODES.status
            )
        ).all()
        capacity = conn.execute(
            select(
                INVENTORIES.c.resource_class,
                func.sum(
                    (INVENTORIES.c.total - INVENTORIES.c.reserved) * INVENTORIES.c.allocation_ratio
                ),
            ).group_by(INVENTORIES.c.resource_class)
        ).all()
        usage = conn.execute(
            select(ALLOCATIONS.c.resource_class, func.sum(ALLOCATIONS.c.used)).group_by(
                ALLOCATIONS.c.resource_class
            )
        ).all()
        server_states = conn.execute(
            select(servers.vm_state, func.count())
            .where(servers.deleted_at.is_(None))
            .group_by(servers.vm_state)
        ).all()
        moving = conn.execute(
            select(func.count()).where(migrations.status.in_(sorted(IN_PROGRESS)))
        ).scalar_one()
    total = 0
    for arch, emulates, bit_count, is_down, status, n in groups:
        state = "down" if is_down else ("disabled" if status == "disabled" else "up")
        by_arch.setdefault(str(arch or "unknown"), Counter())[state] += n
        for name in _arches(emulates):
            emulated[name] += n
        bits[str(bit_count) if bit_count else "unknown"] += n
        total += n
    used = {str(rc): int(n or 0) for rc, n in usage}
    return {
        "hosts": {
            "total": total,
            "by_state": {s: sum(c[s] for c in by_arch.values()) for s in STATES},
            "by_arch": [
                {"arch": arch, **{s: counts[s] for s in STATES}, "total": sum(counts.values())}
                for arch, counts in sorted(by_arch.items())
            ],
        },
        "resources": [
            {
                "resource_class": str(rc),
                "capacity": int(cap or 0),
                "used": used.get(str(rc), 0),
                "percent": _percent(used.get(str(rc), 0), int(cap or 0)),
            }
            for rc, cap in sorted(capacity, key=lambda r: str(r[0]))
        ],
        "emulated_arches": [{"arch": arch, "hosts": n} for arch, n in sorted(emulated.items())],
        "maxphysaddr_bits": [
            {"bits": b, "hosts": n} for b, n in sorted(bits.items(), key=_bits_order)
        ],
        "servers": {str(state): int(n) for state, n in sorted(server_states)},
        "migrations_in_progress": int(moving),
    }


def _percent(used: int, capacity: int) -> float:
    return round(100.0 * used / capacity, 1) if capacity > 0 else 0.0


def _bits_order(item: tuple[str, int]) -> tuple[int, str]:
    bits = item[0]
    return (int(bits), "") if bits.isdigit() else (1 << 16, bits)
