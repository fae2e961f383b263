"""Filters: per-host checks placement cannot make, each answering with a reason.

A filter looks at the request once (:meth:`Filter.prepare`) and returns a check to run
per host, or None when it has nothing to say about this request. A check returns a
:class:`Status`; a rejection's ``reason`` is a phrase about the host that reads after
"N of M hosts …" (e.g. ``"cannot run aarch64 guests"``), so equal reasons group.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Protocol

from virtfleet.db.hosts import HostRecord
from virtfleet.scheduler import guest
from virtfleet.scheduler import hints as hint_lib
from virtfleet.scheduler.resource_request import RequestSpec


@dataclasses.dataclass(frozen=True)
class Status:
    """A filter's verdict on one host."""

    ok: bool
    reason: str = ""

    @classmethod
    def reject(cls, reason: str) -> Status:
        return cls(False, reason)


PASS = Status(True)

HostCheck = Callable[[HostRecord], Status]


class Filter(Protocol):
    """One per-host check."""

    name: str

    def prepare(self, spec: RequestSpec) -> HostCheck | None:
        """The check for ``spec``, or None when this filter does not apply to it."""
        ...


class HostStateFilter:
    """The host is up (its agent reports) and enabled (by the operator)."""

    name = "host_state"

    def prepare(self, spec: RequestSpec) -> HostCheck:
        def check(host: HostRecord) -> Status:
            if host.state != "up":
                return Status.reject("are down")
            if host.forced_down:
                return Status.reject("are forced down")
            if host.status != "enabled":
                return Status.reject("are disabled")
            return PASS

        return check


class IgnoreHostsFilter:
    """The host is not one the request excludes (e.g. a migration's source)."""

    name = "ignore_hosts"

    def prepare(self, spec: RequestSpec) -> HostCheck | None:
        if not spec.ignore_hosts:
            return None
        ignored = spec.ignore_hosts

        def check(host: HostRecord) -> Status:
            return Status.reject("are excluded by the request") if host.host in ignored else PASS

        return check


class RequestedHostFilter:
    """The host is the one the request names (``--host``, migration target)."""

    name = "requested_host"

    def prepare(self, spec: RequestSpec) -> HostCheck | None:
        wanted = spec.requested_host
        if wanted is None:
            return None
        rejection = Status.reject(f"are not the requested host {wanted}")

        def check(host: HostRecord) -> Status:
            return PASS if host.host == wanted else rejection

        return check


class ArchFilter:
    """The host runs the guest architecture (natively or under TCG) and offers the
    machine type for it: the requested one, else the architecture's default (the
    driver refuses a machine the host does not list, so the scheduler does too)."""

    name = "arch"

    def prepare(self, spec: RequestSpec) -> HostCheck | None:
        arch = spec.guest.arch
        requested_machine = spec.guest.machine_type
        if arch is None and requested_machine is None:
            return None  # the host's own arch and default machine

        def check(host: HostRecord) -> Status:
            target = arch or guest.host_arch(host.cpu_info)
            if arch is not None and not guest.can_run(host.cpu_info, arch):
                return Status.reject(f"cannot run {arch} guests")
            machine = requested_machine or guest.default_machine(target)
            offered = (host.cpu_info.get("machine_types") or {}).get(target) or ()
            if machine not in offered:
                return Status.reject(
                    f"do not offer machine type {machine} for {target} "
                    f"(valid: {', '.join(offered) or 'none'})"
                )
            return PASS

        return check


class MaxPhysAddrFilter:
    """For ``emulate``: the host has at least the requested physical address bits (a
    host that reports no bits does not pass)."""

    name = "maxphysaddr"

    def prepare(self, spec: RequestSpec) -> HostCheck | None:
        wanted = spec.guest.maxphysaddr
        if wanted is None or wanted.mode != "emulate" or wanted.bits is None:
            return None
        bits = wanted.bits
        too_few = Status.reject(f"have fewer than {bits} physical address bits")
        unknown = Status.reject("report no physical address bits")

        def check(host: HostRecord) -> Status:
            host_bits = host.cpu_info.get("maxphysaddr_bits")
            if not isinstance(host_bits, int):
                return unknown
            return PASS if host_bits >= bits else too_few

        return check


class ServerGroupAntiAffinityFilter:
    """Hard anti-affinity: the host holds fewer than ``max_server_per_host`` (1
    unless the group's rules say more) of the group's other members."""

    name = "server_group_anti_affinity"

    def prepare(self, spec: RequestSpec) -> HostCheck | None:
        affinity = spec.affinity
        if affinity is None or affinity.policy != hint_lib.ANTI_AFFINITY:
            return None
        limit = affinity.max_per_host
        full = Status.reject(
            f"already hold {limit} member{'s' if limit != 1 else ''} of {affinity.describe}"
        )

        def check(host: HostRecord) -> Status:
            return full if affinity.members_on(host.host) >= limit else PASS

        return check


