"""Boot, failures, delete, power actions and lifecycle events end to end (no HTTP):
real placement on SQLite, the real scheduler, the conductor, LocalTransport, and an
agent with the libvirt driver on each simulated host."""

from __future__ import annotations

import datetime
import pathlib
from collections.abc import Iterator

import pytest
from lxml import etree
from sqlalchemy import update

from support.harness import Cloud, make_cloud, wait_for
from virtfleet import errors
from virtfleet.db import hosts, servers
from virtfleet.db.engine import Database
from virtfleet.db.models.hosts import ComputeNode


@pytest.fixture
def cloud(tmp_path: pathlib.Path, db: Database) -> Iterator[Cloud]:
    built = make_cloud(tmp_path, db)
    yield built
    built.stop()


def test_agents_report_their_hosts_into_placement(cloud: Cloud) -> None:
    assert [h.host for h in hosts.list_hosts(cloud.db)] == ["big", "small"]
    big = hosts.get_host_by_name(cloud.db, "big")
    assert big.cpu_info["arch"] == "x86_64"
    assert "aarch64" in big.cpu_info["emulated_arches"]
    _, inventories = cloud.placement.get_inventories(big.uuid)
    assert inventories["VCPU"].total == 2
    assert inventories["VCPU"].allocation_ratio == 16.0
    assert inventories["MEMORY_MB"].total == 16384
    traits = cloud.placement.get_provider_traits(big.uuid)[1]
    assert {"HW_ARCH_X86_64", "COMPUTE_ARCH_X86_64", "COMPUTE_ARCH_AARCH64"} <= traits


def test_boot_to_active(cloud: Cloud) -> None:
    server = cloud.boot(vcpus=1, memory_mb=512)
    assert (server.vm_state, server.task_state, server.power_state) == ("active", None, 1)
    assert server.host == "big"  # most free RAM
    assert server.node == hosts.get_host_by_name(cloud.db, "big").hypervisor_hostname
    assert server.launched_at is not None
    assert server.fault is None
    assert cloud.usages("big") == {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}
    assert cloud.domains("big") == [server.uuid]
    assert cloud.drivers["big"].get_power_state(server.uuid) == "running"
    xml = cloud.conductor.get_domain_xml(server.uuid)
    assert server.uuid in xml
    assert cloud.conductor.get_console_output(server.uuid, 10) == ""


def test_boot_that_cannot_be_placed_is_error_with_explanation(cloud: Cloud) -> None:
    server = cloud.boot(vcpus=1, memory_mb=65536)
    assert (server.vm_state, server.task_state, server.host) == ("error", None, None)
    assert server.fault is not None
    assert "MEMORY_MB" in server.fault["message"]
    assert server.fault["code"] == 500
    assert cloud.placement.get_consumer_allocations(server.uuid).allocations == {}
    assert cloud.usages("big") == {} and cloud.usages("small") == {}


def test_spawn_failure_on_first_host_moves_to_the_next(
    cloud: Cloud, caplog: pytest.LogCaptureFixture
) -> None:
    # placement sees "big" empty, but its memory is taken by a guest it does not know
    foreign = cloud.occupy("big", 15000)
    server = cloud.boot(vcpus=2, memory_mb=2048)
    assert (server.vm_state, server.host) == ("active", "small")
    assert f"spawning {server.uuid} on big failed" in caplog.text
    assert "Cannot allocate memory" in caplog.text
    assert cloud.domains("big") == [foreign]
    assert cloud.domains("small") == [server.uuid]
    assert cloud.usages("big") == {}
    assert cloud.usages("small") == {"VCPU": 2, "MEMORY_MB": 2048, "DISK_GB": 1}


