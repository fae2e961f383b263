"""Audit of the cloud's books: do servers, placement and the hosts agree?

Shared by the tests that kill things (a server mid-storm, the embedded process) and
usable by an operator's tool. :func:`audit` returns every disagreement as one line;
an empty list means the books balance:

- every server is ACTIVE (no task left) or ERROR with a fault saying why;
- a server with a host holds its flavor's VCPU and MEMORY_MB on that host's provider
  tree and nowhere else; a server without a host (ERROR) holds nothing;
- every provider's usage is the sum of its consumers, and every consumer is a live
  server or a live migration still under way (nothing leaked);
- each host's guests (as its agent reports them) are exactly the servers the database
  puts there;
- every mdev claim belongs to a live server, and (when given) every instance
  directory to a live server with a host (nothing leaked on disk).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from virtfleet.db import hosts, mdev_claims, migration_records, servers
from virtfleet.db.engine import Database
from virtfleet.placement.service import PlacementService
from virtfleet.servers import states as st


def audit(
    db: Database,
    placement: PlacementService,
    guests_by_host: Mapping[str, Collection[str]] | None = None,
    instance_dirs: Collection[str] | None = None,
) -> list[str]:
    """Every disagreement between servers, placement, mdev claims and (when given)
    the hosts' guests and the instance directories (by instance uuid), one line
    each; empty when they all agree."""
    problems: list[str] = []
    live = servers.list_servers(db)
    by_uuid = {s.uuid: s for s in live}
    for server in live:
        problems.extend(_state_problems(server))
    roots = {h.host: h.uuid for h in hosts.list_hosts(db)}
    provider_hosts = _provider_hosts(placement, roots)
    for server in live:
        problems.extend(_allocation_problems(server, placement, roots, provider_hosts))
    moving = {
        m.uuid
        for m in migration_records.list_migrations(db, in_progress=True)
        if m.instance_uuid in by_uuid
    }
    for rp_uuid, host in provider_hosts.items():
        held = placement.get_provider_allocations(rp_uuid).consumers
        for consumer in held:
            if consumer not in by_uuid and consumer not in moving:
                problems.append(f"provider {host}: consumer {consumer} is no live server")
    for claim in mdev_claims.list_claims(db):
        if claim.instance_uuid not in by_uuid:
            problems.append(
                f"mdev claim {claim.mdev_uuid} on {claim.host}: {claim.instance_uuid} is no "
                "live server"
            )
    for uuid in sorted(instance_dirs or ()):
        owner = by_uuid.get(uuid)
        if owner is None or not owner.host:
            problems.append(f"instance directory {uuid}: no live server with a host")
    if guests_by_host is not None:
        for host, guests in sorted(guests_by_host.items()):
            expected = {s.uuid for s in live if s.host == host}
            actual = set(guests)
            for uuid in sorted(expected - actual):
                problems.append(f"host {host}: server {uuid} is not among its guests")
            for uuid in sorted(actual - expected):
                problems.append(f"host {host}: guest {uuid} is no server of this host")
    return problems


def _state_problems(server: servers.Server) -> list[str]:
    if server.vm_state == st.ERROR:
        if not server.fault or not server.fault.get("message"):
            return [f"server {server.uuid}: ERROR without a fault saying why"]
        return []
    if server.task_state is not None or server.vm_state not in (st.ACTIVE, st.STOPPED):
        return [f"server {server.uuid}: still {server.vm_state}/{server.task_state}"]
    return []


def _provider_hosts(placement: PlacementService, roots: Mapping[str, str]) -> dict[str, str]:
    """Provider uuid -> the host whose tree it belongs to."""
    by_root = {uuid: host for host, uuid in roots.items()}
    found = {}
    for provider in placement.list_providers():
        host = by_root.get(provider.root_uuid)
        if host is not None:
            found[provider.uuid] = host
    return found


def _allocation_problems(
    server: servers.Server,
    placement: PlacementService,
    roots: Mapping[str, str],
    provider_hosts: Mapping[str, str],
) -> list[str]:
    held = placement.get_consumer_allocations(server.uuid).allocations
    if not server.host:
        return [f"server {server.uuid}: no host but holds {sorted(held)}"] if held else []
    where = {provider_hosts.get(rp, rp) for rp in held}
    if where != {server.host}:
        return [f"server {server.uuid} on {server.host}: allocations on {sorted(where)}"]
    totals: dict[str, int] = {}
    for allocation in held.values():
        for rc, amount in allocation.resources.items():
            totals[rc] = totals.get(rc, 0) + amount
    flavor = server.flavor
    wanted = {"VCPU": int(flavor["vcpus"]), "MEMORY_MB": int(flavor["memory_mb"])}
    got = {rc: totals.get(rc, 0) for rc in wanted}
    if got != wanted:
        return [f"server {server.uuid} on {server.host}: holds {got}, its flavor {wanted}"]
    return []
