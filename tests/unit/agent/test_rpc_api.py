"""The RPC API between control plane and agents: each typed client matches the
endpoint the other side serves (same calls, same signatures), every call round-trips
through the local transport's JSON wire with its types intact, and the version
history is in order."""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from typing import Any, get_type_hints

import pytest

from virtfleet import errors
from virtfleet.agent import rpcapi
from virtfleet.agent.manager import AgentEndpoint
from virtfleet.agent.rpcapi import (
    COMPUTE_TOPIC,
    CONDUCTOR_SERVER,
    CONDUCTOR_TOPIC,
    ComputeClient,
    ConductorClient,
)
from virtfleet.conductor.manager import ConductorEndpoint
from virtfleet.objects.guest_request import GuestRequest
from virtfleet.objects.host_report import HostCPUInfo, HostReport, ReportedProvider
from virtfleet.objects.image_data import ImageData
from virtfleet.objects.instance import InstanceSpec
from virtfleet.objects.migrate_data import LibvirtLiveMigrateData
from virtfleet.objects.rescue_device import RescueDevice
from virtfleet.objects.rpc_results import (
    ConsoleEndpoint,
    DiskOffer,
    EvacuatedGuest,
    GuestWhereabouts,
    HostReportReceipt,
    MigrationProgress,
    OrphanDomain,
)
from virtfleet.objects.vif import GuestVif
from virtfleet.rpc.transport import LocalTransport

UUID = "0f6f8d3e-2b8c-4d3a-9e55-6a8e7c1b2d44"
OTHER = "7d6c5a63-4b7e-4c80-a6d2-1e0a8f9b2c11"

#: Client methods that configure the client rather than make a call.
CLIENT_ONLY = {"with_timeout"}


def calls_of(cls: type) -> dict[str, Callable[..., object]]:
    """The public methods of ``cls`` (inherited ones too) that are RPC calls."""
    return {
        name: func
        for name, func in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_") and name not in CLIENT_ONLY
    }


def signature_of(func: Callable[..., object], skip: int) -> list[tuple[str, object, object]]:
    """``func``'s parameters after ``self`` and ``skip`` routing ones (name, resolved
    type, default), then its resolved return type."""
    hints = get_type_hints(func)
    params = list(inspect.signature(func).parameters.values())[1 + skip :]
    shape: list[tuple[str, object, object]] = [
        (p.name, hints.get(p.name), p.default) for p in params
    ]
    shape.append(("return", hints.get("return"), None))
    return shape


def mismatches(client: type, endpoint: type, routing: int) -> list[str]:
    """How ``client`` and ``endpoint`` differ; empty when every call is on both sides
    with the same signature (the client's first ``routing`` parameters aside)."""
    ours, theirs = calls_of(client), calls_of(endpoint)
    found = [f"{name}: only on {client.__name__}" for name in sorted(ours.keys() - theirs)]
    found += [f"{name}: only on {endpoint.__name__}" for name in sorted(theirs.keys() - ours)]
    for name in sorted(ours.keys() & theirs):
        mine, served = signature_of(ours[name], routing), signature_of(theirs[name], 0)
        if mine != served:
            found.append(f"{name}: {client.__name__} {mine} != {endpoint.__name__} {served}")
    return found


PAIRS = [(ComputeClient, AgentEndpoint, 1), (ConductorClient, ConductorEndpoint, 0)]


@pytest.mark.parametrize(("client", "endpoint", "routing"), PAIRS)
def test_client_and_endpoint_offer_the_same_calls(
    client: type, endpoint: type, routing: int
) -> None:
    assert mismatches(client, endpoint, routing) == []


class _Client:
    def __init__(self) -> None: ...
    def ping(self, host: str, n: int) -> int: ...
    def lonely(self, host: str) -> None: ...


class _Endpoint:
    def ping(self, n: str) -> int: ...
    def extra(self) -> None: ...


def test_the_check_sees_a_missing_call_and_a_changed_signature() -> None:
    found = mismatches(_Client, _Endpoint, 1)
    assert found[:2] == ["lonely: only on _Client", "extra: only on _Endpoint"]
    assert len(found) == 3 and found[2].startswith("ping: ")


def test_the_version_history_is_in_order() -> None:
    versions = [tuple(int(p) for p in v.split(".")) for v, _ in rpcapi.HISTORY]
    assert versions == sorted(set(versions))
    assert rpcapi.HISTORY[-1][0] == rpcapi.VERSION
    assert all(change.strip() for _, change in rpcapi.HISTORY)


