"""Times as the Compute API writes them (ISO 8601, UTC, seconds)."""

from __future__ import annotations

import datetime


def timestamp(value: datetime.datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")
