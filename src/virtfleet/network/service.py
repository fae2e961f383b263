"""The network service: the one way anything reads or changes networking state.

Each operation is one write (or read) transaction; a write that loses a race on a
unique key (two writers picking the same address, MAC or segment) runs again, up to
:data:`RETRIES` times, and then reports the conflict it lost."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from virtfleet.db.engine import Database
from virtfleet.db.models import network as m
from virtfleet.network import errors, networks, ports, security_groups
from virtfleet.network.records import (
    Caller,
    NetworkRecord,
    PortRecord,
    RuleRecord,
    SecurityGroupRecord,
    SubnetRecord,
)

T = TypeVar("T")
RETRIES = 8
SYSTEM = Caller(project_id="", is_admin=True)  # the control plane acting for a server


class NetworkService:
    """Networks, subnets, ports and security groups over one database;
    ``physical_networks`` are the names ``[network] physical_networks`` gives."""

    def __init__(self, db: Database, physical_networks: Mapping[str, str]) -> None:
        self.db = db
        self.physical_networks = dict(physical_networks)
        self.listeners: list[Callable[[], None]] = []

    def changed(self) -> None:
        """Tell the listeners (the conductor's host refresher) that what hosts realise
        may have changed: ports, their addresses or groups, rules, subnets."""
        for listener in self.listeners:
            listener()

    def _changing(self, work: Callable[[Session], T]) -> T:
        done = self.transaction(work)
        self.changed()
        return done

    def transaction(self, work: Callable[[Session], T]) -> T:
        """``work`` in one write transaction, run again after a lost unique-key race."""
        for attempt in range(RETRIES):
            try:
                with self.db.session() as session:
                    return work(session)
            except IntegrityError as exc:
                if attempt == RETRIES - 1:
                    raise errors.IpAddressGenerationFailure(
                        f"Lost {RETRIES} races for a unique address, MAC or segment; try again."
                    ) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------------ networks

    def list_networks(self, caller: Caller) -> list[NetworkRecord]:
        with self.db.read_session() as session:
            rows = session.scalars(select(m.Network).order_by(m.Network.created_at)).all()
            return [
                networks.network_record(session, r)
                for r in rows
                if caller.is_admin or r.shared or r.project_id == caller.project_id
            ]

    def get_network(self, caller: Caller, network_id: str) -> NetworkRecord:
        with self.db.read_session() as session:
            row = networks.visible_network(session, caller, network_id)
            return networks.network_record(session, row)

    def create_network(self, caller: Caller, body: Mapping[str, Any]) -> NetworkRecord:
        def work(session: Session) -> NetworkRecord:
            row = networks.create_network(session, caller, body, self.physical_networks)
            security_groups.ensure_default(session, row.project_id)
            return networks.network_record(session, row)

        return self.transaction(work)

    def update_network(
        self, caller: Caller, network_id: str, body: Mapping[str, Any]
    ) -> NetworkRecord:
        def work(session: Session) -> NetworkRecord:
            row = networks.update_network(session, caller, network_id, body)
            return networks.network_record(session, row)

        return self.transaction(work)

    def delete_network(self, caller: Caller, network_id: str) -> None:
        self.transaction(lambda session: networks.delete_network(session, caller, network_id))

    # ------------------------------------------------------------------- subnets

    def list_subnets(self, caller: Caller) -> list[SubnetRecord]:
        visible = {n.id for n in self.list_networks(caller)}
        with self.db.read_session() as session:
            rows = session.scalars(select(m.Subnet).order_by(m.Subnet.created_at)).all()
            return [networks.subnet_record(r) for r in rows if r.network_id in visible]

    def get_subnet(self, caller: Caller, subnet_id: str) -> SubnetRecord:
        with self.db.read_session() as session:
            return networks.subnet_record(networks.visible_subnet(session, caller, subnet_id))

    def create_subnet(self, caller: Caller, body: Mapping[str, Any]) -> SubnetRecord:
        return self.transaction(
            lambda session: networks.subnet_record(networks.create_subnet(session, caller, body))
        )

    def update_subnet(
        self, caller: Caller, subnet_id: str, body: Mapping[str, Any]
    ) -> SubnetRecord:
        return self._changing(
            lambda session: networks.subnet_record(
                networks.update_subnet(session, caller, subnet_id, body)
            )
        )

    def delete_subnet(self, caller: Caller, subnet_id: str) -> None:
        self.transaction(lambda session: networks.delete_subnet(session, caller, subnet_id))

    # --------------------------------------------------------------------- ports

    def list_ports(self, caller: Caller, device_id: str | None = None) -> list[PortRecord]:
        with self.db.read_session() as session:
            query = select(m.Port).order_by(m.Port.created_at, m.Port.id)
            if device_id is not None:
                query = query.where(m.Port.device_id == device_id)
            rows = session.scalars(query).all()
            return [
                ports.port_record(session, r)
                for r in rows
                if caller.is_admin or r.project_id == caller.project_id
            ]

    def get_port(self, caller: Caller, port_id: str) -> PortRecord:
        with self.db.read_session() as session:
            return ports.port_record(session, ports.visible_port(session, caller, port_id))

    def create_port(self, caller: Caller, body: Mapping[str, Any]) -> PortRecord:
        return self._changing(
            lambda session: ports.port_record(session, ports.create_port(session, caller, body))
        )

    def update_port(self, caller: Caller, port_id: str, body: Mapping[str, Any]) -> PortRecord:
        return self._changing(
            lambda session: ports.port_record(
                session, ports.update_port(session, caller, port_id, body)
            )
        )

    def delete_port(self, caller: Caller, port_id: str) -> None:
        self._changing(lambda session: ports.delete_port(session, caller, port_id))

    # ----------------------------------------------------------- security groups

    def list_security_groups(self, caller: Caller) -> list[SecurityGroupRecord]:
        if not caller.is_admin:
            self.transaction(
                lambda session: security_groups.ensure_default(session, caller.project_id)
            )
        with self.db.read_session() as session:
            rows = session.scalars(
                select(m.SecurityGroup).order_by(m.SecurityGroup.created_at)
            ).all()
            return [
                security_groups.group_record(session, r)
                for r in rows
                if caller.is_admin or r.project_id == caller.project_id
            ]

    def get_security_group(self, caller: Caller, group_id: str) -> SecurityGroupRecord:
        with self.db.read_session() as session:
            row = security_groups.visible_group(session, caller, group_id)
            return security_groups.group_record(session, row)

    def create_security_group(self, caller: Caller, body: Mapping[str, Any]) -> SecurityGroupRecord:
        return self.transaction(
            lambda session: security_groups.group_record(
                session, security_groups.create_group(session, caller, body)
            )
        )

    def update_security_group(
        self, caller: Caller, group_id: str, body: Mapping[str, Any]
    ) -> SecurityGroupRecord:
        return self.transaction(
            lambda session: security_groups.group_record(
                session, security_groups.update_group(session, caller, group_id, body)
            )
        )

    def delete_security_group(self, caller: Caller, group_id: str) -> None:
        self.transaction(lambda session: security_groups.delete_group(session, caller, group_id))

    def list_rules(self, caller: Caller) -> list[RuleRecord]:
        return [rule for g in self.list_security_groups(caller) for rule in g.rules]

    def get_rule(self, caller: Caller, rule_id: str) -> RuleRecord:
        with self.db.read_session() as session:
            return security_groups.rule_record(
                security_groups.visible_rule(session, caller, rule_id)
            )

    def create_rule(self, caller: Caller, body: Mapping[str, Any]) -> RuleRecord:
        return self._changing(
            lambda session: security_groups.rule_record(
                security_groups.create_rule(session, caller, body)
            )
        )

    def delete_rule(self, caller: Caller, rule_id: str) -> None:
        def work(session: Session) -> None:
            session.delete(security_groups.visible_rule(session, caller, rule_id))

        self._changing(work)

    def ensure_default_security_group(self, project_id: str) -> str:
        return self.transaction(
            lambda session: security_groups.ensure_default(session, project_id).id
        )
