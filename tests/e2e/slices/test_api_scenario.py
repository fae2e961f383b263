"""The issue's 8/4/4/1x8 scenario through the Compute API over HTTP (flavors with
slice extra specs, boots, faults, deletes), and an XML injection attempt through the
server name and metadata of an API boot."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree

from support.slice_cloud import HOST, SLICE_1, SLICE_4, SLICE_8, SliceCloud
from virtfleet.cli.apiclient import Client

HALF_0 = {"slice-4-0", *(f"slice-1-{i}" for i in range(4))}
HALF_1 = {"slice-4-1", *(f"slice-1-{i}" for i in range(4, 8))}
VF = {"vf": "http://virtfleet.dev/xmlns/instance/1.0"}


@pytest.fixture
def api(cloud: SliceCloud, endpoint: str) -> Client:
    client = Client(endpoint)
    for gpus, resource_class in ((1, SLICE_1), (4, SLICE_4), (8, SLICE_8)):
        flavor = client.create_flavor(f"gpu.{gpus}", vcpus=1, ram=1, disk=0)
        client.set_extra_specs(
            flavor["id"],
            {
                f"resources:{resource_class}": "1",
                "resources:VCPU": "0",
                "resources:MEMORY_MB": "0",
                "resources:DISK_GB": "0",
            },
        )
    return client


def boot(
    api: Client, cloud: SliceCloud, gpus: int, name: str = "vm", **metadata: str
) -> dict[str, Any]:
    flavor = next(
        f for f in api.compute("GET", "/flavors")["flavors"] if f["name"] == f"gpu.{gpus}"
    )
    server = {"name": name, "flavorRef": flavor["id"], "imageRef": cloud.image_id}
    if metadata:
        server["metadata"] = metadata
    created = api.compute("POST", "/servers", {"server": server})["server"]["id"]
    return api.wait_server(created)


def active(server: dict[str, Any]) -> str:
    assert server["status"] == "ACTIVE", server.get("fault")
    assert server["OS-EXT-SRV-ATTR:host"] == HOST
    return str(server["id"])


def fault(server: dict[str, Any]) -> str:
    assert server["status"] == "ERROR", server
    return str(server["fault"]["message"])


def delete(api: Client, cloud: SliceCloud, uuid: str) -> None:
    api.compute("DELETE", f"/servers/{uuid}")
    cloud.conductor.drain(30)


def test_the_issue_scenario_through_the_compute_api(api: Client, cloud: SliceCloud) -> None:
    first = active(boot(api, cloud, 1))
    assert cloud.taken(first) == {"slice-1-0"}
    assert fault(boot(api, cloud, 8)).endswith(
        f"1 of 1 hosts offer only {SLICE_8} slices that overlap a slice in use"
    )
    half = active(boot(api, cloud, 4))
    assert cloud.taken(half) == HALF_1
    eighths = [active(boot(api, cloud, 1)) for _ in range(3)]
    assert [cloud.taken(u) for u in eighths] == [{f"slice-1-{i}"} for i in (1, 2, 3)]
    assert fault(boot(api, cloud, 1)).endswith(f"1 of 1 hosts lack capacity ({SLICE_1})")
    for gpus, resource_class in ((4, SLICE_4), (8, SLICE_8)):
        assert fault(boot(api, cloud, gpus)) == (
            f"No valid host for 1 {resource_class}: 1 of 1 hosts offer only {resource_class} "
            "slices that overlap a slice in use"
        )
    assert cloud.used_slices() == HALF_0 - {"slice-4-0"} | HALF_1

    delete(api, cloud, half)
    assert cloud.used_slices() == {f"slice-1-{i}" for i in range(4)}
    assert cloud.taken(half) == set()
    delete(api, cloud, eighths[0])
    assert cloud.used_slices() == {"slice-1-0", "slice-1-2", "slice-1-3"}
    for uuid in (first, *eighths[1:]):
        delete(api, cloud, uuid)
    assert cloud.used_slices() == set()
    assert cloud.taken(active(boot(api, cloud, 8))) == {"slice-8"} | HALF_0 | HALF_1


INJECTIONS = [
    "x</name><uuid>00000000-0000-0000-0000-000000000000</uuid><name>y",
    "a' type='qemu",
    "</description></metadata><devices><hostdev mode='subsystem' type='pci'/></devices>",
]


@pytest.mark.parametrize("crafted", INJECTIONS)
def test_a_crafted_server_name_cannot_change_the_domain(
    api: Client, cloud: SliceCloud, crafted: str
) -> None:
    plain = active(boot(api, cloud, 1, "plain"))
    evil = active(boot(api, cloud, 1, crafted, note=crafted))
    plain_root = etree.fromstring(
        api.compute("GET", f"/servers/{plain}/os-domain-xml")["domain_xml"].encode()
    )
    root = etree.fromstring(
        api.compute("GET", f"/servers/{evil}/os-domain-xml")["domain_xml"].encode()
    )
    assert root.findtext("name") == f"vf-{evil}"
    assert root.findtext("uuid") == evil
    assert root.get("type") == plain_root.get("type")
    assert len(root.findall("devices/hostdev")) == 1
    assert root.findtext("metadata/vf:instance/vf:name", namespaces=VF) == crafted
    assert root.findtext("metadata/vf:instance/vf:meta", namespaces=VF) == crafted
    for domain in (root, plain_root):  # the metadata differs by the note; the rest not
        metadata = domain.find("metadata")
        assert metadata is not None
        domain.remove(metadata)
    assert [c.tag for c in root.iter()] == [c.tag for c in plain_root.iter()]
    assert api.server(evil)["name"] == crafted
