"""What a guest learns about itself: the OpenStack and EC2 metadata of one server, built
once here from :class:`InstanceFacts` and served twice, on the config drive
(:func:`config_drive_files`) and by the metadata service (:func:`openstack_file`,
:func:`ec2_metadata`).

The shapes are Nova's: ``openstack/<version>/meta_data.json`` (uuid, name, hostname,
public_keys, keys, meta, project_id, availability_zone, launch_index, devices, ...
by version), ``user_data``, ``network_data.json`` (links, networks and services from
the server's ports), ``vendor_data.json`` / ``vendor_data2.json``, and the EC2 tree
(``ec2/<version>/meta-data.json``, ``user-data``). Everything here is pure: the same
facts give the same bytes.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Nova's OpenStack metadata versions, oldest first (``latest`` is the newest's content).
OPENSTACK_VERSIONS = (
    "2012-08-10",
    "2013-04-04",
    "2013-10-17",
    "2015-10-15",
    "2016-06-30",
    "2016-10-06",
    "2017-02-22",
    "2018-08-27",
    "2020-10-14",
)
#: The EC2 metadata versions Nova serves.
EC2_VERSIONS = (
    "1.0",
    "2007-01-19",
    "2007-03-01",
    "2007-08-29",
    "2007-10-10",
    "2007-12-15",
    "2008-02-01",
    "2008-09-01",
    "2009-04-04",
)
LATEST = "latest"
# The version that first has each piece (Nova's names for them in comments).
_RANDOM_SEED = "2013-04-04"  # grizzly
_VENDOR_DATA = "2013-10-17"  # havana
_NETWORK_DATA = "2015-10-15"  # liberty: also project_id
_DEVICES = "2016-06-30"  # newton one
_VENDOR_DATA2 = "2016-10-06"  # newton two
_DEDICATED_CPUS = "2020-10-14"  # victoria
RANDOM_SEED_BYTES = 512


@dataclass(frozen=True)
class SubnetFacts:
    """A subnet one of the server's addresses is on."""

    cidr: str
    gateway_ip: str | None = None
    dns_nameservers: tuple[str, ...] = ()
    enable_dhcp: bool = True
    ipv6_address_mode: str | None = None


@dataclass(frozen=True)
class PortFacts:
    """One of the server's ports: its MAC, network, MTU and addresses (each with its
    subnet)."""

    port_id: str
    mac_address: str
    network_id: str
    mtu: int = 1500
    addresses: tuple[tuple[str, SubnetFacts], ...] = ()


@dataclass(frozen=True)
class InstanceFacts:
    """Everything the metadata of one server is made of.

    ``user_data`` is the decoded user data (bytes, None when the boot gave none);
    ``key_name``/``key_data`` the key pair as it was at boot; ``random_seed`` the
    base64 text the caller drew (kept per server so both copies agree)."""

    uuid: str
    name: str
    hostname: str
    project_id: str
    image_id: str = ""
    flavor_name: str = ""
    availability_zone: str = "nova"
    launch_index: int = 0
    metadata: Mapping[str, str] = field(default_factory=dict)
    key_name: str | None = None
    key_data: str | None = None
    key_type: str = "ssh"
    user_data: bytes | None = None
    ports: tuple[PortFacts, ...] = ()
    random_seed: str = ""
    vendor_data: Mapping[str, Any] = field(default_factory=dict)


def _at_least(version: str, first: str) -> bool:
    return version == LATEST or version >= first


def _dump(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True).encode()


def meta_data(facts: InstanceFacts, version: str = LATEST) -> dict[str, Any]:
    """``meta_data.json`` of ``version``."""
    data: dict[str, Any] = {
        "uuid": facts.uuid,
        "name": facts.name,
        "hostname": facts.hostname,
        "launch_index": facts.launch_index,
        "availability_zone": facts.availability_zone,
        "meta": dict(facts.metadata),
        "files": [],
    }
    if facts.key_name is not None and facts.key_data is not None:
        data["public_keys"] = {facts.key_name: facts.key_data}
        data["keys"] = [{"name": facts.key_name, "type": facts.key_type, "data": facts.key_data}]
    if _at_least(version, _RANDOM_SEED):
        data["random_seed"] = facts.random_seed
    if _at_least(version, _NETWORK_DATA):
        data["project_id"] = facts.project_id
    if _at_least(version, _DEVICES):
        data["devices"] = []
    if _at_least(version, _DEDICATED_CPUS):
        data["dedicated_cpus"] = []
    return data


def _link_name(port: PortFacts) -> str:
    return f"tap{port.port_id[:11]}"


