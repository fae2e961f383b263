"""Pages of a long list: ``offset`` and ``limit`` from the query string, checked."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from virtfleet import errors

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


@dataclass(frozen=True)
class Page:
    """Rows ``offset`` .. ``offset + limit`` of a list."""

    offset: int = 0
    limit: int = DEFAULT_LIMIT

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> Page:
        """The page a query string asks for; a bad ``offset``/``limit`` is InvalidInput
        naming the parameter and what it may be."""
        return cls(
            offset=_number(query, "offset", 0, 0, 10**9),
            limit=_number(query, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
        )

    def describe(self, total: int) -> dict[str, Any]:
        """What a page of ``total`` rows says about itself (for links and the JSON)."""
        following = self.offset + self.limit
        return {
            "offset": self.offset,
            "limit": self.limit,
            "total": total,
            "next": following if following < total else None,
            "previous": max(self.offset - self.limit, 0) if self.offset > 0 else None,
        }


def _number(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = query.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise errors.InvalidInput(
            f"Query parameter {name!r} must be an integer from {low} to {high}, got {text!r}."
        ) from None
    if not low <= value <= high:
        raise errors.InvalidInput(
            f"Query parameter {name!r} must be an integer from {low} to {high}, got {value}."
        )
    return value


def text_filter(query: Mapping[str, str], name: str, choices: tuple[str, ...] = ()) -> str | None:
    """An optional text filter (at most 255 characters; one of ``choices`` if given)."""
    value = query.get(name, "").strip()
    if not value:
        return None
    if len(value) > 255:
        raise errors.InvalidInput(f"Query parameter {name!r} is longer than 255 characters.")
    if choices and value not in choices:
        raise errors.InvalidInput(
            f"Query parameter {name!r} must be one of {', '.join(choices)}, got {value!r}."
        )
    return value
