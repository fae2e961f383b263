"""Flavor repository: create, read, list, delete flavors and edit their extra specs.

Every write of extra specs validates the flavor's complete set through
:mod:`virtfleet.objects.extra_specs`, so a stored flavor is always valid.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from virtfleet import errors
from virtfleet.db.engine import Database
from virtfleet.db.models.compute import Flavor as FlavorRow
from virtfleet.db.models.compute import FlavorExtraSpec
from virtfleet.objects.extra_specs import validate_extra_specs


@dataclass(frozen=True)
class Flavor:
    id: str
    name: str
    vcpus: int
    memory_mb: int
    root_gb: int = 0
    ephemeral_gb: int = 0
    swap: int = 0
    rxtx_factor: float = 1.0
    is_public: bool = True
    disabled: bool = False
    description: str | None = None
    extra_specs: Mapping[str, str] = field(default_factory=dict)

    def snapshot(self) -> dict[str, Any]:
        """The JSON a server keeps of its flavor."""
        return {
            "id": self.id,
            "name": self.name,
            "vcpus": self.vcpus,
            "memory_mb": self.memory_mb,
            "root_gb": self.root_gb,
            "ephemeral_gb": self.ephemeral_gb,
            "swap": self.swap,
            "description": self.description,
            "extra_specs": dict(self.extra_specs),
        }


def _record(row: FlavorRow) -> Flavor:
    return Flavor(
        id=row.id,
        name=row.name,
        vcpus=row.vcpus,
        memory_mb=row.memory_mb,
        root_gb=row.root_gb,
        ephemeral_gb=row.ephemeral_gb,
        swap=row.swap,
        rxtx_factor=row.rxtx_factor,
        is_public=row.is_public,
        disabled=row.disabled,
        description=row.description,
        extra_specs={spec.key: spec.value for spec in row.extra_specs},
    )


def _row(session: Session, flavor_id: str) -> FlavorRow:
    row = session.get(FlavorRow, flavor_id)
    if row is None:
        raise errors.NotFound(f"Flavor {flavor_id} could not be found.")
    return row


def create(
    db: Database,
    *,
    name: str,
    vcpus: int,
    memory_mb: int,
    root_gb: int = 0,
    ephemeral_gb: int = 0,
    swap: int = 0,
    rxtx_factor: float = 1.0,
    is_public: bool = True,
    description: str | None = None,
    flavor_id: str | None = None,
    extra_specs: Mapping[str, str] | None = None,
) -> Flavor:
    """Create a flavor (id generated when not given); Conflict when name or id is taken."""
    flavor_id = flavor_id or str(uuid.uuid4())
    validate_extra_specs(extra_specs or {}, memory_mb)
    with db.session() as session:
        if session.get(FlavorRow, flavor_id) is not None:
            raise errors.Conflict(f"Flavor with ID {flavor_id} already exists.")
        if session.scalar(select(FlavorRow.id).where(FlavorRow.name == name)) is not None:
            raise errors.Conflict(f"Flavor with name {name} already exists.")
        row = FlavorRow(
            id=flavor_id,
            name=name,
            vcpus=vcpus,
            memory_mb=memory_mb,
            root_gb=root_gb,
            ephemeral_gb=ephemeral_gb,
            swap=swap,
            rxtx_factor=rxtx_factor,
            is_public=is_public,
            disabled=False,
            description=description,
            extra_specs=[FlavorExtraSpec(key=k, value=v) for k, v in (extra_specs or {}).items()],
        )
        session.add(row)
        session.flush()
        return _record(row)


def get(db: Database, flavor_id: str) -> Flavor:
    """The flavor with this id; NotFound otherwise."""
    with db.read_session() as session:
        return _record(_row(session, flavor_id))


def list_flavors(db: Database, is_public: bool | None = None) -> list[Flavor]:
    """All flavors ordered by id, as Nova (``is_public`` None: public and private)."""
    with db.read_session() as session:
        query = select(FlavorRow).order_by(FlavorRow.id)
        if is_public is not None:
            query = query.where(FlavorRow.is_public == is_public)
        return [_record(row) for row in session.scalars(query)]


def update_description(db: Database, flavor_id: str, description: str | None) -> Flavor:
    with db.session() as session:
        row = _row(session, flavor_id)
        row.description = description
        session.flush()
        return _record(row)


def delete(db: Database, flavor_id: str) -> None:
    """Delete a flavor; servers keep their snapshot."""
    with db.session() as session:
        session.delete(_row(session, flavor_id))


def set_extra_specs(db: Database, flavor_id: str, specs: Mapping[str, str]) -> Flavor:
    """Add or replace extra specs after validating the flavor's resulting set."""
    with db.session() as session:
        row = _row(session, flavor_id)
        current = {spec.key: spec for spec in row.extra_specs}
        merged = {key: spec.value for key, spec in current.items()}
        merged.update(specs)
        validate_extra_specs(merged, row.memory_mb)
        for key, value in specs.items():
            if key in current:
                current[key].value = value
            else:
                row.extra_specs.append(FlavorExtraSpec(key=key, value=value))
        session.flush()
        return _record(row)


def delete_extra_spec(db: Database, flavor_id: str, key: str) -> Flavor:
    """Remove one extra spec; NotFound when the flavor lacks it, InvalidInput when the
    remaining set would be invalid (e.g. removing bits while mode=emulate)."""
    with db.session() as session:
        row = _row(session, flavor_id)
        spec = next((s for s in row.extra_specs if s.key == key), None)
        if spec is None:
            raise errors.NotFound(f"Flavor {flavor_id} has no extra spec with key {key}.")
        remaining = {s.key: s.value for s in row.extra_specs if s.key != key}
        validate_extra_specs(remaining, row.memory_mb)
        row.extra_specs.remove(spec)
        session.flush()
        return _record(row)
