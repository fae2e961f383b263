"""The console_auth_tokens table: one row per console URL handed out.

Only the token's SHA-256 is stored; the row binds it to one instance, one console
kind and the relay (host, port, secret) the agent opened for it, until ``expires_at``.
``used_at`` is set when the proxy lets the token through (a token opens one console).
"""

from __future__ import annotations

import datetime

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from virtfleet.db.base import Base


class ConsoleAuthToken(Base):
    """A console token (by its hash) and what it opens."""

    __tablename__ = "console_auth_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    instance_uuid: Mapped[str] = mapped_column(String(36), index=True)
    console_type: Mapped[str] = mapped_column(String(32))
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    internal_access_path: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime.datetime] = mapped_column(DateTime, index=True)
    used_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, nullable=True)