# ----------------------------------------------------------------------- round trips


def migrate_data() -> LibvirtLiveMigrateData:
    return LibvirtLiveMigrateData(
        migration_uuid=OTHER,
        instance_uuid=UUID,
        source_host="a",
        dest_host="b",
        instance_dir=f"/var/lib/virtfleet/instances/{UUID}",
        source_mdev_types={"m1": "nvidia-35"},
        local_disks=[{"path": "/d/disk", "format": "qcow2", "backing": None}],
    )


def instance_spec() -> InstanceSpec:
    return InstanceSpec(
        uuid=UUID,
        name="vm1",
        vcpus=2,
        memory_mb=2048,
        root_gb=10,
        image_id=OTHER,
        image_path="/data/images/x",
        image_format="raw",
        allocations={"rp-1": {"VCPU": 2}},
        guest_request=GuestRequest(arch="aarch64", emulated=True, firmware="uefi"),
    )


def host_report() -> HostReport:
    return HostReport(
        host="kvm-1",
        hypervisor_hostname="kvm-1",
        hypervisor_type="QEMU",
        hypervisor_version=8_002_000,
        vcpus=4,
        memory_mb=8192,
        local_gb=10,
        cpu_info=HostCPUInfo(arch="x86_64", libvirt_version="9.0.0", qemu_version="8.2.0"),
        providers=[ReportedProvider(name="kvm-1", traits={"HW_ARCH_X86_64"})],
    )


#: Per call: arguments (after the host) and what the endpoint answers.
COMPUTE_CALLS: dict[str, tuple[dict[str, Any], Any]] = {
    "spawn": ({"instance": instance_spec()}, None),
    "fetch_images": ({"instance": instance_spec()}, None),
    "destroy": ({"instance_uuid": UUID, "shutdown_timeout": 30}, None),
    "power_off": ({"instance_uuid": UUID, "shutdown_timeout": 60}, None),
    "power_on": ({"instance_uuid": UUID}, None),
    "reboot": ({"instance_uuid": UUID, "hard": False, "shutdown_timeout": 5}, None),
    "pause": ({"instance_uuid": UUID}, None),
    "unpause": ({"instance_uuid": UUID}, None),
    "suspend": ({"instance_uuid": UUID}, None),
    "resume": ({"instance_uuid": UUID}, None),
    "rescue": (
        {
            "instance": instance_spec(),
            "rescue_image": ImageData(image_id=OTHER, size=4096, disk_format="qcow2"),
        },
        None,
    ),
    "unrescue": ({"instance": instance_spec()}, None),
    "snapshot": ({"instance_uuid": UUID, "target_path": "/var/lib/images/x.snapshot"}, None),
    "get_power_state": ({"instance_uuid": UUID}, "running"),
    "prep_resize": ({"instance": instance_spec(), "same_host": True}, None),
    "migrate_disk_and_power_off": ({"instance_uuid": UUID}, f"/var/lib/i/{UUID}_resize"),
    "finish_resize": (
        {"instance": instance_spec(), "kept": f"/var/lib/i/{UUID}_resize", "power_on": False},
        None,
    ),
    "offer_resize_disk": (
        {"instance_uuid": UUID, "kept": f"/var/lib/i/{UUID}_resize"},
        DiskOffer(url="http://192.0.2.7:40123/disk", token="t", size=4096, sha256="a" * 64),
    ),
    "confirm_resize": ({"kept": f"/var/lib/i/{UUID}_resize"}, None),
    "resize_kept_dir": ({"instance_uuid": UUID}, f"/var/lib/i/{UUID}_resize"),
    "get_domain_xml": ({"instance_uuid": UUID}, "<domain type='kvm'/>"),
    "get_console_output": ({"instance_uuid": UUID, "length": 5}, "login:\n"),
    "refresh_ports": (
        {
            "vifs": [
                GuestVif(
                    port_id=UUID,
                    network_id=OTHER,
                    mac_address="fa:16:3e:00:00:01",
                    network_type="vxlan",
                    segmentation_id=7,
                    vxlan_peers=["192.0.2.7"],
                )
            ]
        },
        None,
    ),
    "list_instance_uuids": ({}, [UUID, OTHER]),
    "set_admin_password": ({"instance_uuid": UUID, "password": "s3cret!"}, None),
    "get_console": (
        {"instance_uuid": UUID, "kind": "serial"},
        ConsoleEndpoint(kind="serial", host="192.0.2.5", port=40001, secret="ab" * 16),
    ),
    "check_can_live_migrate_destination": (
        {"data": migrate_data(), "block_migration": "auto"},
        migrate_data(),
    ),
    "check_can_live_migrate_source": ({"data": migrate_data()}, migrate_data()),
    "create_shared_storage_test_file": ({}, ".vf-shared-test-abc"),
    "check_shared_storage_test_file": ({"name": ".vf-shared-test-abc"}, True),
    "cleanup_shared_storage_test_file": ({"name": ".vf-shared-test-abc"}, None),
    "instance_on_disk": ({"instance_uuid": UUID}, True),
    "claim_live_migration_mdevs": (
        {"data": migrate_data(), "allocations": {"gpu0": {"VGPU": 1}}},
        migrate_data(),
    ),
    "release_live_migration_mdevs": ({"data": migrate_data()}, None),
    "pre_live_migration": ({"data": migrate_data()}, migrate_data()),
    "live_migrate": ({"data": migrate_data()}, None),
    "live_migration_progress": (
        {"instance_uuid": UUID},
        MigrationProgress(memory_total=100, memory_processed=40, memory_remaining=60),
    ),
    "live_migration_abort": ({"instance_uuid": UUID}, None),
    "live_migration_force_complete": ({"instance_uuid": UUID}, None),
    "post_live_migration_at_destination": ({"data": migrate_data()}, "running"),
    "rollback_live_migration_at_destination": ({"data": migrate_data()}, None),
    "post_live_migration_at_source": ({"data": migrate_data()}, None),
    "live_migration_whereabouts": (
        {"instance_uuid": UUID},
        GuestWhereabouts(state="paused", job_active=True),
    ),
    "live_migration_instance_dir": ({"instance_uuid": UUID}, "/var/lib/virtfleet/x"),
}

