"""Slices against the real PlacementService: a claim takes the slice and every slice
below it, so overlapping slices (ancestors and descendants) cannot be claimed."""

from __future__ import annotations

import uuid as uuid_lib

import pytest

from virtfleet import errors
from virtfleet.placement.service import PlacementService
from virtfleet.scheduler.manager import Scheduler
from virtfleet.scheduler.resource_request import RequestSpec

from .scheduler_fleet import BootFactory, Fleet, uid


class SliceHost:
    """A host carved into one 8-slice, two 4-slices below it and four 1-slices below
    each 4-slice (the root reports no VCPU/MEMORY_MB/DISK_GB)."""

    def __init__(self, fleet: Fleet, name: str = "gpu") -> None:
        self.root = fleet.add(name, vcpus=0, memory_mb=0, disk_gb=0)
        self.s8 = self._slice(fleet, name, "s8", 8, self.root)
        self.s4 = [self._slice(fleet, name, f"s4-{i}", 4, self.s8) for i in range(2)]
        self.s1 = [
            [self._slice(fleet, name, f"s1-{i}-{j}", 1, parent) for j in range(4)]
            for i, parent in enumerate(self.s4)
        ]

    @staticmethod
    def _slice(fleet: Fleet, host: str, name: str, gpus: int, parent: str) -> str:
        uuid = str(uuid_lib.uuid5(uuid_lib.NAMESPACE_OID, f"{host}-{name}"))
        fleet.provider(uuid, f"{host}_{name}", {f"CUSTOM_SLICE_{gpus}": 1}, parent_uuid=parent)
        return uuid


def slice_boot(boot: BootFactory, instance: str, gpus: int, **extra_specs: str) -> RequestSpec:
    specs = extra_specs or {f"resources:CUSTOM_SLICE_{gpus}": "1"}
    return boot(instance, vcpus=0, memory_mb=0, root_gb=0, extra_specs=specs)


def claimed(placement: PlacementService, instance: str) -> dict[str, dict[str, int]]:
    allocations = placement.get_consumer_allocations(uid(instance)).allocations
    return {rp: dict(a.resources) for rp, a in allocations.items()}


def test_one_slice_takes_only_itself(
    fleet: Fleet, placement: PlacementService, scheduler: Scheduler, boot: BootFactory
) -> None:
    host = SliceHost(fleet)
    scheduler.schedule_and_claim(slice_boot(boot, "vm-1", 1))
    [(rp, resources)] = claimed(placement, "vm-1").items()
    assert rp in host.s1[0] + host.s1[1]
    assert resources == {"CUSTOM_SLICE_1": 1}


def test_four_slice_takes_its_one_slices(
    fleet: Fleet, placement: PlacementService, scheduler: Scheduler, boot: BootFactory
) -> None:
    host = SliceHost(fleet)
    scheduler.schedule_and_claim(slice_boot(boot, "vm-1", 4))
    allocation = claimed(placement, "vm-1")
    [s4] = [rp for rp in allocation if rp in host.s4]
    below = host.s1[host.s4.index(s4)]
    assert allocation == {s4: {"CUSTOM_SLICE_4": 1}} | {rp: {"CUSTOM_SLICE_1": 1} for rp in below}


def test_used_one_slice_blocks_its_ancestors(
    fleet: Fleet, placement: PlacementService, scheduler: Scheduler, boot: BootFactory
) -> None:
    host = SliceHost(fleet)
    first = scheduler.schedule_and_claim(slice_boot(boot, "vm-1", 1))
    [used] = first.allocation_request
    used_branch = 0 if used in host.s1[0] else 1
    # the 4-slice above the used 1-slice overlaps it: the other 4-slice is taken
    scheduler.schedule_and_claim(slice_boot(boot, "vm-2", 4))
    assert host.s4[1 - used_branch] in claimed(placement, "vm-2")
    # the 8-slice overlaps both: no valid host, and the explanation says why
    with pytest.raises(errors.NoValidHost) as info:
        scheduler.schedule_and_claim(slice_boot(boot, "vm-3", 8))
    assert (
        "1 of 1 hosts offer only CUSTOM_SLICE_8 slices that overlap a slice in use"
        in info.value.message
    )
    assert claimed(placement, "vm-3") == {}


