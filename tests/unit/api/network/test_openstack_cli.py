"""The real ``openstack`` CLI against the Networking app served over HTTP:
network, subnet, port, security group and rule create/list/show/delete, and a
refused request's message reaching the user."""

from __future__ import annotations

import pathlib

import pytest

from support.api_apps import Apps
from support.openstack_cli import serve

pytestmark = pytest.mark.slow


def test_network_subnet_port_security_group_lifecycle(apps: Apps, tmp_path: pathlib.Path) -> None:
    with serve(apps, tmp_path) as cli:
        outputs, stderr = cli.session(
            "network create --provider-network-type vlan --provider-physical-network physnet2"
            " --provider-segment 101 vlan101 -f json",
            "network create blue -f json",
            "subnet create --network blue --subnet-range 192.0.2.0/24"
            " --dns-nameserver 192.0.2.53 --allocation-pool start=192.0.2.10,end=192.0.2.50"
            " blue-v4 -f json",
            "subnet create --network blue --ip-version 6 --subnet-range 2001:db8:5::/64"
            " blue-v6 -f json",
            "security group create web -f json",
            "security group rule create --ingress --protocol tcp --dst-port 22"
            " --remote-ip 198.51.100.0/24 web -f json",
            "port create --network blue --fixed-ip subnet=blue-v4,ip-address=192.0.2.20"
            " --mac-address fa:16:3e:12:34:56 --security-group web p1 -f json",
            "port show p1 -f json",
            "network list -f json",
            "subnet list -f json",
            "port list -f json",
            "security group list -f json",
            "network show blue -f json",
        )
        assert len(outputs) == 13, stderr
        vlan, blue, v4, v6, web, ssh, port, shown, nets, subnets, ports, groups, blue_shown = (
            outputs
        )
        assert (vlan["provider:network_type"], vlan["provider:segmentation_id"]) == ("vlan", 101)
        assert blue["provider:network_type"] == "vxlan"
        assert v4["allocation_pools"] == [{"start": "192.0.2.10", "end": "192.0.2.50"}]
        assert v4["dns_nameservers"] == ["192.0.2.53"] and v4["gateway_ip"] == "192.0.2.1"
        assert v6["ip_version"] == 6
        assert ssh["port_range_min"] == 22 and ssh["remote_ip_prefix"] == "198.51.100.0/24"
        assert port["mac_address"] == "fa:16:3e:12:34:56"
        assert port["fixed_ips"][0]["ip_address"] == "192.0.2.20"
        assert shown["security_group_ids"] == [web["id"]]
        assert {n["Name"] for n in nets} == {"vlan101", "blue"}
        assert {s["Name"] for s in subnets} == {"blue-v4", "blue-v6"}
        assert [p["Name"] for p in ports] == ["p1"]
        assert {g["Name"] for g in groups} == {"default", "web"}
        assert sorted(blue_shown["subnets"]) == sorted([v4["id"], v6["id"]])

        refused = cli.run(
            "port",
            "create",
            "--network",
            "blue",
            "--mac-address",
            "fa:16:3e:12:34:56",
            "p2",
            check=False,
        )
        assert refused.returncode == 1
        assert "fa:16:3e:12:34:56 is in use" in refused.stderr
        overlap = cli.run(
            "subnet",
            "create",
            "--network",
            "blue",
            "--subnet-range",
            "192.0.2.128/25",
            "x",
            check=False,
        )
        assert "overlaps with another subnet" in overlap.stderr

        _, stderr = cli.session(
            "port delete p1",
            "security group delete web",
            "subnet delete blue-v4",
            "subnet delete blue-v6",
            "network delete blue vlan101",
        )
        assert cli.json("network", "list") == [], stderr
        assert cli.json("port", "list") == []


