"""A host whose libvirt reports no physical address bits, through the whole flow: it
has COMPUTE_ADDRESS_SPACE_EMULATED, so placement offers it, but an ``emulate`` boot
through the Compute API ends in ERROR with a NoValidHost fault naming the bits; nothing
is allocated or defined. The same host runs ``passthrough`` and plain guests."""

from __future__ import annotations

import pytest

from support.clouds import Recipe
from support.fleet_cloud import FleetCloud
from support.plugin import StartSimCloud
from virtfleet.db import hosts as host_records

NO_BITS_FLEET = """
hosts:
  - name: no-bits
    arch: x86_64
    virt_type: kvm
    cpu_mode: host-passthrough
    libvirt_version: "9.0.0"
    qemu_version: "8.2.0"
    maxphysaddr_bits: null
    memory_mb: 65536
"""


@pytest.fixture(scope="module")
def lone(start_sim_cloud: StartSimCloud) -> FleetCloud:
    return start_sim_cloud(Recipe(fleet=NO_BITS_FLEET, source="no-bits.yaml"), view=FleetCloud)


def test_the_host_has_the_trait_but_no_bits(lone: FleetCloud) -> None:
    record = host_records.get_host_by_name(lone.control.db, "no-bits")
    traits = lone.control.placement.get_provider_traits(record.uuid)[1]
    assert "COMPUTE_ADDRESS_SPACE_EMULATED" in traits
    assert "COMPUTE_ADDRESS_SPACE_PASSTHROUGH" in traits
    assert "maxphysaddr_bits" not in record.cpu_info or record.cpu_info["maxphysaddr_bits"] is None


@pytest.mark.parametrize("bits", [32, 42])
def test_an_emulate_boot_fails_with_a_fault_naming_the_bits(lone: FleetCloud, bits: int) -> None:
    flavor = f"e{bits}"
    specs = {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": str(bits)}
    assert lone.flavor(flavor, 1024, specs).status == 200
    image_id = lone.image(f"img-{bits}")
    server = lone.boot(f"vm-{bits}", flavor, image_id)
    try:
        assert server["status"] == "ERROR", server
        assert server["fault"]["message"] == (
            "No valid host for 1 VCPU, 1024 MB RAM, 1 GB disk, requires "
            "COMPUTE_ADDRESS_SPACE_EMULATED: 1 of 1 hosts report no physical address bits"
        )
        assert lone.control.placement.get_consumer_allocations(server["id"]).allocations == {}
        assert server["OS-EXT-SRV-ATTR:host"] is None
        domains = lone.embedded.agents[0].driver.list_instance_uuids()
        assert server["id"] not in domains
    finally:
        lone.delete_server(server["id"])


@pytest.mark.parametrize(
    ("name", "specs"), [("pt", {"hw:maxphysaddr_mode": "passthrough"}), ("plain", {})]
)
def test_the_same_host_runs_guests_that_need_no_bits(
    lone: FleetCloud, name: str, specs: dict[str, str]
) -> None:
    assert lone.flavor(name, 1024, specs).status == 200
    server = lone.boot(f"vm-{name}", name, lone.image(f"img-{name}"))
    try:
        assert (server["status"], server["OS-EXT-SRV-ATTR:host"]) == ("ACTIVE", "no-bits")
        xml = lone.domain_xml(server["id"])
        assert ('<maxphysaddr mode="passthrough"/>' in xml) == bool(specs)
    finally:
        lone.delete_server(server["id"])