CONDUCTOR_CALLS: dict[str, tuple[dict[str, Any], Any]] = {
    "report_host": (
        {"report": host_report()},
        HostReportReceipt(uuid=UUID, providers=[UUID], warnings=["trait X unknown"]),
    ),
    "orphan_domains": (
        {"host": "kvm-1", "instance_uuids": [UUID]},
        [OrphanDomain(uuid=UUID, reason="elsewhere", recorded_host="kvm-2")],
    ),
    "live_migrations_ended": ({"migration_uuids": [UUID, OTHER]}, [OTHER]),
    "evacuated_guests": (
        {"host": "kvm-1"},
        [EvacuatedGuest(migration_uuid=OTHER, instance_uuid=UUID, dest_host="kvm-2")],
    ),
    "evacuated_guests_removed": ({"host": "kvm-1", "migration_uuids": [OTHER]}, [OTHER]),
    "guests_on_host": ({"host": "kvm-1", "instance_uuids": [UUID, OTHER]}, None),
    "host_ports": (
        {"host": "kvm-1"},
        [
            GuestVif(
                port_id=OTHER,
                network_id=OTHER,
                mac_address="fa:16:3e:00:00:02",
                network_type="flat",
                physical_network="ext",
                fixed_ips=["192.0.2.20"],
                instance_uuid=UUID,
            )
        ],
    ),
    "instance_power_state_changed": (
        {"host": "kvm-1", "instance_uuid": UUID, "state": "shutoff"},
        None,
    ),
}


class Recorder:
    """An endpoint answering every method with ``answer``, recording what came."""

    def __init__(self, answer: object) -> None:
        self.answer = answer
        self.received: list[tuple[str, dict[str, object]]] = []
        self.done = threading.Event()

    def __getattr__(self, name: str) -> Callable[..., object]:
        if name.startswith("_"):
            raise AttributeError(name)

        def method(**kwargs: object) -> object:
            self.received.append((name, kwargs))
            self.done.set()
            return self.answer

        return method


def assert_same_on_both_sides(sent: object, received: object) -> None:
    """Equal, of the same type, and a copy (the wire made it, not a shared reference)."""
    assert type(received) is type(sent)
    assert received == sent
    if sent is not None and not isinstance(sent, bool | str | int):
        assert received is not sent


def test_every_call_has_a_round_trip_case() -> None:
    assert set(COMPUTE_CALLS) == set(calls_of(ComputeClient))
    assert set(CONDUCTOR_CALLS) == set(calls_of(ConductorClient))


