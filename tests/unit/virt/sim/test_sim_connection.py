"""open_connection, the per-fleet registry, the public surface, and agent config."""

from __future__ import annotations

import json

import libvirt
import pytest

import virtfleet.virt.sim as sim
from virtfleet.conf import make_conf
from virtfleet.errors import HypervisorError, NotFound
from virtfleet.virt.connection import is_simulated, open_connection
from virtfleet.virt.sim import SimConnection, default_fleet, hypervisor_for, hypervisors
from virtfleet.virt.sim.agentconf import conf_overrides

from .conftest import domain_xml


def test_sim_uris_reach_the_fleets_hosts() -> None:
    fleet = default_fleet()
    conn = open_connection("sim://kvm-2", fleet)
    assert isinstance(conn, SimConnection) and conn.getHostname() == "kvm-2"
    assert open_connection("sim:///kvm-2", fleet).hypervisor is conn.hypervisor
    assert is_simulated("sim://x") and not is_simulated("qemu:///system")


def test_hosts_are_shared_per_fleet_object_only() -> None:
    first, second = default_fleet(), default_fleet()
    open_connection("sim://kvm-1", first).defineXML(domain_xml("a"))
    assert [d.name() for d in open_connection("sim://kvm-1", first).listAllDomains(0)] == ["a"]
    assert open_connection("sim://kvm-1", second).listAllDomains(0) == []
    assert hypervisor_for(first, "kvm-1") is hypervisor_for(first, "kvm-1")
    assert [h.profile.name for h in hypervisors(first)] == list(first.names)


def test_without_a_fleet_one_shared_sample_fleet_is_used() -> None:
    assert open_connection("sim://vgpu-1").getHostname() == "vgpu-1"
    dom = open_connection("sim://arm-1").defineXML(
        domain_xml("shared-default", arch="aarch64", machine="virt")
    )
    try:
        assert open_connection("sim://arm-1").lookupByName("shared-default") == dom
    finally:
        dom.undefine()


@pytest.mark.parametrize("uri", ["sim://nope", "sim://"])
def test_unknown_simulated_host(uri: str) -> None:
    with pytest.raises(NotFound):
        open_connection(uri, default_fleet())


def test_real_libvirt_errors_become_hypervisor_errors(tmp_path: object) -> None:
    with pytest.raises(HypervisorError) as excinfo:
        open_connection("test:///nonexistent/virtfleet-no-such-file.xml")
    assert excinfo.value.code is not None
    assert "test:///nonexistent" in str(excinfo.value)


def test_real_test_driver_opens_through_the_same_function() -> None:
    conn = open_connection("test:///default")
    try:
        assert isinstance(conn, libvirt.virConnect)
    finally:
        conn.close()


def test_public_surface() -> None:
    assert set(sim.__all__) == {
        "MIGRATION_PHASES",
        "Fleet",
        "Gpu",
        "HostProfile",
        "MdevType",
        "NumaCell",
        "SimConnection",
        "SimDomain",
        "SimHypervisor",
        "SimNodeDevice",
        "SliceSpec",
        "Version",
        "default_fleet",
        "hypervisor_for",
        "hypervisors",
        "libvirt_error",
        "load_fleet",
    }
    for name in sim.__all__:
        assert hasattr(sim, name), name


def test_agent_config_of_each_sample_host() -> None:
    fleet = default_fleet()
    conf = make_conf(**conf_overrides(fleet.host("slice-1")))
    assert conf.host == "slice-1"
    assert conf.libvirt.connection_uri == "sim://slice-1"
    assert conf.libvirt.virt_type == "kvm" and conf.libvirt.cpu_mode == "host-passthrough"
    specs = [json.loads(line) for line in conf.libvirt.slice_spec]
    assert [s["name"] for s in specs][:3] == ["slice-8", "slice-4-0", "slice-4-1"]
    assert specs[1]["conflict_parent"] == "slice-8"
    assert specs[1]["resource_class"] == "CUSTOM_SLICE_4"
    assert specs[1]["template_file"].endswith("slices/slice-4.xml.j2")
    vgpu = make_conf(**conf_overrides(fleet.host("vgpu-2")))
    assert vgpu.devices.enabled_mdev_types == ["nvidia-222"]
    assert vgpu.libvirt.slice_spec == [] and vgpu.libvirt.cpu_mode == "host-model"


def test_a_connection_keeps_its_fleet_reachable_for_migration() -> None:
    import gc

    conn = open_connection("sim://kvm-1", default_fleet())  # nobody else holds the fleet
    gc.collect()
    dom = conn.defineXML(domain_xml("g"))
    dom.create()
    peer_fleet = conn.hypervisor.fleet
    assert peer_fleet is not None
    conn.hypervisor.migration_duration = 0
    dom.migrateToURI3("sim://kvm-2", {}, libvirt.VIR_MIGRATE_LIVE)
    assert open_connection("sim://kvm-2", peer_fleet).lookupByName("g").isActive()


def test_dropped_fleets_are_forgotten() -> None:
    import gc

    from virtfleet.virt.sim import registry

    before = len(registry._HYPERVISORS)
    for _ in range(3):
        open_connection("sim://kvm-1", default_fleet()).close()
    gc.collect()
    assert len(registry._HYPERVISORS) <= before
