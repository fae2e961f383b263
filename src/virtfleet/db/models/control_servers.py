"""The control_servers table: one row per running ``virtfleet server`` (or embedded
control plane), beating its heart so the others can tell it is alive."""

from __future__ import annotations

import datetime

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from virtfleet.db.base import Base


class ControlServer(Base):
    """A control plane process: its name (unique per start) and its last heartbeat."""

    __tablename__ = "control_servers"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    started_at: Mapped[datetime.datetime] = mapped_column(DateTime)
    heartbeat_at: Mapped[datetime.datetime] = mapped_column(DateTime, index=True)