def test_spawn_failure_everywhere_is_error_with_libvirts_message(cloud: Cloud) -> None:
    foreign = {host: cloud.occupy(host, size) for host, size in (("big", 15000), ("small", 7000))}
    server = cloud.boot(vcpus=1, memory_mb=4096)
    assert (server.vm_state, server.task_state, server.host) == ("error", None, None)
    assert server.fault is not None
    message = server.fault["message"]
    assert message.startswith("Build failed on 2 hosts (big, small); last error on small:")
    assert "cannot set up guest memory 'pc.ram': Cannot allocate memory" in message
    details = server.fault["details"].splitlines()
    assert details[0].startswith("big: ") and details[1].startswith("small: ")
    assert cloud.placement.get_consumer_allocations(server.uuid).allocations == {}
    assert cloud.domains("big") == [foreign["big"]]
    assert cloud.domains("small") == [foreign["small"]]
    assert cloud.usages("big") == {} and cloud.usages("small") == {}


def test_max_attempts_limits_the_hosts_tried(tmp_path: pathlib.Path, db: Database) -> None:
    cloud = make_cloud(tmp_path, db)
    try:
        cloud.conductor._conf.set_override("max_attempts", 1, group="scheduler")
        cloud.occupy("big", 15000)
        server = cloud.boot(vcpus=1, memory_mb=4096)
        assert server.vm_state == "error"
        assert server.fault is not None
        assert server.fault["message"].startswith("Build failed on host big:")
        assert cloud.usages("small") == {}
    finally:
        cloud.stop()


def test_delete_frees_usage_and_removes_the_domain(cloud: Cloud) -> None:
    server = cloud.boot()
    cloud.conductor.delete_server(server.uuid)
    cloud.conductor.drain(30)
    with pytest.raises(errors.NotFound):
        servers.get(cloud.db, server.uuid)
    assert servers.get(cloud.db, server.uuid, read_deleted=True).vm_state == "deleted"
    assert cloud.usages("big") == {}
    assert cloud.domains("big") == []


def test_delete_of_errored_and_vanished_guests(cloud: Cloud) -> None:
    errored = cloud.boot(vcpus=1, memory_mb=65536)
    vanished = cloud.boot()
    cloud.drivers["big"].destroy(vanished.uuid)  # the domain is gone behind our back
    for uuid in (errored.uuid, vanished.uuid):
        cloud.conductor.delete_server(uuid)
    cloud.conductor.drain(30)
    for uuid in (errored.uuid, vanished.uuid):
        assert servers.get(cloud.db, uuid, read_deleted=True).vm_state == "deleted"
    assert cloud.usages("big") == {}


def test_stop_start_reboot(cloud: Cloud) -> None:
    server = cloud.boot()
    uuid = server.uuid
    cloud.conductor.stop_server(uuid)
    cloud.conductor.drain(30)
    stopped = servers.get(cloud.db, uuid)
    assert (stopped.vm_state, stopped.task_state, stopped.power_state) == ("stopped", None, 4)
    assert cloud.drivers["big"].get_power_state(uuid) == "shutoff"
    cloud.conductor.start_server(uuid)
    cloud.conductor.drain(30)
    started = servers.get(cloud.db, uuid)
    assert (started.vm_state, started.power_state) == ("active", 1)
    assert cloud.drivers["big"].get_power_state(uuid) == "running"
    cloud.conductor.reboot_server(uuid, hard=True)
    cloud.conductor.drain(30)
    rebooted = servers.get(cloud.db, uuid)
    assert (rebooted.vm_state, rebooted.task_state, rebooted.power_state) == ("active", None, 1)
    # usage is unchanged by power actions
    assert cloud.usages("big") == {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}


def test_guest_crash_becomes_shutoff_via_lifecycle_events(cloud: Cloud) -> None:
    server = cloud.boot()
    domain = cloud.drivers["big"]._conn.lookupByUUIDString(server.uuid).name()
    cloud.hypervisor("big").crash(domain)
    assert wait_for(lambda: servers.get(cloud.db, server.uuid).vm_state == "stopped")
    crashed = servers.get(cloud.db, server.uuid)
    assert crashed.power_state in (4, 6)
    assert crashed.task_state is None