def test_eight_slice_takes_everything_until_unclaimed(
    fleet: Fleet, placement: PlacementService, scheduler: Scheduler, boot: BootFactory
) -> None:
    host = SliceHost(fleet)
    scheduler.schedule_and_claim(slice_boot(boot, "vm-8", 8))
    assert len(claimed(placement, "vm-8")) == 11
    with pytest.raises(errors.NoValidHost, match=r"1 of 1 hosts lack capacity \(CUSTOM_SLICE_1\)"):
        scheduler.schedule_and_claim(slice_boot(boot, "vm-1", 1))
    scheduler.unclaim(uid("vm-8"))
    selection = scheduler.schedule_and_claim(slice_boot(boot, "vm-1", 1))
    assert selection.compute_node_uuid == host.root


def test_explicit_form_gives_the_same_allocation(
    fleet: Fleet, placement: PlacementService, scheduler: Scheduler, boot: BootFactory
) -> None:
    host = SliceHost(fleet)
    explicit = {"resources1:CUSTOM_SLICE_4": "1", "group_policy": "isolate"}
    explicit |= {f"resources{n}:CUSTOM_SLICE_1": "1" for n in range(2, 6)}
    explicit["same_subtree"] = "1,2,3,4,5"
    scheduler.schedule_and_claim(slice_boot(boot, "vm-explicit", 4, **explicit))
    allocation = claimed(placement, "vm-explicit")
    [s4] = [rp for rp in allocation if rp in host.s4]
    below = host.s1[host.s4.index(s4)]
    assert allocation == {s4: {"CUSTOM_SLICE_4": 1}} | {rp: {"CUSTOM_SLICE_1": 1} for rp in below}


def test_slices_pack_into_the_most_used_branch(
    fleet: Fleet, placement: PlacementService, scheduler: Scheduler, boot: BootFactory
) -> None:
    host = SliceHost(fleet)
    # another guest holds the last 1-slice of the second branch; placement lists the
    # first branch first, packing prefers the branch already in use
    fleet.use(host.s1[1][3], "other", CUSTOM_SLICE_1=1)
    for i in range(3):
        selection = scheduler.schedule_and_claim(slice_boot(boot, f"vm-{i}", 1))
        [taken] = selection.allocation_request
        assert taken in host.s1[1], "a 1-slice under the already used 4-slice comes first"
    # the first 4-slice stayed whole for a 4-slice guest
    scheduler.schedule_and_claim(slice_boot(boot, "vm-4gpu", 4))
    assert host.s4[0] in claimed(placement, "vm-4gpu")


def test_unnamed_explicit_form_gives_the_same_allocation(
    fleet: Fleet, placement: PlacementService, scheduler: Scheduler, boot: BootFactory
) -> None:
    host = SliceHost(fleet)
    explicit = {"resources:CUSTOM_SLICE_4": "1", "resources:CUSTOM_SLICE_1": "4"}
    scheduler.schedule_and_claim(slice_boot(boot, "vm-explicit", 4, **explicit))
    allocation = claimed(placement, "vm-explicit")
    [s4] = [rp for rp in allocation if rp in host.s4]
    below = host.s1[host.s4.index(s4)]
    assert allocation == {s4: {"CUSTOM_SLICE_4": 1}} | {rp: {"CUSTOM_SLICE_1": 1} for rp in below}


def test_unnamed_explicit_form_with_a_wrong_count_fits_nothing(
    fleet: Fleet, scheduler: Scheduler, boot: BootFactory
) -> None:
    SliceHost(fleet)
    wrong = {"resources:CUSTOM_SLICE_4": "1", "resources:CUSTOM_SLICE_1": "3"}
    with pytest.raises(errors.NoValidHost):
        scheduler.schedule_and_claim(slice_boot(boot, "vm-wrong", 4, **wrong))
