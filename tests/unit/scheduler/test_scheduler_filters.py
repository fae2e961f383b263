"""Each filter passes or rejects a host, and a rejection says why."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import pytest

from support.guest import guest_request
from virtfleet.db.hosts import HostRecord
from virtfleet.scheduler import filters
from virtfleet.scheduler.resource_request import FlavorSpec, RequestSpec

X86_CPU: dict[str, Any] = {
    "arch": "x86_64",
    "native_arches": ["x86_64", "i686"],
    "emulated_arches": ["aarch64", "riscv64"],
    "maxphysaddr_bits": 46,
    "machine_types": {
        "x86_64": ["pc", "q35", "pc-q35-8.2"],
        "i686": ["pc", "q35"],
        "aarch64": ["virt", "virt-8.2"],
        "riscv64": ["sifive_u"],
    },
}


def host(name: str = "h1", **changes: Any) -> HostRecord:
    record = HostRecord(
        id=1,
        uuid=f"uuid-{name}",
        host=name,
        hypervisor_type="QEMU",
        hypervisor_version=8002000,
        hypervisor_hostname=name,
        vcpus=16,
        memory_mb=65536,
        local_gb=500,
        cpu_info=X86_CPU,
        state="up",
        status="enabled",
        updated_at=datetime.datetime.now(datetime.UTC),
    )
    return dataclasses.replace(record, **changes)


def request(image: dict[str, object] | None = None, **kwargs: Any) -> RequestSpec:
    extra_specs = kwargs.pop("extra_specs", {})
    return RequestSpec(
        "inst",
        "proj",
        "user",
        FlavorSpec(vcpus=1, memory_mb=1024, extra_specs=extra_specs),
        image_properties=image or {},
        guest=guest_request(image, extra_specs),
        **kwargs,
    )


def verdict(filter_name: str, spec: RequestSpec, record: HostRecord) -> filters.Status:
    check = filters.FILTERS[filter_name].prepare(spec)
    assert check is not None, f"{filter_name} should apply to this request"
    return check(record)


def test_host_state_passes_up_and_enabled() -> None:
    assert verdict("host_state", request(), host()) == filters.PASS


@pytest.mark.parametrize(
    ("changes", "reason"),
    [({"state": "down"}, "are down"), ({"status": "disabled"}, "are disabled")],
)
def test_host_state_rejects_down_or_disabled(changes: dict[str, str], reason: str) -> None:
    assert verdict("host_state", request(), host(**changes)) == filters.Status(False, reason)


def test_ignore_hosts() -> None:
    spec = request(ignore_hosts=frozenset({"src"}))
    assert verdict("ignore_hosts", spec, host("src")).reason == "are excluded by the request"
    assert verdict("ignore_hosts", spec, host("dst")).ok
    assert filters.FILTERS["ignore_hosts"].prepare(request()) is None


def test_requested_host() -> None:
    spec = request(requested_host="h7")
    assert verdict("requested_host", spec, host("h7")).ok
    status = verdict("requested_host", spec, host("h1"))
    assert status == filters.Status(False, "are not the requested host h7")
    assert filters.FILTERS["requested_host"].prepare(request()) is None


@pytest.mark.parametrize(
    "image",
    [
        {"hw_architecture": "x86_64"},
        {"hw_architecture": "i386"},
        {"hw_emulation_architecture": "aarch64"},
        {"hw_emulation_architecture": "arm64", "hw_machine_type": "virt"},
        {"hw_emulation_architecture": "riscv64", "hw_machine_type": "sifive_u"},
        {"hw_machine_type": "q35"},
    ],
)
def test_arch_filter_passes_runnable_guests(image: dict[str, object]) -> None:
    assert verdict("arch", request(image), host()).ok


@pytest.mark.parametrize(
    ("image", "reason"),
    [
        ({"hw_emulation_architecture": "s390x"}, "cannot run s390x guests"),
        ({"hw_architecture": "ppc64le"}, "cannot run ppc64le guests"),
        (
            {"hw_emulation_architecture": "aarch64", "hw_machine_type": "q35"},
            "do not offer machine type q35 for aarch64 (valid: virt, virt-8.2)",
        ),
        (
            {"hw_machine_type": "virt"},
            "do not offer machine type virt for x86_64 (valid: pc, q35, pc-q35-8.2)",
        ),
        # no hw_machine_type: the arch's default (virt) must be offered
        (
            {"hw_emulation_architecture": "riscv64"},
            "do not offer machine type virt for riscv64 (valid: sifive_u)",
        ),
    ],
)
def test_arch_filter_rejects_with_reason(image: dict[str, object], reason: str) -> None:
    assert verdict("arch", request(image), host()) == filters.Status(False, reason)


def test_arch_filter_does_not_apply_without_arch_or_machine() -> None:
    assert filters.FILTERS["arch"].prepare(request({"os_distro": "debian"})) is None


EMULATE_48 = {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "48"}


@pytest.mark.parametrize(("bits", "ok"), [(48, True), (52, True), (46, False)])
def test_maxphysaddr_filter_compares_bits(bits: int, ok: bool) -> None:
    cpu = {**X86_CPU, "maxphysaddr_bits": bits}
    status = verdict("maxphysaddr", request(extra_specs=EMULATE_48), host(cpu_info=cpu))
    assert status.ok is ok
    if not ok:
        assert status.reason == "have fewer than 48 physical address bits"


def test_maxphysaddr_filter_rejects_host_without_bits() -> None:
    cpu = {**X86_CPU, "maxphysaddr_bits": None}
    status = verdict("maxphysaddr", request(extra_specs=EMULATE_48), host(cpu_info=cpu))
    assert status == filters.Status(False, "report no physical address bits")


def test_maxphysaddr_filter_ignores_passthrough_and_plain_requests() -> None:
    passthrough = request(extra_specs={"hw:maxphysaddr_mode": "passthrough"})
    assert filters.FILTERS["maxphysaddr"].prepare(passthrough) is None
    assert filters.FILTERS["maxphysaddr"].prepare(request()) is None


def test_first_rejection_names_the_filter() -> None:
    spec = request({"hw_emulation_architecture": "s390x"})
    checks = filters.prepare_checks(spec)
    assert filters.first_rejection(checks, host()) == (
        "arch",
        filters.Status(False, "cannot run s390x guests"),
    )
    down = filters.first_rejection(checks, host(state="down"))
    assert down is not None
    assert down[0] == "host_state"
    ok = {
        **X86_CPU,
        "emulated_arches": ["s390x"],
        "machine_types": {"s390x": ["s390-ccw-virtio"]},
    }
    assert filters.first_rejection(checks, host(cpu_info=ok)) is None


def test_verdicts_are_kept_per_record_and_request_and_redone_for_a_new_record(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    memo = filters.Verdicts()
    calls: list[str] = []
    real = filters.first_rejection

    def counting(checks: Any, record: HostRecord) -> Any:
        calls.append(record.host)
        return real(checks, record)

    monkeypatch.setattr(filters, "first_rejection", counting)
    up = host("h1")
    aarch64 = request({"hw_architecture": "aarch64"})
    assert memo.for_request(aarch64)(up) is None
    assert memo.for_request(request({"hw_architecture": "aarch64"}))(up) is None
    assert calls == ["h1"]  # same record, equal request: remembered
    down = dataclasses.replace(up, state="down")
    rejected = memo.for_request(aarch64)(down)
    assert rejected is not None and rejected[0] == "host_state"
    riscv = memo.for_request(request({"hw_architecture": "riscv64", "hw_machine_type": "x"}))
    rejected = riscv(up)
    assert rejected is not None and rejected[0] == "arch"
    assert calls == ["h1", "h1", "h1"]
