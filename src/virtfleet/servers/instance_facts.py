"""A server's :class:`~virtfleet.servers.instance_data.InstanceFacts`, gathered from its
record (name, hostname, key, user data, metadata) and its ports (addresses, subnets,
MTU) as they are now."""

from __future__ import annotations

import base64
import os

from virtfleet.db.servers import Server
from virtfleet.network.server_ports import ServerPorts
from virtfleet.network.service import SYSTEM
from virtfleet.servers.instance_data import RANDOM_SEED_BYTES, InstanceFacts, PortFacts, SubnetFacts

X509_HEADER = "-----BEGIN CERTIFICATE-----"


def instance_facts(server: Server, ports: ServerPorts | None) -> InstanceFacts:
    """The facts of ``server``'s metadata (``ports`` None: no networking)."""
    key_type = "x509" if (server.key_data or "").startswith(X509_HEADER) else "ssh"
    return InstanceFacts(
        uuid=server.uuid,
        name=server.name,
        hostname=server.hostname or server.name,
        project_id=server.project_id,
        image_id=server.image_ref,
        flavor_name=str(server.flavor.get("name", "")),
        metadata={str(k): str(v) for k, v in server.metadata.items()},
        key_name=server.key_name,
        key_data=server.key_data,
        key_type=key_type,
        user_data=base64.b64decode(server.user_data) if server.user_data else None,
        ports=port_facts(server.uuid, ports) if ports is not None else (),
        random_seed=base64.b64encode(os.urandom(RANDOM_SEED_BYTES)).decode(),
        # the zone the boot asked for ("zone:host" forces a host), else the default
        availability_zone=(server.availability_zone or "").partition(":")[0] or "nova",
    )


def port_facts(server_uuid: str, ports: ServerPorts) -> tuple[PortFacts, ...]:
    """The server's ports with their addresses and subnets, in creation order."""
    service = ports.service
    found = []
    for port in ports.ports(server_uuid):
        network = service.get_network(SYSTEM, port.network_id)
        addresses = []
        for fixed in port.fixed_ips:
            subnet = service.get_subnet(SYSTEM, fixed.subnet_id)
            facts = SubnetFacts(
                cidr=subnet.cidr,
                gateway_ip=subnet.gateway_ip,
                dns_nameservers=tuple(subnet.dns_nameservers),
                enable_dhcp=subnet.enable_dhcp,
                ipv6_address_mode=subnet.ipv6_address_mode,
            )
            addresses.append((fixed.ip_address, facts))
        found.append(
            PortFacts(
                port_id=port.id,
                mac_address=port.mac_address,
                network_id=port.network_id,
                mtu=network.mtu,
                addresses=tuple(addresses),
            )
        )
    return tuple(found)
