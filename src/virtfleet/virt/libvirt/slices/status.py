"""Free, used, taken or blocked: each slice provider of a host, from placement's view.

A guest *uses* the slice its claim chose (the top of what it holds), holds every slice
below it as *taken*, and *blocks* every slice above it (an ancestor is only free when
its whole subtree is). Pure: callers pass what placement says.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ProviderView:
    """One provider of a host tree: its links, resource classes and consumers."""

    uuid: str
    name: str
    parent_uuid: str | None
    resource_classes: tuple[str, ...]
    consumers: tuple[str, ...] = ()


@dataclass(frozen=True)
class SliceStatus:
    """The state of one slice provider, and the guests behind it."""

    name: str
    resource_class: str
    depth: int
    state: str  # free | used | taken | blocked
    detail: str = ""

    def line(self) -> str:
        text = f"{'  ' * self.depth}{self.name} ({self.resource_class}): {self.state}"
        return f"{text} {self.detail}" if self.detail else text


def slice_statuses(
    providers: Sequence[ProviderView], guest_names: Mapping[str, str] | None = None
) -> list[SliceStatus]:
    """Statuses of every custom-class provider below the root, parents first."""
    names = guest_names or {}
    by_uuid = {p.uuid: p for p in providers}
    children: dict[str | None, list[ProviderView]] = {}
    for provider in providers:
        children.setdefault(provider.parent_uuid, []).append(provider)
    held: dict[str, set[str]] = {}
    for provider in providers:
        for consumer in provider.consumers:
            held.setdefault(consumer, set()).add(provider.uuid)
    chosen = {
        consumer: next(
            (u for u in sorted(uuids) if by_uuid[u].parent_uuid not in uuids), sorted(uuids)[0]
        )
        for consumer, uuids in held.items()
    }

    def guest(consumer: str) -> str:
        name = names.get(consumer)
        return f"{name} ({consumer})" if name else consumer

    def below(uuid: str) -> list[str]:
        found: list[str] = []
        for child in children.get(uuid, []):
            found.append(child.uuid)
            found.extend(below(child.uuid))
        return found

    def status(provider: ProviderView, depth: int) -> SliceStatus:
        rc = ",".join(provider.resource_classes)
        if provider.consumers:
            consumer = provider.consumers[0]
            top = chosen[consumer]
            if top == provider.uuid:
                return SliceStatus(provider.name, rc, depth, "used", f"by {guest(consumer)}")
            detail = f"by {guest(consumer)} with {by_uuid[top].name}"
            return SliceStatus(provider.name, rc, depth, "taken", detail)
        blockers = sorted(
            {c for u in below(provider.uuid) for c in by_uuid[u].consumers},
            key=lambda c: by_uuid[chosen[c]].name,
        )
        if blockers:
            detail = "by " + ", ".join(f"{guest(c)} in {by_uuid[chosen[c]].name}" for c in blockers)
            return SliceStatus(provider.name, rc, depth, "blocked", detail)
        return SliceStatus(provider.name, rc, depth, "free")

    result: list[SliceStatus] = []

    def walk(parent: str | None, depth: int) -> None:
        for provider in sorted(children.get(parent, []), key=lambda p: p.name):
            custom = any(rc.startswith("CUSTOM_") for rc in provider.resource_classes)
            if provider.parent_uuid is not None and custom:
                result.append(status(provider, depth))
            walk(provider.uuid, depth + 1 if provider.parent_uuid is not None else depth)

    walk(None, 0)
    return result