class ServerGroupAffinityFilter:
    """Hard affinity: once a member of the group has a host, the others go there."""

    name = "server_group_affinity"

    def prepare(self, spec: RequestSpec) -> HostCheck | None:
        affinity = spec.affinity
        if affinity is None or affinity.policy != hint_lib.AFFINITY or not affinity.member_hosts:
            return None
        holders = {host for host, _ in affinity.member_hosts}
        elsewhere = Status.reject(
            f"are not the host of the members of {affinity.describe} ({', '.join(sorted(holders))})"
        )

        def check(host: HostRecord) -> Status:
            return PASS if host.host in holders else elsewhere

        return check


class SameHostFilter:
    """``same_host``: the host of one of the named servers."""

    name = "same_host"

    def prepare(self, spec: RequestSpec) -> HostCheck | None:
        affinity = spec.affinity
        if affinity is None or affinity.same_hosts is None:
            return None
        wanted = affinity.same_hosts
        rejection = Status.reject("do not hold a server named by the same_host hint")

        def check(host: HostRecord) -> Status:
            return PASS if host.host in wanted else rejection

        return check


class DifferentHostFilter:
    """``different_host``: not the host of any of the named servers."""

    name = "different_host"

    def prepare(self, spec: RequestSpec) -> HostCheck | None:
        affinity = spec.affinity
        if affinity is None or not affinity.different_hosts:
            return None
        avoided = affinity.different_hosts
        rejection = Status.reject("hold a server named by the different_host hint")

        def check(host: HostRecord) -> Status:
            return rejection if host.host in avoided else PASS

        return check


#: Every filter by name, cheapest first.
FILTERS: dict[str, Filter] = {
    f.name: f
    for f in (
        HostStateFilter(),
        IgnoreHostsFilter(),
        RequestedHostFilter(),
        ArchFilter(),
        MaxPhysAddrFilter(),
        ServerGroupAntiAffinityFilter(),
        ServerGroupAffinityFilter(),
        SameHostFilter(),
        DifferentHostFilter(),
    )
}


def prepare_checks(spec: RequestSpec) -> list[tuple[str, HostCheck]]:
    """The checks that apply to ``spec``, by filter name, in registry order."""
    checks = []
    for name, filter_ in FILTERS.items():
        check = filter_.prepare(spec)
        if check is not None:
            checks.append((name, check))
    return checks


def first_rejection(
    checks: list[tuple[str, HostCheck]], host: HostRecord
) -> tuple[str, Status] | None:
    """The first filter that rejects ``host`` and its status, or None if all pass."""
    for name, check in checks:
        status = check(host)
        if not status.ok:
            return name, status
    return None


Verdict = tuple[str, Status] | None  # (filter name, its rejection), None = passed


def request_signature(spec: RequestSpec) -> Hashable:
    """What any filter may read of ``spec``: equal signatures get equal verdicts."""
    return (
        repr(spec.flavor),
        repr(sorted(spec.image_properties.items(), key=lambda item: item[0])),
        spec.guest,
        spec.ignore_hosts,
        spec.requested_host,
        spec.affinity,
    )


class Verdicts:
    """Filter verdicts remembered per request signature and host: host records are
    immutable and replaced when the host changes, so a verdict stays valid for as
    long as the record it was made on is the current one. Keeps the most recently
    used ``signatures``."""

    def __init__(self, signatures: int = 16) -> None:
        self._size = signatures
        self._memos: OrderedDict[Hashable, dict[str, tuple[HostRecord, Verdict]]] = OrderedDict()
        self._lock = threading.Lock()

    def for_request(self, spec: RequestSpec) -> Callable[[HostRecord], Verdict]:
        """The first rejection of a host for ``spec`` (InvalidInput for a bad one)."""
        checks = prepare_checks(spec)
        key = request_signature(spec)
        with self._lock:
            memo = self._memos.get(key)
            if memo is None:
                memo = self._memos[key] = {}
                if len(self._memos) > self._size:
                    self._memos.popitem(last=False)
            else:
                self._memos.move_to_end(key)

        def verdict(host: HostRecord) -> Verdict:
            known = memo.get(host.uuid)
            if known is not None and known[0] is host:
                return known[1]
            found = first_rejection(checks, host)
            memo[host.uuid] = (host, found)
            return found

        return verdict
