"""When no slice can be given out, the reason names the slice class that was not
available: a host whose slices of that class all overlap a slice in use, a class with
no free slice, and for the spec's explicit form (chosen class + the classes below it)
free slices of the chosen class whose slices below are not the ones it lists."""

from __future__ import annotations

from support.slice_cloud import SLICE_1, SLICE_4, SLICE_8, SliceCloud
from virtfleet.scheduler.resource_request import FlavorSpec, RequestSpec

EXPLICIT_4 = {f"resources:{SLICE_4}": "1", f"resources:{SLICE_1}": "4"}
EXPLICIT_8 = {
    f"resources:{SLICE_8}": "1",
    f"resources:{SLICE_4}": "2",
    f"resources:{SLICE_1}": "8",
}


def refused(cloud: SliceCloud, specs: dict[str, str]) -> str:
    """Boot ``specs``: the fault message of the ERROR server, which holds nothing."""
    server = cloud.boot(specs)
    assert server.vm_state == "error", server.vm_state
    assert server.fault is not None
    assert cloud.taken(server.uuid) == set()
    return str(server.fault["message"])


def explain(cloud: SliceCloud, specs: dict[str, str]) -> tuple[int, str]:
    spec = RequestSpec("", "p", "u", FlavorSpec(vcpus=0, memory_mb=0, extra_specs=specs))
    explanation = cloud.scheduler.explain(spec)
    return explanation.fitting_hosts, explanation.message


def test_an_explicit_form_no_slice_has_names_the_chosen_class_and_shape(
    cloud: SliceCloud,
) -> None:
    """Every slice is free, but no 4-slice has three eighths below it."""
    message = refused(cloud, {f"resources:{SLICE_4}": "1", f"resources:{SLICE_1}": "3"})
    assert message == (
        f"No valid host for 3 {SLICE_1}, 1 {SLICE_4}: 1 of 1 hosts have no free "
        f"{SLICE_4} slice with exactly 3 {SLICE_1} below it"
    )
    assert cloud.used_slices() == set()


def test_an_explicit_form_whose_slices_are_blocked_says_so(cloud: SliceCloud) -> None:
    """A 1-GPU guest blocks half 0, a 4-GPU guest uses half 1: three eighths are still
    free, so the reason is the 4-slices' overlap, not a lack of CUSTOM_SLICE_1."""
    eighth = cloud.boot_slice(SLICE_1)
    half = cloud.boot_slice(SLICE_4)
    assert cloud.taken(eighth.uuid) == {"slice-1-0"}
    assert "slice-4-1" in cloud.taken(half.uuid)
    for specs, resource_class in ((EXPLICIT_4, SLICE_4), (EXPLICIT_8, SLICE_8)):
        message = refused(cloud, specs)
        assert message.endswith(
            f": 1 of 1 hosts offer only {resource_class} slices that overlap a slice in use"
        ), message
        assert "lack capacity" not in message
    assert explain(cloud, EXPLICIT_4) == (
        0,
        f"No valid host for 4 {SLICE_1}, 1 {SLICE_4}: 1 of 1 hosts offer only {SLICE_4} "
        "slices that overlap a slice in use",
    )


def test_an_explicit_form_whose_class_is_all_in_use_names_it(cloud: SliceCloud) -> None:
    halves = [cloud.boot_slice(SLICE_4) for _ in range(2)]
    assert all(h.vm_state == "active" for h in halves)
    assert refused(cloud, EXPLICIT_4) == (
        f"No valid host for 4 {SLICE_1}, 1 {SLICE_4}: 1 of 1 hosts lack capacity ({SLICE_4})"
    )


def test_an_explicit_form_that_fits_is_explained_without_exclusions(cloud: SliceCloud) -> None:
    """Before the fix the explanation counted the host under CUSTOM_SLICE_1, which no
    single provider has four of."""
    assert explain(cloud, EXPLICIT_4) == (1, f"1 of 1 hosts fit 4 {SLICE_1}, 1 {SLICE_4}")
    assert explain(cloud, {f"resources:{SLICE_4}": "1"}) == (1, f"1 of 1 hosts fit 1 {SLICE_4}")


def test_a_short_form_names_the_class_whose_slices_overlap(cloud: SliceCloud) -> None:
    cloud.boot_slice(SLICE_1)
    assert refused(cloud, {f"resources:{SLICE_8}": "1"}) == (
        f"No valid host for 1 {SLICE_8}: 1 of 1 hosts offer only {SLICE_8} slices that "
        "overlap a slice in use"
    )
