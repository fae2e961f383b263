"""Compute tables: flavors with their extra specs, and servers.

A server keeps a snapshot of its flavor (with extra specs) and of its image's
properties as they were at boot, so later flavor or image edits never change it.
"""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from virtfleet.db.base import Base


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


class Flavor(Base):
    __tablename__ = "flavors"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    vcpus: Mapped[int] = mapped_column(Integer)
    memory_mb: Mapped[int] = mapped_column(Integer)
    root_gb: Mapped[int] = mapped_column(Integer, default=0)
    ephemeral_gb: Mapped[int] = mapped_column(Integer, default=0)
    swap: Mapped[int] = mapped_column(Integer, default=0)
    rxtx_factor: Mapped[float] = mapped_column(default=1.0)
    is_public: Mapped[bool] = mapped_column(default=True)
    disabled: Mapped[bool] = mapped_column(default=False)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, default=utcnow)
    extra_specs: Mapped[list[FlavorExtraSpec]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )


class FlavorExtraSpec(Base):
    __tablename__ = "flavor_extra_specs"
    __table_args__ = (UniqueConstraint("flavor_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    flavor_id: Mapped[str] = mapped_column(
        String(255), ForeignKey("flavors.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(String(255))


class Server(Base):
    __tablename__ = "servers"

    uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255))
    flavor: Mapped[dict[str, Any]] = mapped_column(JSON)
    image_ref: Mapped[str] = mapped_column(String(36))
    image: Mapped[dict[str, Any]] = mapped_column(JSON)
    # the versioned primitive of the server's GuestRequest, resolved by the Compute API
    guest_request: Mapped[dict[str, Any]] = mapped_column(JSON)
    vm_state: Mapped[str] = mapped_column(String(32), default="building")
    task_state: Mapped[str | None] = mapped_column(String(32), default="scheduling")
    power_state: Mapped[int] = mapped_column(Integer, default=0)
    host: Mapped[str | None] = mapped_column(String(255), default=None)
    node: Mapped[str | None] = mapped_column(String(255), default=None)
    fault: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSON, default=dict)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime.datetime] = mapped_column(DateTime, default=utcnow)
    launched_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, default=None)
    deleted_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, default=None, index=True)
    # the control server (control_servers.name) whose workflow drives the current task
    owner: Mapped[str | None] = mapped_column(String(255), default=None)
    # guest access (issue 16): the key pair named at boot (name and public key as they
    # were then), the user data (base64 as given), the guest's hostname
    key_name: Mapped[str | None] = mapped_column(String(255), default=None)
    key_data: Mapped[str | None] = mapped_column(Text, default=None)
    user_data: Mapped[str | None] = mapped_column(Text, default=None)
    hostname: Mapped[str | None] = mapped_column(String(255), default=None)
    # day-2: the user's description (2.19), lock (2.9, reason 2.73), tags (2.26)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    locked_by: Mapped[str | None] = mapped_column(String(16), default=None)  # admin|owner
    locked_reason: Mapped[str | None] = mapped_column(Text, default=None)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # the boot's scheduler hints (group, same_host, different_host) and requested
    # availability zone: every later move is scheduled with them too
    scheduler_hints: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    availability_zone: Mapped[str | None] = mapped_column(String(255), default=None)
    # what the control plane keeps about the server, never shown (Nova's
    # system_metadata): shelved_at, shelved_image_id, shelved_host while shelved
    system_metadata: Mapped[dict[str, str] | None] = mapped_column(JSON, default=None)


class InstanceAction(Base):
    """One action asked of a server (``os-instance-actions``), keyed by its request."""

    __tablename__ = "instance_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instance_uuid: Mapped[str] = mapped_column(String(36), index=True)
    action: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str | None] = mapped_column(String(255), default=None)
    project_id: Mapped[str | None] = mapped_column(String(255), default=None)
    start_time: Mapped[datetime.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime.datetime] = mapped_column(DateTime, default=utcnow)
    message: Mapped[str | None] = mapped_column(String(255), default=None)


class InstanceActionEvent(Base):
    """One step of an action (``compute_pause_instance``...), with its result."""

    __tablename__ = "instance_action_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    action_id: Mapped[int] = mapped_column(
        ForeignKey("instance_actions.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(String(64))
    start_time: Mapped[datetime.datetime] = mapped_column(DateTime, default=utcnow)
    finish_time: Mapped[datetime.datetime | None] = mapped_column(DateTime, default=None)
    result: Mapped[str | None] = mapped_column(String(16), default=None)
    details: Mapped[str | None] = mapped_column(Text, default=None)
    host: Mapped[str | None] = mapped_column(String(255), default=None)
