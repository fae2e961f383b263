"""The agent over a fake driver and the in-process transport: report at start, RPC
methods, periodic refresh, lifecycle events forwarded, clean stop."""

from __future__ import annotations

import pathlib
import threading
from typing import Any

import libvirt
import pytest

from support.fake_driver import FakeDriver
from support.guest import guest_request
from virtfleet import conf as vconf
from virtfleet import errors
from virtfleet.agent.manager import ComputeAgent, tail_lines
from virtfleet.agent.rpcapi import CONDUCTOR_SERVER, CONDUCTOR_TOPIC, ComputeClient
from virtfleet.objects.host_report import HostReport
from virtfleet.objects.instance import InstanceSpec
from virtfleet.objects.rpc_results import HostReportReceipt
from virtfleet.rpc.transport import LocalTransport
from virtfleet.virt.connection import open_connection
from virtfleet.virt.libvirt.driver import LibvirtDriver
from virtfleet.virt.sim import default_fleet
from virtfleet.virt.sim.agentconf import conf_overrides
from virtfleet.virt.sim.errors import libvirt_error

UUID = "0f6f8d3e-2b8c-4d3a-9e55-6a8e7c1b2d44"


class RecordingConductor:
    def __init__(self) -> None:
        self.reports: list[HostReport] = []
        self.events: list[tuple[str, str, str]] = []
        self.guest_lists: list[tuple[str, list[str]]] = []
        self.event_seen = threading.Event()
        self.reported = threading.Event()

    def report_host(self, report: HostReport) -> HostReportReceipt:
        self.reports.append(report)
        self.reported.set()
        return HostReportReceipt(uuid="7d6c5a63-4b7e-4c80-a6d2-1e0a8f9b2c11")

    def instance_power_state_changed(self, host: str, instance_uuid: str, state: str) -> None:
        self.events.append((host, instance_uuid, state))
        self.event_seen.set()

    def guests_on_host(self, host: str, instance_uuids: list[str]) -> None:
        self.guest_lists.append((host, instance_uuids))


@pytest.fixture
def transport():  # type: ignore[no-untyped-def]
    t = LocalTransport()
    yield t
    t.close()


@pytest.fixture
def conductor(transport: LocalTransport) -> RecordingConductor:
    endpoint = RecordingConductor()
    transport.serve(CONDUCTOR_TOPIC, CONDUCTOR_SERVER, endpoint)
    return endpoint


def make_agent(
    tmp_path: pathlib.Path, transport: LocalTransport, interval: int = 0
) -> tuple[ComputeAgent, FakeDriver]:
    conf = vconf.make_conf(
        data_dir=str(tmp_path), compute__resource_provider_refresh_interval=interval
    )
    driver = FakeDriver()
    return ComputeAgent(conf, "kvm-1", driver, transport), driver


def spec() -> InstanceSpec:
    return InstanceSpec(
        uuid=UUID,
        name="vm1",
        flavor_name="tiny",
        vcpus=1,
        memory_mb=256,
        root_gb=1,
        extra_specs={},
        image_id=None,
        image_properties={"hw_architecture": "x86_64"},
        image_path="/images/x",
        image_format="raw",
        kernel_path=None,
        ramdisk_path=None,
        kernel_cmdline=None,
        metadata={},
        allocations=None,
        guest_request=guest_request({"hw_architecture": "x86_64"}),
    )