@pytest.mark.parametrize("name", sorted(COMPUTE_CALLS))
def test_compute_call_round_trips(name: str) -> None:
    args, answer = COMPUTE_CALLS[name]
    transport, endpoint = LocalTransport(), Recorder(answer)
    transport.serve(COMPUTE_TOPIC, "kvm-1", endpoint)
    try:
        result = getattr(ComputeClient(transport), name)("kvm-1", **args)
    finally:
        transport.close()
    [(method, received)] = endpoint.received
    assert method == name and received.keys() == args.keys()
    for key, value in args.items():
        assert_same_on_both_sides(value, received[key])
    assert_same_on_both_sides(answer, result)


@pytest.mark.parametrize("name", sorted(CONDUCTOR_CALLS))
def test_conductor_call_round_trips(name: str) -> None:
    args, answer = CONDUCTOR_CALLS[name]
    transport, endpoint = LocalTransport(), Recorder(answer)
    transport.serve(CONDUCTOR_TOPIC, CONDUCTOR_SERVER, endpoint)
    try:
        result = getattr(ConductorClient(transport), name)(**args)
        assert endpoint.done.wait(5)  # a cast arrives on the transport's pool
    finally:
        transport.close()
    [(method, received)] = endpoint.received
    assert method == name and received.keys() == args.keys()
    for key, value in args.items():
        assert_same_on_both_sides(value, received[key])
    assert_same_on_both_sides(answer, result)


@pytest.mark.parametrize(
    ("name", "args", "wrong"),
    [
        ("get_power_state", {"instance_uuid": UUID}, 1),
        ("live_migration_progress", {"instance_uuid": UUID}, {"memory_total": 1}),
        ("list_instance_uuids", {}, [UUID, 3]),
        ("pre_live_migration", {"data": migrate_data()}, None),
    ],
)
def test_a_reply_of_the_wrong_type_is_an_rpc_error(name: str, args: Any, wrong: object) -> None:
    transport = LocalTransport()
    transport.serve(COMPUTE_TOPIC, "kvm-1", Recorder(wrong))
    try:
        with pytest.raises(errors.RPCError, match=f"^{name} answered a "):
            getattr(ComputeClient(transport), name)("kvm-1", **args)
    finally:
        transport.close()


def test_with_timeout_keeps_the_transport_and_changes_the_wait() -> None:
    seen: list[object] = []

    class Spy(LocalTransport):
        def call(self, *args: Any, **kwargs: Any) -> Any:
            seen.append(args[3])
            return super().call(*args, **kwargs)

    transport = Spy()
    transport.serve(COMPUTE_TOPIC, "kvm-1", Recorder("running"))
    try:
        client = ComputeClient(transport, timeout=5)
        client.get_power_state("kvm-1", UUID)
        client.with_timeout(900).get_power_state("kvm-1", UUID)
    finally:
        transport.close()
    assert seen == [5, 900]


def test_rescue_sends_a_rescue_device_only_when_set() -> None:
    """1.14: a stable device rescue carries its RescueDevice; without one the call is
    1.12's (an agent that predates 1.14 serves it)."""
    spec = instance_spec()
    image = ImageData(image_id=OTHER, size=4096, disk_format="qcow2")
    transport, endpoint = LocalTransport(), Recorder(None)
    transport.serve(COMPUTE_TOPIC, "kvm-1", endpoint)
    try:
        client = ComputeClient(transport)
        client.rescue("kvm-1", spec, image, RescueDevice(device="floppy", bus="fdc"))
        client.rescue("kvm-1", spec, image)
    finally:
        transport.close()
    [(_, stable), (_, older)] = endpoint.received
    assert (stable["rescue_device"].device, stable["rescue_device"].bus) == ("floppy", "fdc")
    assert set(older) == {"instance", "rescue_image"}


def test_the_1_13_arguments_go_only_when_asked_for() -> None:
    """spawn's disk_in_place and destroy's keep_files (1.13) are sent only when true, so
    a call without them reaches an agent older than 1.13 as before."""
    transport, endpoint = LocalTransport(), Recorder(None)
    transport.serve(COMPUTE_TOPIC, "kvm-1", endpoint)
    client = ComputeClient(transport)
    try:
        client.spawn("kvm-1", instance_spec())
        client.spawn("kvm-1", instance_spec(), disk_in_place=True)
        client.destroy("kvm-1", UUID)
        client.destroy("kvm-1", UUID, keep_files=True)
    finally:
        transport.close()
    sent = [(name, sorted(kwargs)) for name, kwargs in endpoint.received]
    assert sent == [
        ("spawn", ["instance"]),
        ("spawn", ["disk_in_place", "instance"]),
        ("destroy", ["instance_uuid", "shutdown_timeout"]),
        ("destroy", ["instance_uuid", "keep_files", "shutdown_timeout"]),
    ]