def _network_entry(
    index: int, port: PortFacts, address: str, subnet: SubnetFacts
) -> dict[str, Any]:
    net = ipaddress.ip_network(subnet.cidr, strict=False)
    entry: dict[str, Any] = {
        "id": f"network{index}",
        "link": _link_name(port),
        "network_id": port.network_id,
    }
    if net.version == 4 and subnet.enable_dhcp:
        entry["type"] = "ipv4_dhcp"
        return entry
    if net.version == 6 and subnet.ipv6_address_mode in ("slaac", "dhcpv6-stateless"):
        entry["type"] = f"ipv6_{subnet.ipv6_address_mode}"
        return entry
    entry["type"] = f"ipv{net.version}"
    entry["ip_address"] = address
    entry["netmask"] = str(net.netmask) if net.version == 4 else str(net.prefixlen)
    default = "0.0.0.0" if net.version == 4 else "::"  # noqa: S104  # a route, not a bind
    entry["routes"] = (
        [
            {
                "network": default,
                "netmask": default if net.version == 4 else "0",
                "gateway": subnet.gateway_ip,
            }
        ]
        if subnet.gateway_ip
        else []
    )
    entry["services"] = [{"type": "dns", "address": a} for a in subnet.dns_nameservers]
    return entry


def network_data(facts: InstanceFacts) -> dict[str, Any]:
    """``network_data.json``: a link per port, a network per address, the DNS servers."""
    links = [
        {
            "id": _link_name(port),
            "vif_id": port.port_id,
            "type": "bridge",
            "ethernet_mac_address": port.mac_address,
            "mtu": port.mtu,
        }
        for port in facts.ports
    ]
    networks: list[dict[str, Any]] = []
    dns: list[str] = []
    for port in facts.ports:
        for address, subnet in port.addresses:
            networks.append(_network_entry(len(networks), port, address, subnet))
            dns.extend(a for a in subnet.dns_nameservers if a not in dns)
    services = [{"type": "dns", "address": a} for a in dns]
    return {"links": links, "networks": networks, "services": services}


def openstack_files(facts: InstanceFacts, version: str = LATEST) -> dict[str, bytes]:
    """The files of ``openstack/<version>/`` by name (``user_data`` only when given)."""
    files = {"meta_data.json": _dump(meta_data(facts, version))}
    if facts.user_data is not None:
        files["user_data"] = facts.user_data
    if _at_least(version, _VENDOR_DATA):
        files["vendor_data.json"] = _dump({})
    if _at_least(version, _NETWORK_DATA):
        files["network_data.json"] = _dump(network_data(facts))
    if _at_least(version, _VENDOR_DATA2):
        files["vendor_data2.json"] = _dump(dict(facts.vendor_data))
    return files


def openstack_file(facts: InstanceFacts, version: str, name: str) -> bytes | None:
    """One file of ``openstack/<version>/``, None when there is no such file."""
    if version != LATEST and version not in OPENSTACK_VERSIONS:
        return None
    return openstack_files(facts, version).get(name)


def _ec2_id(prefix: str, uuid: str) -> str:
    return f"{prefix}-{uuid.replace('-', '')[:8]}" if uuid else ""


def ec2_metadata(facts: InstanceFacts) -> dict[str, Any]:
    """The EC2 ``meta-data`` tree (the same for every EC2 version)."""
    ipv4 = [
        address
        for port in facts.ports
        for address, _ in port.addresses
        if ipaddress.ip_address(address).version == 4
    ]
    data: dict[str, Any] = {
        "ami-id": _ec2_id("ami", facts.image_id),
        "ami-launch-index": facts.launch_index,
        "ami-manifest-path": "FIXME",
        "block-device-mapping": {"ami": "vda", "root": "/dev/vda"},
        "hostname": facts.hostname,
        "instance-action": "none",
        "instance-id": _ec2_id("i", facts.uuid),
        "instance-type": facts.flavor_name,
        "local-hostname": facts.hostname,
        "local-ipv4": ipv4[0] if ipv4 else "",
        "placement": {"availability-zone": facts.availability_zone},
        "public-hostname": facts.hostname,
        "public-ipv4": "",
        "reservation-id": f"r-{facts.uuid.replace('-', '')[:8]}",
        "security-groups": ["default"],
    }
    if facts.key_name is not None and facts.key_data is not None:
        data["public-keys"] = {"0": {"_name": facts.key_name, "openssh-key": facts.key_data}}
    return data


def _ec2_json(facts: InstanceFacts) -> dict[str, Any]:
    """``meta-data.json`` on the config drive: the tree with Nova's key layout."""
    data = ec2_metadata(facts)
    keys = data.pop("public-keys", None)
    if keys is not None:
        key = keys["0"]
        data["public-keys"] = {"0": {"openssh-key": key["openssh-key"]}}
    return data


def config_drive_files(facts: InstanceFacts) -> dict[str, bytes]:
    """Every file of the config drive by its path (``openstack/...``, ``ec2/...``)."""
    files: dict[str, bytes] = {}
    for version in (*OPENSTACK_VERSIONS, LATEST):
        for name, content in openstack_files(facts, version).items():
            files[f"openstack/{version}/{name}"] = content
    ec2 = _dump(_ec2_json(facts))
    for version in (*EC2_VERSIONS, LATEST):
        files[f"ec2/{version}/meta-data.json"] = ec2
        if facts.user_data is not None:
            files[f"ec2/{version}/user-data"] = facts.user_data
    return files