def test_start_reports_the_host_and_serves_compute(
    tmp_path: pathlib.Path, transport: LocalTransport, conductor: RecordingConductor
) -> None:
    agent, driver = make_agent(tmp_path, transport)
    agent.start()
    try:
        assert [r.host for r in conductor.reports] == ["kvm-1"]
        assert conductor.reports[0].root.inventories["VCPU"].total == 16
        client = ComputeClient(transport)
        client.spawn("kvm-1", spec())
        guest = driver.specs[UUID]
        assert guest.instance_dir == str(tmp_path.resolve() / "instances" / UUID)
        assert guest.console_log_path == f"{guest.instance_dir}/console.log"
        assert (guest.image_path, guest.image_format) == ("/images/x", "raw")
        assert client.get_power_state("kvm-1", UUID) == "running"
        client.power_off("kvm-1", UUID)
        assert client.get_power_state("kvm-1", UUID) == "shutoff"
        client.power_on("kvm-1", UUID)
        client.reboot("kvm-1", UUID, hard=True)
        assert UUID in client.get_domain_xml("kvm-1", UUID)
        assert client.get_console_output("kvm-1", UUID, 2) == "line2\nline3\n"
        client.destroy("kvm-1", UUID)
        assert [c[0] for c in driver.calls] == [
            "spawn",
            "power_off",
            "power_on",
            "reboot-hard",
            "destroy",
        ]
    finally:
        agent.stop()


def test_driver_errors_cross_the_wire_with_their_class(
    tmp_path: pathlib.Path, transport: LocalTransport, conductor: RecordingConductor
) -> None:
    agent, driver = make_agent(tmp_path, transport)
    agent.start()
    try:
        driver.fail_spawn = errors.HypervisorError("unsupported configuration: no kvm", code=67)
        with pytest.raises(errors.HypervisorError, match="no kvm") as caught:
            ComputeClient(transport).spawn("kvm-1", spec())
        assert caught.value.code == 67
        with pytest.raises(errors.NotFound):
            ComputeClient(transport).power_on("kvm-1", "ghost")
    finally:
        agent.stop()


def test_start_fails_when_no_conductor_answers(
    tmp_path: pathlib.Path, transport: LocalTransport
) -> None:
    agent, _ = make_agent(tmp_path, transport)
    with pytest.raises(errors.RPCError, match="conductor"):
        agent.start()


def test_stop_stops_serving(
    tmp_path: pathlib.Path, transport: LocalTransport, conductor: RecordingConductor
) -> None:
    agent, _ = make_agent(tmp_path, transport)
    agent.start()
    agent.stop()
    agent.stop()  # idempotent
    with pytest.raises(errors.RPCError, match=r"no agent is serving compute\.kvm-1"):
        ComputeClient(transport).get_power_state("kvm-1", UUID)


def test_periodic_refresh_rediscovers_and_reports(
    tmp_path: pathlib.Path, transport: LocalTransport, conductor: RecordingConductor
) -> None:
    agent, driver = make_agent(tmp_path, transport, interval=1)
    agent.start()
    try:
        conductor.reported.clear()
        assert conductor.reported.wait(5), "no periodic report"
        assert driver.discoveries >= 2
        assert len(conductor.reports) >= 2
    finally:
        agent.stop()
    count = len(conductor.reports)
    assert agent._refresher is None
    assert len(conductor.reports) == count


def test_lifecycle_events_are_cast_to_the_conductor(
    tmp_path: pathlib.Path, transport: LocalTransport, conductor: RecordingConductor
) -> None:
    agent, driver = make_agent(tmp_path, transport)
    agent.start()
    try:
        ComputeClient(transport).spawn("kvm-1", spec())
        driver.crash(UUID)
        assert wait_until(lambda: ("kvm-1", UUID, "crashed") in conductor.events)
    finally:
        agent.stop()


@pytest.mark.parametrize(
    ("length", "expected"),
    [(None, "a\nb\nc\n"), (-1, "a\nb\nc\n"), (0, ""), (1, "c\n"), (5, "a\nb\nc\n")],
)
def test_tail_lines(length: int | None, expected: str) -> None:
    assert tail_lines("a\nb\nc\n", length) == expected


def test_refresh_tells_the_conductor_every_guests_power_state(
    tmp_path: pathlib.Path, transport: LocalTransport, conductor: RecordingConductor
) -> None:
    agent, driver = make_agent(tmp_path, transport)
    driver.states = {"a": "running", "b": "shutoff"}  # e.g. changed while the agent was away
    agent.start()
    try:
        assert wait_until(lambda: len(conductor.events) == 2)
        assert sorted(conductor.events) == [("kvm-1", "a", "running"), ("kvm-1", "b", "shutoff")]
        assert agent.sync_power_states() == 2
    finally:
        agent.stop()


