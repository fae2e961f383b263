"""openstacksdk, unpatched, against the clouds.yaml that `virtfleet up` writes (password
auth against its embedded Keystone, endpoints from the catalog, no microversion pin):
the scenarios of the SDK's own functional tests for what virtfleet offers — flavors,
images, key pairs, networks, servers and their actions, server groups, aggregates,
migrations and placement — each checked for what it did, not only that it answered.

The cloud is a `virtfleet up` process with two simulated KVM hosts."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import openstack
import pytest
from openstack import exceptions as sdk_exceptions
from openstack.config import loader

from support.cloud import Cloud, process_cloud
from support.clouds import Recipe
from support.openstack_cli import CLI

FLEET = """
defaults: {virt_type: kvm, arch: x86_64, cpus: 8, memory_mb: 16384, disk_gb: 100}
hosts:
  - {name: sdk-a}
  - {name: sdk-b}
"""
#: Seconds an SDK wait may take (simulated hosts: a boot takes well under one).
WAIT = 120


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    running = process_cloud(
        tmp_path_factory.mktemp("sdk-cloud"), Recipe(fleet=FLEET, auth="keystone")
    )
    yield running
    running.stop()


@pytest.fixture(scope="module")
def conn(cloud: Cloud) -> openstack.connection.Connection:
    """A connection made as the `openstack` client makes it, from the file alone."""
    config = loader.OpenStackConfig(config_files=[str(cloud.clouds_yaml)])
    return openstack.connection.Connection(config=config.get_one("virtfleet"))


@pytest.fixture(scope="module")
def flavor(conn: openstack.connection.Connection) -> Any:
    return conn.compute.create_flavor(name="sdk-small", ram=512, vcpus=1, disk=1)


@pytest.fixture(scope="module")
def image(conn: openstack.connection.Connection) -> Any:
    made = conn.image.create_image(
        name="sdk-image",
        data=b"\0" * 4096,
        disk_format="raw",
        container_format="bare",
        allow_duplicates=True,
    )
    return conn.image.get_image(made.id)


def boot(
    conn: openstack.connection.Connection, name: str, flavor: Any, image: Any, **extra: Any
) -> Any:
    server = conn.compute.create_server(
        name=name, flavor_id=flavor.id, image_id=image.id, networks="none", **extra
    )
    return conn.compute.wait_for_server(server, wait=WAIT)


def test_the_connection_finds_every_service_in_the_catalog(
    conn: openstack.connection.Connection, cloud: Cloud
) -> None:
    assert cloud.clouds_yaml.stat().st_mode & 0o077 == 0
    for service in ("compute", "image", "network", "placement", "identity"):
        endpoint = conn.session.get_endpoint(service_type=service, interface="public")
        assert endpoint and endpoint.startswith("http://127.0.0.1"), (service, endpoint)
    # The SDK negotiates the newest compute microversion both sides know.
    version = conn.compute.get_endpoint_data().max_microversion
    assert version is not None and tuple(version) >= (2, 90)


def test_flavors_with_extra_specs(conn: openstack.connection.Connection) -> None:
    made = conn.compute.create_flavor(name="sdk-specs", ram=1024, vcpus=2, disk=5)
    specs = {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "42"}
    conn.compute.create_flavor_extra_specs(made, specs)
    # A property set alone is checked with the others: half a mode is refused.
    with pytest.raises(sdk_exceptions.BadRequestException) as caught:
        conn.compute.update_flavor_extra_specs_property(made, "hw:maxphysaddr_bits", "99")
    assert "hw:maxphysaddr_bits" in str(caught.value)
    conn.compute.update_flavor_extra_specs_property(made, "hw:maxphysaddr_bits", "40")
    fetched = conn.compute.fetch_flavor_extra_specs(conn.compute.get_flavor(made.id))
    assert fetched.extra_specs == {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "40"}
    assert made.id in {f.id for f in conn.compute.flavors()}
    found = conn.compute.find_flavor("sdk-specs")
    assert found is not None and (found.vcpus, found.ram, found.disk) == (2, 1024, 5)
    conn.compute.delete_flavor(made)
    assert conn.compute.find_flavor("sdk-specs") is None


def test_images_with_data_tags_and_properties(conn: openstack.connection.Connection) -> None:
    data = bytes(range(256)) * 64
    made = conn.image.create_image(
        name="sdk-tagged",
        data=data,
        disk_format="raw",
        container_format="bare",
        allow_duplicates=True,
    )
    conn.image.add_tag(made, "golden")
    conn.image.update_image(made, hw_emulation_architecture="aarch64")
    got = conn.image.get_image(made.id)
    assert got.status == "active" and got.size == len(data)
    assert got.tags == ["golden"]
    assert got.properties.get("hw_emulation_architecture") == "aarch64"
    assert conn.image.download_image(got).content == data
    conn.image.remove_tag(got, "golden")
    assert conn.image.get_image(made.id).tags == []
    conn.image.delete_image(made)
    with pytest.raises(sdk_exceptions.NotFoundException):
        conn.image.get_image(made.id)


def test_key_pairs(conn: openstack.connection.Connection) -> None:
    made = conn.compute.create_keypair(name="sdk-key")
    assert made.private_key.startswith("-----BEGIN")
    assert made.public_key.startswith("ssh-")
    listed = {k.name: k for k in conn.compute.keypairs()}
    assert listed["sdk-key"].fingerprint == made.fingerprint
    conn.compute.delete_keypair(made)
    assert conn.compute.find_keypair("sdk-key") is None


def test_a_server_lives_its_life(
    conn: openstack.connection.Connection, flavor: Any, image: Any
) -> None:
    server = boot(conn, "sdk-life", flavor, image, metadata={"tier": "web"})
    assert server.status == "ACTIVE"
    assert server.compute_host in ("sdk-a", "sdk-b")
    conn.compute.set_server_metadata(server, owner="sdk")
    assert conn.compute.get_server_metadata(server).metadata == {"tier": "web", "owner": "sdk"}
    conn.compute.stop_server(server)
    conn.compute.wait_for_server(server, status="SHUTOFF", wait=WAIT)
    conn.compute.start_server(server)
    conn.compute.wait_for_server(server, status="ACTIVE", wait=WAIT)
    conn.compute.reboot_server(server, "SOFT")
    conn.compute.wait_for_server(server, status="ACTIVE", wait=WAIT)
    actions = [a.action for a in conn.compute.server_actions(server)]
    assert {"create", "stop", "start", "reboot"} <= set(actions), actions
    assert server.id in {s.id for s in conn.compute.servers(name="sdk-life")}
    conn.compute.delete_server(server)
    conn.compute.wait_for_delete(server, wait=WAIT)
    assert conn.compute.find_server("sdk-life") is None


def test_anti_affinity_group_and_live_migration(
    conn: openstack.connection.Connection, flavor: Any, image: Any
) -> None:
    group = conn.compute.create_server_group(name="sdk-apart", policy="anti-affinity")
    first = boot(conn, "sdk-g1", flavor, image, scheduler_hints={"group": group.id})
    second = boot(conn, "sdk-g2", flavor, image, scheduler_hints={"group": group.id})
    assert {first.compute_host, second.compute_host} == {"sdk-a", "sdk-b"}
    assert set(conn.compute.get_server_group(group.id).member_ids) == {first.id, second.id}
    # Moving one onto the other's host would break the group: refused.
    with pytest.raises(sdk_exceptions.HttpException):
        conn.compute.live_migrate_server(first, host=second.compute_host, block_migration="auto")
    conn.compute.delete_server(second)
    conn.compute.wait_for_delete(second, wait=WAIT)
    source = first.compute_host
    conn.compute.live_migrate_server(first, host=None, block_migration="auto")
    moved = conn.compute.wait_for_server(first, status="ACTIVE", wait=WAIT)
    for _ in range(WAIT * 10):
        moved = conn.compute.get_server(first.id)
        if moved.compute_host != source and moved.status == "ACTIVE":
            break
        conn.compute.wait_for_server(moved, status="ACTIVE", wait=WAIT)
    assert moved.compute_host != source
    migrations = [m for m in conn.compute.migrations() if m.server_id == first.id]
    assert migrations and migrations[0].status == "completed", migrations
    assert migrations[0].source_compute == source
    conn.compute.delete_server(first)
    conn.compute.wait_for_delete(first, wait=WAIT)
    conn.compute.delete_server_group(group)


def test_aggregates(conn: openstack.connection.Connection) -> None:
    aggregate = conn.compute.create_aggregate(name="sdk-agg", availability_zone="sdk-zone")
    conn.compute.add_host_to_aggregate(aggregate, "sdk-a")
    conn.compute.set_aggregate_metadata(aggregate, {"ssd": "true"})
    got = conn.compute.get_aggregate(aggregate.id)
    assert got.hosts == ["sdk-a"]
    assert got.metadata == {"ssd": "true", "availability_zone": "sdk-zone"}
    zones = {z.name for z in conn.compute.availability_zones()}
    assert "sdk-zone" in zones
    conn.compute.remove_host_from_aggregate(aggregate, "sdk-a")
    conn.compute.delete_aggregate(aggregate)
    assert conn.compute.find_aggregate("sdk-agg") is None


def test_networks_and_a_server_on_a_port(
    conn: openstack.connection.Connection, flavor: Any, image: Any
) -> None:
    network = conn.network.create_network(name="sdk-net")
    subnet = conn.network.create_subnet(
        network_id=network.id, ip_version=4, cidr="198.51.100.0/24", name="sdk-subnet"
    )
    port = conn.network.create_port(
        network_id=network.id, fixed_ips=[{"subnet_id": subnet.id, "ip_address": "198.51.100.20"}]
    )
    server = conn.compute.create_server(
        name="sdk-net-vm", flavor_id=flavor.id, image_id=image.id, networks=[{"port": port.id}]
    )
    server = conn.compute.wait_for_server(server, wait=WAIT)
    assert server.addresses["sdk-net"][0]["addr"] == "198.51.100.20"
    bound = conn.network.get_port(port.id)
    assert bound.device_id == server.id and bound.device_owner == "compute:nova"
    conn.compute.delete_server(server)
    conn.compute.wait_for_delete(server, wait=WAIT)
    assert conn.network.get_port(port.id).device_id == ""  # the user's port stays, unbound
    conn.network.delete_port(port)
    conn.network.delete_subnet(subnet)
    conn.network.delete_network(network)
    assert conn.network.find_network("sdk-net") is None


def test_placement_providers_inventories_traits_and_usages(
    conn: openstack.connection.Connection, flavor: Any, image: Any
) -> None:
    providers = {p.name: p for p in conn.placement.resource_providers()}
    assert {"sdk-a", "sdk-b"} <= set(providers)
    inventory = {
        i.resource_class: i.total
        for i in conn.placement.resource_provider_inventories(providers["sdk-a"])
    }
    assert inventory["VCPU"] == 8 and inventory["MEMORY_MB"] == 16384
    conn.placement.create_trait("CUSTOM_SDK_GOLD")
    assert "CUSTOM_SDK_GOLD" in {
        t.name for t in conn.placement.traits(name="startswith:CUSTOM_SDK")
    }
    conn.placement.create_resource_class(name="CUSTOM_SDK_WIDGET")
    assert "CUSTOM_SDK_WIDGET" in {c.name for c in conn.placement.resource_classes()}
    server = boot(conn, "sdk-usage", flavor, image)
    host = providers[server.compute_host]
    usages = conn.placement.fetch_resource_provider_usages(host).usages
    assert usages["VCPU"] >= 1 and usages["MEMORY_MB"] >= 512, usages
    conn.compute.delete_server(server)
    conn.compute.wait_for_delete(server, wait=WAIT)
    conn.placement.delete_resource_class("CUSTOM_SDK_WIDGET")
    conn.placement.delete_trait("CUSTOM_SDK_GOLD")


def test_a_refused_request_is_an_sdk_error_naming_why(
    conn: openstack.connection.Connection, image: Any
) -> None:
    with pytest.raises(sdk_exceptions.BadRequestException) as caught:
        conn.compute.create_flavor(name="sdk-bad", ram=-1, vcpus=1, disk=1)
    assert "ram" in str(caught.value)
    with pytest.raises(sdk_exceptions.HttpException) as missing:
        conn.compute.create_server(
            name="sdk-nope", flavor_id="no-such-flavor", image_id=image.id, networks="none"
        )
    assert missing.value.status_code == 400 and "flavor" in str(missing.value).lower()


def test_the_openstack_client_runs_the_same_scenarios(cloud: Cloud, tmp_path: Any) -> None:
    """python-openstackclient (with osc-placement) in one interactive process, on the
    same clouds.yaml: each command's JSON says it did what was asked."""
    image_file = tmp_path / "disk.raw"
    image_file.write_bytes(b"\0" * 8192)
    key_file = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key_file)], check=True)
    cli = CLI(cloud.clouds_yaml, [])
    made, stderr = cli.session(
        "flavor create --vcpus 1 --ram 256 --disk 1 --property hw:cpu_policy=shared osc-f -f json",
        f"image create --file {image_file} --disk-format raw --container-format bare "
        "--property hw_architecture=x86_64 osc-i -f json",
        f"keypair create --public-key {key_file}.pub osc-k -f json",
        "server group create --policy affinity osc-g -f json",
    )
    assert "Traceback" not in stderr, stderr
    flavor, image, key, group = made
    assert flavor["properties"] == {"hw:cpu_policy": "shared"}
    assert image["status"] == "active" and image["size"] == 8192
    assert key["name"] == "osc-k" and key["type"] == "ssh"
    assert group["policy"] == "affinity"
    documents, stderr = cli.session(
        "server create --flavor osc-f --image osc-i --nic none --key-name osc-k "
        f"--hint group={group['id']} --wait osc-s -f json",
        "server list --name osc-s -f json",
        "server event list osc-s -f json",
        "server group show osc-g -f json",
        "aggregate create --zone osc-zone osc-a -f json",
        "aggregate add host osc-a sdk-b -f json",
        "availability zone list --compute -f json",
        "hypervisor list -f json",
        "resource provider list --name sdk-a -f json",
        "resource class list -f json",
    )
    assert "Traceback" not in stderr, stderr
    (
        server,
        listed,
        events,
        group,
        aggregate,
        with_host,
        zones,
        hypervisors,
        providers,
        classes,
    ) = documents
    assert server["status"] == "ACTIVE" and server["key_name"] == "osc-k"
    assert [s["Name"] for s in listed] == ["osc-s"]
    assert [e["Action"] for e in events] == ["create"]
    assert group["members"] == [server["id"]]
    assert aggregate["availability_zone"] == "osc-zone"
    assert with_host["hosts"] == ["sdk-b"]
    assert "osc-zone" in {z["Zone Name"] for z in zones}
    assert {h["Hypervisor Hostname"] for h in hypervisors} == {"sdk-a", "sdk-b"}
    assert [p["name"] for p in providers] == ["sdk-a"]
    assert "VCPU" in {c["name"] for c in classes}
    cleanup, stderr = cli.session(
        "server delete --wait osc-s",
        "server group delete osc-g",
        "aggregate remove host osc-a sdk-b -f json",
        "aggregate delete osc-a",
        "keypair delete osc-k",
        "image delete osc-i",
        "flavor delete osc-f",
        "server list -f json",
        "image list --name osc-i -f json",
    )
    assert "Traceback" not in stderr, stderr
    assert cleanup[-2:] == [[], []], cleanup
