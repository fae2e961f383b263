"""NoValidHost explanations name the missing trait, bits or resource, with counts."""

from __future__ import annotations

import pytest

from virtfleet import errors
from virtfleet.db import hosts as host_db
from virtfleet.db.engine import Database
from virtfleet.scheduler.manager import Scheduler
from virtfleet.scheduler.resource_request import RequestSpec

from .scheduler_fleet import BootFactory, Fleet, SchedulerFactory


def no_valid_host(scheduler: Scheduler, spec: RequestSpec) -> errors.NoValidHost:
    with pytest.raises(errors.NoValidHost) as info:
        scheduler.select_destinations(spec)
    return info.value


@pytest.fixture
def nine_hosts(fleet: Fleet) -> list[str]:
    """Nine x86 hosts; h7 and h8 have little memory."""
    return [
        fleet.add(f"h{i}", memory_mb=8192 if i >= 7 else 65536, emulates=["aarch64"])
        for i in range(9)
    ]


def test_missing_trait_and_capacity_with_counts(
    nine_hosts: list[str], scheduler: Scheduler, boot: BootFactory
) -> None:
    spec = boot(vcpus=8, memory_mb=16384, root_gb=20, image={"hw_emulation_architecture": "s390x"})
    error = no_valid_host(scheduler, spec)
    assert error.message == (
        "No valid host for 8 VCPU, 16384 MB RAM, 20 GB disk, requires COMPUTE_ARCH_S390X: "
        "0 of 9 hosts offer COMPUTE_ARCH_S390X; 2 of 9 hosts lack capacity (MEMORY_MB)"
    )
    assert error.reasons["MEMORY_MB"] == ["h7", "h8"]
    assert len(error.reasons["COMPUTE_ARCH_S390X"]) == 5  # a sample, not all nine


def test_capacity_counts_current_usage(
    fleet: Fleet, scheduler: Scheduler, boot: BootFactory
) -> None:
    a = fleet.add("a", vcpus=4)
    fleet.add("b", vcpus=2)
    fleet.use(a, "other", VCPU=2)
    error = no_valid_host(scheduler, boot(vcpus=4))
    assert "2 of 2 hosts lack capacity (VCPU)" in error.message
    assert "MEMORY_MB" not in error.message


def test_filter_rejections_are_counted_with_reasons(
    fleet: Fleet, db: Database, scheduler: Scheduler, boot: BootFactory
) -> None:
    for name in ("a", "b", "c"):
        fleet.add(name)
    host_db.mark_down(db, host="a")
    host_db.mark_down(db, host="b")
    host_db.set_status(db, "c", "disabled")
    error = no_valid_host(scheduler, boot())
    assert error.message == (
        "No valid host for 2 VCPU, 2048 MB RAM, 10 GB disk: "
        "2 of 3 hosts are down; 1 of 3 hosts are disabled"
    )
    assert error.reasons == {"host_state": ["a", "b", "c"]}