def wait_until(predicate: Any, timeout: float = 5.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return bool(predicate())


def test_agent_over_oslo_messaging_fake_transport(tmp_path: pathlib.Path) -> None:
    from virtfleet.rpc import get_transport

    transport = get_transport("fake://")
    conductor = RecordingConductor()
    transport.serve(CONDUCTOR_TOPIC, CONDUCTOR_SERVER, conductor)
    agent, driver = make_agent(tmp_path, transport)  # type: ignore[arg-type]
    try:
        agent.start()
        assert conductor.reports[0].root.inventories["MEMORY_MB"].total == 32768
        assert conductor.reports[0].cpu_info.machine_types["aarch64"] == ["virt"]
        ComputeClient(transport).spawn("kvm-1", spec())
        assert driver.specs[UUID].image_properties == {"hw_architecture": "x86_64"}
        with pytest.raises(errors.NotFound):
            ComputeClient(transport).get_power_state("kvm-1", "ghost")
    finally:
        agent.stop()
        transport.close()


def test_the_guests_are_listed_to_the_conductor_once_serving_and_at_every_refresh(
    tmp_path: pathlib.Path, transport: LocalTransport, conductor: RecordingConductor
) -> None:
    agent, driver = make_agent(tmp_path, transport)
    driver.states = {"b": "running", "a": "shutoff"}
    agent.refresh()  # not serving yet: the conductor could not ask back
    assert not wait_until(lambda: bool(conductor.guest_lists), timeout=0.3)
    agent.start()
    try:
        assert wait_until(lambda: conductor.guest_lists == [("kvm-1", ["a", "b"])])
        del driver.states["a"]
        agent.refresh()
        assert wait_until(lambda: conductor.guest_lists[-1:] == [("kvm-1", ["b"])])
    finally:
        agent.stop()


def test_a_report_connects_again_once_libvirtd_is_back(
    tmp_path: pathlib.Path, transport: LocalTransport, conductor: RecordingConductor
) -> None:
    """libvirtd stopped (the agent's connection closed): each report tries to connect
    again and fails with a HypervisorError, reporting nothing; once the daemon answers
    again the next report opens a new connection and reports (found on two real hosts:
    the agent never reconnected at its reports, so an evacuated guest stayed on its
    returned host)."""
    fleet = default_fleet()
    conf = vconf.make_conf(data_dir=str(tmp_path), **conf_overrides(fleet.host("kvm-1")))
    daemon_up = False
    opened: list[libvirt.virConnect] = []

    def reopen() -> libvirt.virConnect:
        if not daemon_up:
            raise libvirt_error(libvirt.VIR_ERR_SYSTEM_ERROR, "Failed to connect socket",
                                libvirt.VIR_FROM_RPC)  # fmt: skip
        opened.append(open_connection("sim://kvm-1", fleet))
        return opened[-1]

    driver = LibvirtDriver(open_connection("sim://kvm-1", fleet), conf, reopen=reopen)
    agent = ComputeAgent(conf, "kvm-1", driver, transport)
    agent.refresh()
    assert len(conductor.reports) == 1
    driver.connection.close()  # the daemon went away
    with pytest.raises(errors.HypervisorError, match="cannot connect to the hypervisor again"):
        agent.refresh()
    with pytest.raises(errors.HypervisorError):  # still away at the next report
        agent.refresh()
    assert len(conductor.reports) == 1 and opened == []
    daemon_up = True
    agent.refresh()
    assert len(conductor.reports) == 2
    assert len(opened) == 1 and driver.connection is opened[0]
    agent.refresh()  # the new connection is kept
    assert len(opened) == 1 and len(conductor.reports) == 3
