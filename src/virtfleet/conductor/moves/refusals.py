"""The hosts a move turned down and why, in order; the final "no valid host" message."""

from __future__ import annotations

from virtfleet.conductor.moves import policy


class Refusals:
    """Refused hosts with their reasons, for one move."""

    def __init__(self, instance_uuid: str, what: str = "Live migration") -> None:
        self._instance_uuid = instance_uuid
        self._what = what  # how the message names the move
        self._entries: list[tuple[str, str]] = []

    @property
    def instance_uuid(self) -> str:
        return self._instance_uuid

    def add(self, host: str, reason: str) -> None:
        self._entries.append((host, reason))

    def hosts(self) -> frozenset[str]:
        return frozenset(host for host, _ in self._entries)

    def entries(self) -> list[tuple[str, str]]:
        return list(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def message(self, no_more_hosts: str | None) -> str:
        """Every refusal, then why no further host was tried."""
        return policy.refusal_message(self._instance_uuid, self._entries, no_more_hosts, self._what)