def test_maxphysaddr_bits_explained(fleet: Fleet, scheduler: Scheduler, boot: BootFactory) -> None:
    emulated = ["COMPUTE_ADDRESS_SPACE_EMULATED"]
    fleet.add("bits40", traits=emulated, cpu={"maxphysaddr_bits": 40})
    fleet.add("bits46", traits=emulated, cpu={"maxphysaddr_bits": 46})
    fleet.add("nobits", traits=emulated, cpu={"maxphysaddr_bits": None})
    fleet.add("notrait", cpu={"maxphysaddr_bits": 52})
    spec = boot(extra_specs={"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "48"})
    error = no_valid_host(scheduler, spec)
    assert "3 of 4 hosts offer COMPUTE_ADDRESS_SPACE_EMULATED" in error.message
    assert "2 of 4 hosts have fewer than 48 physical address bits" in error.message
    assert "1 of 4 hosts report no physical address bits" in error.message
    assert error.reasons["maxphysaddr"] == ["bits40", "bits46", "nobits"]
    assert error.reasons["COMPUTE_ADDRESS_SPACE_EMULATED"] == ["notrait"]


def test_each_constraint_alone_fits_but_not_together(
    fleet: Fleet, scheduler: Scheduler, boot: BootFactory
) -> None:
    fleet.add("roomy", memory_mb=131072, emulates=[])
    fleet.add("arm-capable", memory_mb=4096, emulates=["aarch64"])
    spec = boot(memory_mb=65536, image={"hw_emulation_architecture": "aarch64"})
    error = no_valid_host(scheduler, spec)
    assert "1 of 2 hosts lack capacity (MEMORY_MB)" in error.message
    assert "1 of 2 hosts offer COMPUTE_ARCH_AARCH64" in error.message


def test_isolate_policy_that_no_host_meets_is_explained(
    fleet: Fleet, scheduler: Scheduler, boot: BootFactory
) -> None:
    fleet.add("one-gpu-host", extra_inventory={"VGPU": 2})
    spec = boot(
        extra_specs={"resources1:VGPU": "1", "resources2:VGPU": "1", "group_policy": "isolate"}
    )
    error = no_valid_host(scheduler, spec)
    assert error.message.endswith(
        "1 of 1 hosts meet each constraint on its own, but none meets all of them together"
    )


def test_no_hosts_at_all(scheduler: Scheduler, boot: BootFactory) -> None:
    error = no_valid_host(scheduler, boot())
    assert error.message == (
        "No valid host for 2 VCPU, 2048 MB RAM, 10 GB disk: no compute hosts are known"
    )


def test_explain_when_hosts_fit(
    nine_hosts: list[str], scheduler: Scheduler, boot: BootFactory
) -> None:
    explanation = scheduler.explain(boot(memory_mb=16384))
    assert explanation.fitting_hosts == 7
    assert explanation.message == (
        "7 of 9 hosts fit 2 VCPU, 16384 MB RAM, 10 GB disk: 2 of 9 hosts lack capacity (MEMORY_MB)"
    )
    data = explanation.as_dict()
    assert data["total_hosts"] == 9
    assert data["exclusions"] == [
        {
            "kind": "resource",
            "constraint": "MEMORY_MB",
            "summary": "2 of 9 hosts lack capacity (MEMORY_MB)",
            "excluded": 2,
            "sample": ["h7", "h8"],
        }
    ]
    assert "- 2 of 9 hosts lack capacity (MEMORY_MB) (left out: h7, h8)" in explanation.details()


def test_forbidden_trait_explained(fleet: Fleet, scheduler: Scheduler, boot: BootFactory) -> None:
    fleet.add("tainted", traits=["CUSTOM_NOISY"])
    error = no_valid_host(scheduler, boot(extra_specs={"trait:CUSTOM_NOISY": "forbidden"}))
    assert "1 of 1 hosts have the forbidden trait CUSTOM_NOISY" in error.message
    assert error.reasons == {"CUSTOM_NOISY": ["tainted"]}


def test_granular_amount_is_judged_per_provider(
    fleet: Fleet, scheduler: Scheduler, boot: BootFactory
) -> None:
    root = fleet.add("two-small-gpus")
    for i in range(2):
        gpu = f"00000000-0000-4000-8000-00000000000{i}"
        fleet.provider(gpu, f"two-small-gpus_gpu{i}", {"VGPU": 1}, parent_uuid=root)
    error = no_valid_host(scheduler, boot(extra_specs={"resources1:VGPU": "2"}))
    assert "1 of 1 hosts lack capacity (VGPU)" in error.message
    # one unit from each GPU fits; summing the groups' VGPU into one query would not
    specs = {"resources1:VGPU": "1", "resources2:VGPU": "1", "group_policy": "isolate"}
    fits = scheduler.explain(boot(extra_specs=specs))
    assert fits.fitting_hosts == 1
    assert fits.exclusions == ()


def test_explain_counts_every_fitting_host_beyond_the_limit(
    nine_hosts: list[str], make_scheduler: SchedulerFactory, boot: BootFactory
) -> None:
    scheduler = make_scheduler(scheduler__max_placement_results=2)
    assert scheduler.explain(boot()).fitting_hosts == 9
