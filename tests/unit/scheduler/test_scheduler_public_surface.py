"""The package's curated public surface."""

from __future__ import annotations

import virtfleet.scheduler as scheduler

EXPECTED = {
    "FILTERS",
    "PREFILTERS",
    "WEIGHERS",
    "Exclusion",
    "Explanation",
    "FlavorSpec",
    "RequestSpec",
    "Scheduler",
    "Selection",
    "Status",
    "build_query",
}


def test_all_is_the_documented_surface_and_resolves() -> None:
    assert set(scheduler.__all__) == EXPECTED
    for name in scheduler.__all__:
        assert getattr(scheduler, name) is not None, name
        assert name in (scheduler.__doc__ or ""), f"{name} is not documented"


def test_registries_name_their_stages() -> None:
    assert list(scheduler.PREFILTERS) == [
        "image_metadata",
        "maxphysaddr",
        "availability_zone",
        "tenant_aggregates",
        "isolated_aggregates",
    ]
    assert list(scheduler.FILTERS) == [
        "host_state",
        "ignore_hosts",
        "requested_host",
        "arch",
        "maxphysaddr",
        "server_group_anti_affinity",
        "server_group_affinity",
        "same_host",
        "different_host",
    ]
    assert set(scheduler.WEIGHERS) == {
        "native_arch",
        "ram",
        "vcpu",
        "soft_affinity",
        "soft_anti_affinity",
    }
    for registry in (scheduler.PREFILTERS, scheduler.FILTERS, scheduler.WEIGHERS):
        for name, stage in registry.items():
            assert stage.name == name