def test_server_create_with_nic_network_and_port(apps: Apps, tmp_path: pathlib.Path) -> None:
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"\1" * 65536)
    with serve(apps, tmp_path) as cli:
        outputs, stderr = cli.session(
            "network create blue -f json",
            "subnet create --network blue --subnet-range 192.0.2.0/24 blue-v4 -f json",
            "port create --network blue mine -f json",
            "flavor create --vcpus 1 --ram 512 --disk 1 small -f json",
            "image create --disk-format raw --container-format bare"
            f" --file {disk} --property hw_architecture=x86_64 img -f json",
            "server create --flavor small --image img"
            " --nic net-id=blue,v4-fixed-ip=192.0.2.40 --network blue --port mine vm -f json",
            "server show vm -f json",
            "port list --server vm -f json",
        )
        assert len(outputs) == 8, stderr
        port = outputs[2]
        shown, listed = outputs[6], outputs[7]
        addresses = shown["addresses"]["blue"]
        assert "192.0.2.40" in addresses and port["fixed_ips"][0]["ip_address"] in addresses
        assert len(addresses) == 3
        assert len(listed) == 3 and {p["ID"] for p in listed} >= {port["id"]}
        taken = cli.run(
            "server",
            "create",
            "--flavor",
            "small",
            "--image",
            "img",
            "--nic",
            "net-id=blue,v4-fixed-ip=192.0.2.40",
            "vm2",
            check=False,
        )
        assert taken.returncode == 1 and "192.0.2.40 is in use" in taken.stderr


def test_ipv6_subnets_in_each_address_mode(apps: Apps, tmp_path: pathlib.Path) -> None:
    """docs/networking.md's IPv6 flow: SLAAC, DHCPv6-stateless and -stateful subnets
    made with the CLI's mode options, a port's EUI-64 and pool addresses, and the CLI
    showing why a bad mode, prefix or fixed address is refused."""
    with serve(apps, tmp_path) as cli:
        outputs, stderr = cli.session(
            "network create green -f json",
            "subnet create --network green --ip-version 6 --subnet-range 2001:db8:10::/64"
            " --ipv6-ra-mode slaac --ipv6-address-mode slaac green-slaac -f json",
            "subnet create --network green --ip-version 6 --subnet-range 2001:db8:11::/64"
            " --ipv6-ra-mode dhcpv6-stateful --ipv6-address-mode dhcpv6-stateful"
            " --dns-nameserver 2001:db8:11::53 green-stateful -f json",
            "port create --network green --mac-address fa:16:3e:00:10:01 q1 -f json",
            "network create white -f json",
            "subnet create --network white --ip-version 6 --subnet-range 2001:db8:12::/64"
            " --ipv6-ra-mode dhcpv6-stateless --ipv6-address-mode dhcpv6-stateless"
            " white-stateless -f json",
        )
        assert len(outputs) == 6, stderr
        _, slaac, stateful, port, _, stateless = outputs
        assert (slaac["ipv6_address_mode"], slaac["ipv6_ra_mode"]) == ("slaac", "slaac")
        assert stateful["ipv6_address_mode"] == "dhcpv6-stateful"
        assert stateless["ipv6_ra_mode"] == "dhcpv6-stateless"
        assert {(f["subnet_id"], f["ip_address"]) for f in port["fixed_ips"]} == {
            (slaac["id"], "2001:db8:10:0:f816:3eff:fe00:1001"),
            (stateful["id"], "2001:db8:11::2"),
        }

        def refused(*args: str) -> str:
            done = cli.run(*args, check=False)
            assert done.returncode == 1, done.stdout
            return done.stderr

        mixed = refused(
            "subnet", "create", "--network", "white", "--ip-version", "6", "--subnet-range",
            "2001:db8:13::/64", "--ipv6-ra-mode", "dhcpv6-stateful", "--ipv6-address-mode",
            "slaac", "x",
        )  # fmt: skip
        assert "If both attributes are set, they must be the same value" in mixed
        short = refused(
            "subnet", "create", "--network", "white", "--ip-version", "6", "--subnet-range",
            "2001:db8:13::/80", "--ipv6-address-mode", "slaac", "x",
        )  # fmt: skip
        assert "need a /64 prefix" in short
        fixed = refused(
            "port", "create", "--network", "green", "--fixed-ip",
            "subnet=green-slaac,ip-address=2001:db8:10::99", "q2",
        )  # fmt: skip
        assert "2001:db8:10::99 cannot be directly assigned" in fixed
        print(mixed, short, fixed, sep="\n")

        _, stderr = cli.session(
            "port delete q1",
            "subnet delete green-slaac green-stateful white-stateless",
            "network delete green white",
        )
        assert cli.json("network", "list") == [], stderr
