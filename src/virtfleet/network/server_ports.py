"""A server's ports: made (or taken over) when the Compute API accepts a boot, bound
to the host the conductor chose, turned into the agent's :class:`GuestVif` objects,
and released again (ports the boot made are deleted, ports the user passed in are
unbound and kept, as Nova does).

The boot's ``networks`` become :class:`GuestNic` requests first
(:func:`nic_requests`); :meth:`ServerPorts.allocate` makes the ports in one
transaction, so a refused request (an address in use, a port already bound) leaves
none behind."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from virtfleet.db import hosts
from virtfleet.db.models import network as m
from virtfleet.network import dataplane, errors, networks, ports
from virtfleet.network.records import Caller, PortRecord
from virtfleet.network.service import SYSTEM, NetworkService
from virtfleet.objects.guest_request import GuestNic
from virtfleet.objects.vif import GuestVif

DEVICE_OWNER = "compute:nova"


@dataclass(frozen=True)
class ServerAddress:
    network_name: str
    address: str
    version: int
    mac_address: str


def nic_requests(service: NetworkService, caller: Caller, requested: Any) -> list[GuestNic]:
    """The boot's ``networks`` as NIC requests: ``none``/``[]`` none; ``auto`` (or
    absent) the caller's one network if it sees exactly one (none if it sees none,
    409 if several); else each ``{"uuid", "fixed_ip"}`` or ``{"port"}`` entry."""
    if requested in ("none", []):
        return []
    if requested in (None, "auto"):
        visible = [n for n in service.list_networks(caller) if not n.external]
        if len(visible) > 1:
            raise errors.InUse(
                "Multiple possible networks found, use a Network ID to be more specific."
            )
        return [GuestNic(network_id=visible[0].id)] if visible else []
    if not isinstance(requested, list):
        raise errors.BadRequest(
            f"Invalid input for field/attribute networks. Value: {requested!r}. Expected "
            "'auto', 'none' or a list of {uuid, fixed_ip} / {port} objects."
        )
    nics = []
    for entry in requested:
        if not isinstance(entry, dict) or not (set(entry) <= {"uuid", "fixed_ip", "port", "tag"}):
            raise errors.BadRequest(
                f"Invalid input for field/attribute networks. Value: {entry!r}. Expected "
                "{uuid, fixed_ip} or {port}."
            )
        port, network, fixed_ip = entry.get("port"), entry.get("uuid"), entry.get("fixed_ip")
        if port is not None:
            if network is not None or fixed_ip is not None:
                raise errors.BadRequest("A networks entry names a port or a network, not both.")
            nics.append(GuestNic(port_id=str(port)))
            continue
        if not isinstance(network, str):
            raise errors.BadRequest(f"A networks entry names no network or port: {entry!r}.")
        if fixed_ip is not None:
            try:
                ipaddress.ip_address(fixed_ip)
            except ValueError:
                raise errors.BadRequest(
                    f"Invalid fixed IP address ({fixed_ip}) in networks."
                ) from None
        nics.append(GuestNic(network_id=network, fixed_ip=fixed_ip))
    return nics


class ServerPorts:
    """The compute side's use of the network service."""

    def __init__(self, service: NetworkService) -> None:
        self.service = service

    def allocate(self, caller: Caller, server_uuid: str, nics: Sequence[GuestNic]) -> None:
        """Make or take over a port per NIC request, all or none."""

        def work(session: Session) -> None:
            for nic in nics:
                if nic.port_id is not None:
                    _take_over(session, caller, nic.port_id, server_uuid)
                    continue
                assert nic.network_id is not None
                try:
                    networks.visible_network(session, caller, nic.network_id)
                except errors.NetworkNotFound:
                    raise errors.BadRequest(
                        f"Network {nic.network_id} could not be found (networks)."
                    ) from None
                body: dict[str, Any] = {
                    "network_id": nic.network_id,
                    "device_id": server_uuid,
                    "device_owner": DEVICE_OWNER,
                    "project_id": caller.project_id,
                }
                if nic.fixed_ip is not None:
                    body["fixed_ips"] = [{"ip_address": nic.fixed_ip}]
                ports.create_port(session, caller, body)

        self.service.transaction(work)

    def bind(self, server_uuid: str, host: str) -> list[GuestVif]:
        """Bind the server's ports to ``host`` (with the host's DHCP port on each of
        their networks; the DHCP ports of the hosts they leave go when unused); the
        interfaces the agent plugs."""
        tunnels = hosts.tunnel_addresses(self.service.db)

        def work(session: Session) -> list[GuestVif]:
            rows = _rows(session, server_uuid)
            left = [(row.network_id, row.binding_host_id) for row in rows]
            for row in rows:
                row.binding_host_id = host
                row.status = "BUILD"
                dataplane.ensure_dhcp_port(session, row.network_id, host)
            session.flush()
            dataplane.drop_unused_dhcp_ports(session, left)
            return [dataplane.guest_vif(session, row, tunnels) for row in rows]

        vifs = self.service.transaction(work)
        self.service.changed()
        return vifs

    def vifs(self, server_uuid: str) -> list[GuestVif]:
        tunnels = hosts.tunnel_addresses(self.service.db)
        with self.service.db.read_session() as session:
            return [dataplane.guest_vif(session, r, tunnels) for r in _rows(session, server_uuid)]

    def bound_hosts(self) -> list[str]:
        with self.service.db.read_session() as session:
            return dataplane.bound_hosts(session)

    def host_vifs(self, host: str) -> list[GuestVif]:
        """Every compute port bound to ``host``, as its agent realises them."""
        tunnels = hosts.tunnel_addresses(self.service.db)
        with self.service.db.read_session() as session:
            return dataplane.host_vifs(session, host, tunnels)

    def set_status(self, server_uuid: str, status: str) -> None:
        def work(session: Session) -> None:
            for row in _rows(session, server_uuid):
                row.status = status

        self.service.transaction(work)

    def release(self, server_uuid: str, keep: Sequence[str] = ()) -> None:
        """Delete the ports the boot made; unbind (and keep) the ports in ``keep``."""

        def work(session: Session) -> None:
            rows = _rows(session, server_uuid)
            left = [(row.network_id, row.binding_host_id) for row in rows]
            for row in rows:
                if row.id in keep:
                    row.device_id = row.device_owner = row.binding_host_id = ""
                    row.status = "DOWN"
                else:
                    ports.delete_port(session, SYSTEM, row.id)
            session.flush()
            dataplane.drop_unused_dhcp_ports(session, left)

        self.service.transaction(work)
        self.service.changed()

    def ports(self, server_uuid: str) -> list[PortRecord]:
        return self.service.list_ports(SYSTEM, device_id=server_uuid)

    def addresses(self, server_uuid: str) -> list[ServerAddress]:
        return self.addresses_of([server_uuid])[server_uuid]

    def addresses_of(self, server_uuids: Sequence[str]) -> dict[str, list[ServerAddress]]:
        """The fixed IPs of each server's ports (in the order the ports were made), read
        in one transaction with one query per table whatever the number of servers (a
        server listing reads them all at once)."""
        found: dict[str, list[ServerAddress]] = {uuid: [] for uuid in server_uuids}
        with self.service.db.read_session() as session:
            rows: list[m.Port] = []
            wanted = list(found)
            for start in range(0, len(wanted), _IN_BATCH):
                batch = wanted[start : start + _IN_BATCH]
                rows.extend(session.scalars(select(m.Port).where(m.Port.device_id.in_(batch))))
            rows.sort(key=lambda row: (row.created_at, row.id))
            port_ids = [row.id for row in rows]
            fixed: dict[str, list[m.IPAllocation]] = {}
            for start in range(0, len(port_ids), _IN_BATCH):
                batch = port_ids[start : start + _IN_BATCH]
                query = select(m.IPAllocation).where(m.IPAllocation.port_id.in_(batch))
                for allocation in session.scalars(query):
                    fixed.setdefault(allocation.port_id, []).append(allocation)
            network_ids = {row.network_id for row in rows}
            names = {
                network.id: network.name or network.id
                for network in session.scalars(
                    select(m.Network).where(m.Network.id.in_(network_ids))
                )
            }
            for row in rows:
                name = names.get(row.network_id, row.network_id)
                allocations = fixed.get(row.id, [])
                for ip in sorted(allocations, key=lambda a: (a.subnet_id, a.ip_address)):
                    version = ipaddress.ip_address(ip.ip_address).version
                    found[str(row.device_id)].append(
                        ServerAddress(name, ip.ip_address, version, row.mac_address)
                    )
        return found


#: Ids per ``IN (...)`` list: below SQLite's and PostgreSQL's bound parameter limits.
_IN_BATCH = 500


def _rows(session: Session, server_uuid: str) -> list[m.Port]:
    query = select(m.Port).where(m.Port.device_id == server_uuid).order_by(m.Port.created_at)
    return list(session.scalars(query).all())


def _take_over(session: Session, caller: Caller, port_id: str, server_uuid: str) -> None:
    try:
        row = ports.visible_port(session, caller, port_id)
    except errors.PortNotFound:
        raise errors.BadRequest(f"Port {port_id} could not be found (networks).") from None
    if row.device_id:
        raise errors.InUse(f"Port {port_id} is still in use (by {row.device_id}).")
    row.device_id = server_uuid
    row.device_owner = DEVICE_OWNER
