"""The instance-data builder: every file of the config drive, the JSON shapes of
meta_data.json, network_data.json and the EC2 tree per version, and the pieces the
metadata service serves from the same facts."""

from __future__ import annotations

import json

import pytest

from virtfleet.servers import instance_data as data
from virtfleet.servers.instance_data import InstanceFacts, PortFacts, SubnetFacts

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA7LiGCTGo+LF1ojcjb9ap5Fimw+tftCBRNubCuYWAL8 t@vf"
UUID = "6e5a8c8e-1f0b-4a51-9d4e-2b7c1c9d0a11"
V4 = SubnetFacts(cidr="192.0.2.0/24", gateway_ip="192.0.2.1", dns_nameservers=("192.0.2.53",))
V4_STATIC = SubnetFacts(cidr="198.51.100.0/24", gateway_ip="198.51.100.1", enable_dhcp=False)
V6 = SubnetFacts(cidr="2001:db8::/64", gateway_ip="2001:db8::1", enable_dhcp=False)
PORT = PortFacts(
    port_id="0f3c2a4e-aaaa-bbbb-cccc-000000000001",
    mac_address="fa:16:3e:00:00:01",
    network_id="net-1",
    mtu=1450,
    addresses=(("192.0.2.10", V4), ("2001:db8::10", V6)),
)
PORT2 = PortFacts(
    port_id="0f3c2a4e-aaaa-bbbb-cccc-000000000002",
    mac_address="fa:16:3e:00:00:02",
    network_id="net-2",
    addresses=(("198.51.100.7", V4_STATIC),),
)
FACTS = InstanceFacts(
    uuid=UUID,
    name="web 1",
    hostname="web-1",
    project_id="p1",
    image_id="11111111-2222-3333-4444-555555555555",
    flavor_name="small",
    metadata={"role": "web"},
    key_name="k",
    key_data=KEY,
    user_data=b"#cloud-config\nruncmd: [touch /marker]\n",
    ports=(PORT, PORT2),
    random_seed="c2VlZA==",
)


def test_every_config_drive_file() -> None:
    files = data.config_drive_files(FACTS)
    expected = set()
    for version in (*data.OPENSTACK_VERSIONS, "latest"):
        expected |= {f"openstack/{version}/meta_data.json", f"openstack/{version}/user_data"}
        if version == "latest" or version >= "2013-10-17":
            expected.add(f"openstack/{version}/vendor_data.json")
        if version == "latest" or version >= "2015-10-15":
            expected.add(f"openstack/{version}/network_data.json")
        if version == "latest" or version >= "2016-10-06":
            expected.add(f"openstack/{version}/vendor_data2.json")
    for version in (*data.EC2_VERSIONS, "latest"):
        expected |= {f"ec2/{version}/meta-data.json", f"ec2/{version}/user-data"}
    assert set(files) == expected
    assert files["openstack/latest/user_data"] == FACTS.user_data
    assert files["ec2/latest/user-data"] == FACTS.user_data
    assert json.loads(files["openstack/2016-10-06/vendor_data2.json"]) == {}


def test_meta_data_latest() -> None:
    meta = json.loads(data.config_drive_files(FACTS)["openstack/latest/meta_data.json"])
    assert meta == {
        "uuid": UUID,
        "name": "web 1",
        "hostname": "web-1",
        "launch_index": 0,
        "availability_zone": "nova",
        "meta": {"role": "web"},
        "files": [],
        "public_keys": {"k": KEY},
        "keys": [{"name": "k", "type": "ssh", "data": KEY}],
        "random_seed": "c2VlZA==",
        "project_id": "p1",
        "devices": [],
        "dedicated_cpus": [],
    }


@pytest.mark.parametrize(
    ("version", "present", "absent"),
    [
        ("2012-08-10", {"uuid", "public_keys"}, {"random_seed", "project_id", "devices"}),
        ("2013-04-04", {"random_seed"}, {"project_id", "devices"}),
        ("2015-10-15", {"project_id"}, {"devices", "dedicated_cpus"}),
        ("2016-06-30", {"devices"}, {"dedicated_cpus"}),
        ("2020-10-14", {"dedicated_cpus"}, set()),
    ],
)
def test_meta_data_by_version(version: str, present: set[str], absent: set[str]) -> None:
    meta = data.meta_data(FACTS, version)
    assert present <= set(meta) and not absent & set(meta)


def test_no_key_no_user_data() -> None:
    bare = InstanceFacts(uuid=UUID, name="n", hostname="n", project_id="p")
    files = data.config_drive_files(bare)
    assert not any(name.endswith(("user_data", "user-data")) for name in files)
    meta = json.loads(files["openstack/latest/meta_data.json"])
    assert "public_keys" not in meta and "keys" not in meta
    assert data.network_data(bare) == {"links": [], "networks": [], "services": []}


def test_network_data_from_ports() -> None:
    net = data.network_data(FACTS)
    assert net["links"] == [
        {
            "id": "tap0f3c2a4e-aa",
            "vif_id": PORT.port_id,
            "type": "bridge",
            "ethernet_mac_address": "fa:16:3e:00:00:01",
            "mtu": 1450,
        },
        {
            "id": "tap0f3c2a4e-aa",
            "vif_id": PORT2.port_id,
            "type": "bridge",
            "ethernet_mac_address": "fa:16:3e:00:00:02",
            "mtu": 1500,
        },
    ]
    dhcp, v6, static = net["networks"]
    assert dhcp == {"id": "network0", "link": "tap0f3c2a4e-aa", "network_id": "net-1",
                    "type": "ipv4_dhcp"}  # fmt: skip
    assert v6["type"] == "ipv6" and v6["ip_address"] == "2001:db8::10"
    assert v6["netmask"] == "64"
    assert v6["routes"] == [{"network": "::", "netmask": "0", "gateway": "2001:db8::1"}]
    assert static == {
        "id": "network2",
        "link": "tap0f3c2a4e-aa",
        "network_id": "net-2",
        "type": "ipv4",
        "ip_address": "198.51.100.7",
        "netmask": "255.255.255.0",
        "routes": [{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "198.51.100.1"}],
        "services": [],
    }
    assert net["services"] == [{"type": "dns", "address": "192.0.2.53"}]


def test_ec2_tree_and_json() -> None:
    tree = data.ec2_metadata(FACTS)
    assert tree["instance-id"] == "i-6e5a8c8e" and tree["ami-id"] == "ami-11111111"
    assert tree["local-ipv4"] == "192.0.2.10" and tree["hostname"] == "web-1"
    assert tree["instance-type"] == "small"
    assert tree["placement"] == {"availability-zone": "nova"}
    assert tree["public-keys"]["0"]["openssh-key"] == KEY
    drive = json.loads(data.config_drive_files(FACTS)["ec2/2009-04-04/meta-data.json"])
    assert drive["public-keys"] == {"0": {"openssh-key": KEY}}
    assert drive["instance-id"] == "i-6e5a8c8e"


def test_openstack_file_for_the_service() -> None:
    assert data.openstack_file(FACTS, "latest", "user_data") == FACTS.user_data
    assert data.openstack_file(FACTS, "2012-08-10", "network_data.json") is None
    assert data.openstack_file(FACTS, "1999-01-01", "meta_data.json") is None
    same = data.openstack_file(FACTS, "2018-08-27", "meta_data.json")
    assert same == data.config_drive_files(FACTS)["openstack/2018-08-27/meta_data.json"]