def test_console_and_xml_of_a_server_without_host_conflict(cloud: Cloud) -> None:
    uuid = cloud.create_server()
    with pytest.raises(errors.Conflict, match="not on any host"):
        cloud.conductor.get_domain_xml(uuid)
    with pytest.raises(errors.NotFound):
        cloud.conductor.get_console_output("00000000-0000-0000-0000-000000000000", None)


def test_silent_hosts_are_marked_down_and_skipped_until_they_report(cloud: Cloud) -> None:
    with cloud.db.write() as conn:
        conn.execute(
            update(ComputeNode)
            .where(ComputeNode.host == "big")
            .values(updated_at=datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1))
        )
    assert cloud.conductor.mark_silent_hosts_down() == ["big"]
    assert cloud.conductor.mark_silent_hosts_down() == []
    assert hosts.get_host_by_name(cloud.db, "big").state == "down"
    assert cloud.boot().host == "small"
    cloud.agents["big"].refresh()
    assert hosts.get_host_by_name(cloud.db, "big").state == "up"
    assert cloud.boot().host == "big"


def test_watchdog_is_off_when_host_down_after_is_zero(cloud: Cloud) -> None:
    cloud.conductor._conf.set_override("host_down_after", 0, group="compute")
    with cloud.db.write() as conn:
        conn.execute(update(ComputeNode).values(updated_at=datetime.datetime(2000, 1, 1)))
    assert cloud.conductor.mark_silent_hosts_down() == []


def test_crash_while_the_agent_is_away_is_seen_when_it_comes_back(cloud: Cloud) -> None:
    server = cloud.boot()
    agent = cloud.agents["big"]
    agent.stop()
    domain = cloud.drivers["big"]._conn.lookupByUUIDString(server.uuid).name()
    cloud.hypervisor("big").crash(domain)
    cloud.transport._pool.submit(lambda: None).result()  # let any stray cast finish
    assert servers.get(cloud.db, server.uuid).vm_state == "active"  # nobody told it
    agent.start()
    assert wait_for(lambda: servers.get(cloud.db, server.uuid).vm_state == "stopped")


def test_image_properties_and_extra_specs_reach_the_guest(cloud: Cloud) -> None:
    image_id = cloud.add_image(hw_emulation_architecture="aarch64")
    server = cloud.boot(image_id=image_id)
    assert server.vm_state == "active", server.fault
    domain = etree.fromstring(cloud.conductor.get_domain_xml(server.uuid).encode())
    assert domain.get("type") == "qemu"  # emulated: TCG
    assert domain.find("os/type").get("arch") == "aarch64"
    disk = domain.find("devices/disk/driver")
    assert disk is not None and disk.get("type") == "qcow2"


def test_flavor_extra_specs_reach_the_guest(cloud: Cloud) -> None:
    specs = {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "42"}
    server = cloud.boot(**specs)
    assert server.vm_state == "active", server.fault
    domain = etree.fromstring(cloud.conductor.get_domain_xml(server.uuid).encode())
    maxphysaddr = domain.find("cpu/maxphysaddr")
    assert maxphysaddr is not None
    assert (maxphysaddr.get("mode"), maxphysaddr.get("bits")) == ("emulate", "42")


def test_required_trait_no_host_offers_is_error_naming_it(cloud: Cloud) -> None:
    image_id = cloud.add_image(hw_emulation_architecture="aarch64")
    server = cloud.boot(image_id=image_id, **{"trait:CUSTOM_NOPE": "required"})
    assert server.vm_state == "error"
    assert server.fault is not None
    assert "CUSTOM_NOPE" in server.fault["message"]


