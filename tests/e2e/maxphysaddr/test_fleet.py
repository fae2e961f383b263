"""Where maxphysaddr guests land on a simulated fleet (hosts of 39, 46 and 52 bits, one
reporting none, one with libvirt 8.5.0, one with host-passthrough CPUs), and why they do
not land elsewhere: host reports, the scheduler's candidate sets, real boots through
the Compute API, and NoValidHost explanations."""

from __future__ import annotations

import json

import pytest

from support.fleet_cloud import HOSTS, FleetCloud
from virtfleet.control_plane import agent_conf
from virtfleet.db import hosts as host_records
from virtfleet.virt.connection import open_connection
from virtfleet.virt.libvirt.driver import LibvirtDriver
from virtfleet.virt.sim import load_fleet
from virtfleet.virt.sim.agentconf import conf_overrides

EMULATED = "COMPUTE_ADDRESS_SPACE_EMULATED"
PASSTHROUGH = "COMPUTE_ADDRESS_SPACE_PASSTHROUGH"


def emulate(bits: int) -> dict[str, str]:
    return {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": str(bits)}


PASS_THROUGH = {"hw:maxphysaddr_mode": "passthrough"}


def test_hosts_report_traits_and_bits(fleet: FleetCloud) -> None:
    reported = {}
    for name in HOSTS:
        record = host_records.get_host_by_name(fleet.control.db, name)
        traits = fleet.control.placement.get_provider_traits(record.uuid)[1]
        reported[name] = (
            record.cpu_info.get("maxphysaddr_bits"),
            EMULATED in traits,
            PASSTHROUGH in traits,
        )
    assert reported == {
        "bits39": (39, True, False),
        "bits46": (46, True, False),
        "bits52": (52, True, False),
        "old-libvirt": (52, False, False),  # libvirt < 8.7.0 drops <maxphysaddr>
        "passthrough": (46, True, True),
        "no-bits": (None, True, False),
    }


def test_hypervisor_api_shows_the_bits(fleet: FleetCloud) -> None:
    listed = fleet.call("GET", "/compute/v2.1/os-hypervisors/detail").body["hypervisors"]
    bits = {h["service"]["host"]: json.loads(h["cpu_info"]).get("maxphysaddr_bits") for h in listed}
    assert bits["bits39"] == 39 and bits["bits52"] == 52 and bits["no-bits"] is None


@pytest.mark.parametrize(
    ("specs", "hosts"),
    [
        ({}, set(HOSTS)),
        (emulate(32), {"bits39", "bits46", "bits52", "passthrough"}),
        (emulate(39), {"bits39", "bits46", "bits52", "passthrough"}),
        (emulate(40), {"bits46", "bits52", "passthrough"}),
        (emulate(42), {"bits46", "bits52", "passthrough"}),
        (emulate(46), {"bits46", "bits52", "passthrough"}),
        (emulate(47), {"bits52"}),
        (emulate(50), {"bits52"}),
        (emulate(52), {"bits52"}),
        (PASS_THROUGH, {"passthrough"}),
    ],
)
def test_scheduler_lets_through_exactly_the_hosts_that_can_run_it(
    fleet: FleetCloud, specs: dict[str, str], hosts: set[str]
) -> None:
    assert fleet.hosts_that_fit(specs) == hosts


@pytest.mark.parametrize("source", ["flavor", "image"])
def test_image_properties_schedule_like_extra_specs(fleet: FleetCloud, source: str) -> None:
    if source == "flavor":
        assert fleet.hosts_that_fit(emulate(50)) == {"bits52"}
    else:
        image = {"hw_maxphysaddr_mode": "emulate", "hw_maxphysaddr_bits": "50"}
        assert fleet.hosts_that_fit({}, image) == {"bits52"}
    assert fleet.hosts_that_fit({}, {"hw_maxphysaddr_mode": "passthrough"}) == {"passthrough"}


def test_filter_reasons_name_the_bits(fleet: FleetCloud) -> None:
    """old-libvirt never reaches the filter: placement drops it (no trait)."""
    assert fleet.rejections(emulate(42)) == {
        "bits39": "have fewer than 42 physical address bits",
        "no-bits": "report no physical address bits",
    }
    assert fleet.rejections(emulate(32)) == {"no-bits": "report no physical address bits"}


@pytest.mark.parametrize(
    ("name", "specs", "ram", "allowed"),
    [
        ("e42", emulate(42), 1024, {"bits46", "bits52", "passthrough"}),
        ("e50", emulate(50), 1024, {"bits52"}),
        ("pt", PASS_THROUGH, 1024, {"passthrough"}),
        ("e41-1t", emulate(41), 1 << 20, {"bits46", "bits52", "passthrough"}),
    ],
)
def test_boots_land_on_allowed_hosts_with_the_cpu_asked_for(
    fleet: FleetCloud, name: str, specs: dict[str, str], ram: int, allowed: set[str]
) -> None:
    """Boot as many guests as there are allowed hosts (the RAM weigher spreads them);
    each lands on an allowed host and its domain carries the request."""
    image_id = fleet.image(f"img-{name}")
    assert fleet.flavor(f"fleet-{name}", ram, specs).status == 200
    servers = [fleet.boot(f"{name}-{i}", f"fleet-{name}", image_id) for i in range(len(allowed))]
    try:
        for server in servers:
            assert server["status"] == "ACTIVE", server.get("fault")
            assert server["OS-EXT-SRV-ATTR:host"] in allowed
            xml = fleet.domain_xml(server["id"])
            if specs["hw:maxphysaddr_mode"] == "emulate":
                bits = specs["hw:maxphysaddr_bits"]
                assert f'<maxphysaddr mode="emulate" bits="{bits}"/>' in xml
            else:
                assert '<cpu mode="host-passthrough">' in xml
                assert '<maxphysaddr mode="passthrough"/>' in xml
    finally:
        for server in servers:
            fleet.delete_server(server["id"])


def test_no_valid_host_explains_the_missing_bits_and_frees_everything(fleet: FleetCloud) -> None:
    """Only bits52 has 50 bits; once a 1 TiB guest fills it, the explanation says why
    no other host will do."""
    image_id = fleet.image("img-nvh")
    assert fleet.flavor("fleet-e50-big", 1 << 20, emulate(50)).status == 200
    first = fleet.boot("nvh-1", "fleet-e50-big", image_id)
    assert (first["status"], first["OS-EXT-SRV-ATTR:host"]) == ("ACTIVE", "bits52")
    try:
        second = fleet.boot("nvh-2", "fleet-e50-big", image_id)
        assert second["status"] == "ERROR"
        message = second["fault"]["message"]
        assert message.startswith("No valid host for 1 VCPU, 1048576 MB RAM")
        for part in (
            "5 of 6 hosts offer COMPUTE_ADDRESS_SPACE_EMULATED",
            "1 of 6 hosts lack capacity (MEMORY_MB)",
            "3 of 6 hosts have fewer than 50 physical address bits",
            "1 of 6 hosts report no physical address bits",
        ):
            assert part in message, message
        consumer = fleet.control.placement.get_consumer_allocations(second["id"])
        assert consumer.allocations == {}
        fleet.delete_server(second["id"])
    finally:
        fleet.delete_server(first["id"])


def test_no_valid_host_names_the_missing_trait(fleet: FleetCloud) -> None:
    image_id = fleet.image("img-nvh-pt")
    assert fleet.flavor("fleet-pt-big", 1 << 20, PASS_THROUGH).status == 200
    first = fleet.boot("nvh-pt-1", "fleet-pt-big", image_id)
    assert (first["status"], first["OS-EXT-SRV-ATTR:host"]) == ("ACTIVE", "passthrough")
    try:
        second = fleet.boot("nvh-pt-2", "fleet-pt-big", image_id)
        assert second["status"] == "ERROR"
        message = second["fault"]["message"]
        assert "1 of 6 hosts offer COMPUTE_ADDRESS_SPACE_PASSTHROUGH" in message, message
        assert "1 of 6 hosts lack capacity (MEMORY_MB)" in message, message
        fleet.delete_server(second["id"])
    finally:
        fleet.delete_server(first["id"])


def _address_space_traits(fleet_text: str) -> dict[str, set[str]]:
    fleet = load_fleet(fleet_text, source="traits.yaml")
    found = {}
    for profile in fleet.hosts:
        conf = agent_conf((), {**conf_overrides(profile), "data_dir": "/nonexistent"})
        info = LibvirtDriver(open_connection(f"sim://{profile.name}", fleet), conf).discover()
        found[profile.name] = {t for t in info.traits if t.startswith("COMPUTE_ADDRESS_SPACE")}
    return found


@pytest.mark.parametrize(
    ("versions", "expected"),
    [
        ('libvirt_version: "8.6.0", qemu_version: "8.2.0"', set()),
        ('libvirt_version: "8.7.0", qemu_version: "8.2.0"', {EMULATED, PASSTHROUGH}),
        ('libvirt_version: "8.7.0", qemu_version: "2.6.0"', set()),
    ],
)
def test_version_gates(versions: str, expected: set[str]) -> None:
    fleet_text = (
        "hosts:\n"
        f"  - {{name: h, arch: x86_64, virt_type: kvm, {versions},"
        " cpu_mode: host-passthrough, maxphysaddr_bits: 46}\n"
    )
    assert _address_space_traits(fleet_text) == {"h": expected}


def test_hosts_that_cannot_put_maxphysaddr_in_a_guest_do_not_claim_to() -> None:
    """TCG hosts have no host-passthrough CPUs (the driver refuses passthrough there),
    KVM with cpu_mode none writes no <cpu> to hold <maxphysaddr>, and a non-x86 host's
    host-passthrough guests are of its own arch (it has no bits for emulate either)."""
    fleet_text = """
defaults: {arch: x86_64, libvirt_version: "9.0.0", qemu_version: "8.2.0", maxphysaddr_bits: 46}
hosts:
  - {name: tcg-passthrough, virt_type: qemu, cpu_mode: host-passthrough}
  - {name: kvm-none, virt_type: kvm, config: {libvirt: {cpu_mode: none}}}
  - {name: arm-passthrough, arch: aarch64, virt_type: kvm, cpu_mode: host-passthrough,
     maxphysaddr_bits: null}
"""
    assert _address_space_traits(fleet_text) == {
        "tcg-passthrough": {EMULATED},
        "kvm-none": set(),
        "arm-passthrough": {EMULATED},
    }