def test_stale_or_foreign_events_do_not_change_the_server(cloud: Cloud) -> None:
    server = cloud.boot()
    # a late "shutoff" event for a guest that runs again: the agent's answer wins
    cloud.conductor.instance_power_state_changed("big", server.uuid, "shutoff")
    assert servers.get(cloud.db, server.uuid).vm_state == "active"
    # an event from a host the server is not on is ignored ("small" cannot tell the
    # state, so without the host check its event's "shutoff" would be applied)
    cloud.conductor.instance_power_state_changed("small", server.uuid, "shutoff")
    assert servers.get(cloud.db, server.uuid).vm_state == "active"
    # a late "running" event after the guest stopped: the agent's answer wins
    cloud.drivers["big"].power_off(server.uuid)
    cloud.conductor.instance_power_state_changed("big", server.uuid, "running")
    after = servers.get(cloud.db, server.uuid)
    assert (after.vm_state, after.power_state) == ("stopped", 4)
    # events for unknown servers are ignored
    cloud.conductor.instance_power_state_changed("big", "00000000-0000-0000-0000-000000000000", "x")


def test_concurrent_boots_fill_the_fleet_exactly(cloud: Cloud) -> None:
    # 16 GiB + 8 GiB of RAM hold six 4 GiB guests; ten are asked for at once
    uuids = [cloud.create_server(memory_mb=4096) for _ in range(10)]
    for uuid in uuids:
        cloud.conductor.build_server(uuid)
    cloud.conductor.drain(60)
    final = [servers.get(cloud.db, uuid) for uuid in uuids]
    active = [s for s in final if s.vm_state == "active"]
    failed = [s for s in final if s.vm_state == "error"]
    assert (len(active), len(failed)) == (6, 4)
    assert sorted(s.host or "" for s in active) == ["big"] * 4 + ["small"] * 2
    assert cloud.usages("big")["MEMORY_MB"] == 4 * 4096
    assert cloud.usages("small")["MEMORY_MB"] == 2 * 4096
    for server in failed:
        assert server.fault is not None and "MEMORY_MB" in server.fault["message"]
        assert cloud.placement.get_consumer_allocations(server.uuid).allocations == {}
    assert sorted(cloud.domains("big") + cloud.domains("small")) == sorted(s.uuid for s in active)


def test_stuck_servers_are_recovered(cloud: Cloud) -> None:
    spawned = cloud.boot()  # pretend its build died after spawning, before ACTIVE
    servers.update(cloud.db, spawned.uuid, vm_state="building", task_state="spawning")
    queued = servers.get(cloud.db, cloud.create_server())  # its build never started
    running = cloud.boot()
    servers.update(cloud.db, running.uuid, task_state="powering-off")
    deleting = cloud.boot()
    servers.update(cloud.db, deleting.uuid, task_state="deleting")
    fresh = cloud.boot()
    assert cloud.conductor.recover_stuck_servers(stuck_after=3600) == []
    # only servers untouched for stuck_after count; "fresh" has no task
    handled = cloud.conductor.recover_stuck_servers(stuck_after=0)
    assert sorted(handled) == sorted([spawned.uuid, queued.uuid, running.uuid, deleting.uuid])
    for uuid in (spawned.uuid, queued.uuid):
        server = servers.get(cloud.db, uuid)
        assert (server.vm_state, server.task_state, server.host) == ("error", None, None)
        assert server.fault is not None and "interrupted" in server.fault["message"]
        assert cloud.placement.get_consumer_allocations(uuid).allocations == {}
    assert spawned.uuid not in cloud.domains("big")
    assert servers.get(cloud.db, running.uuid).task_state is None
    assert servers.get(cloud.db, running.uuid).vm_state == "active"
    assert servers.get(cloud.db, deleting.uuid, read_deleted=True).vm_state == "deleted"
    assert deleting.uuid not in cloud.domains("big")
    assert servers.get(cloud.db, fresh.uuid).vm_state == "active"


def test_boot_of_an_image_without_data_fails_before_any_claim(cloud: Cloud) -> None:
    uuid = cloud.create_server()
    cloud.images.store.path(cloud.image_id).unlink()  # the data file vanished
    cloud.conductor.build_server(uuid)
    cloud.conductor.drain(30)
    server = servers.get(cloud.db, uuid)
    assert (server.vm_state, server.host) == ("error", None)
    assert server.fault is not None
    assert server.fault["code"] == 400
    assert "data file is missing" in server.fault["message"]
    assert cloud.usages("big") == {} and cloud.usages("small") == {}
