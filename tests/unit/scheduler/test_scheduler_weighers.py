"""Weighers in isolation: native beats emulated, spread vs pack, multipliers."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import pytest

from support.guest import guest_request
from virtfleet import errors
from virtfleet.conf import make_conf
from virtfleet.db.hosts import HostRecord
from virtfleet.placement.types import ResourceUsage
from virtfleet.scheduler import weighers
from virtfleet.scheduler.resource_request import FlavorSpec, RequestSpec

BASE = HostRecord(
    id=1,
    uuid="u",
    host="h",
    hypervisor_type="QEMU",
    hypervisor_version=1,
    hypervisor_hostname="h",
    vcpus=8,
    memory_mb=8192,
    local_gb=100,
    cpu_info={"arch": "x86_64", "native_arches": ["x86_64"], "emulated_arches": ["aarch64"]},
    state="up",
    status="enabled",
    updated_at=datetime.datetime.now(datetime.UTC),
)
ARM_CPU = {"arch": "aarch64", "native_arches": ["aarch64"], "emulated_arches": ["x86_64"]}


def candidate(name: str, free_ram: int, free_vcpu: int = 4, **host: Any) -> weighers.HostCandidate:
    record = dataclasses.replace(BASE, host=name, uuid=f"uuid-{name}", **host)
    usage = {
        "MEMORY_MB": ResourceUsage(capacity=free_ram + 100, used=100),
        "VCPU": ResourceUsage(capacity=free_vcpu, used=0),
    }
    return weighers.HostCandidate(record, ({},), usage)


def spec(image: dict[str, object] | None = None) -> RequestSpec:
    guest = guest_request(image)
    return RequestSpec("i", "p", "u", FlavorSpec(1, 512), image_properties=image or {}, guest=guest)


def order(ranked: list[tuple[float, weighers.HostCandidate]]) -> list[str]:
    return [c.host.host for _, c in ranked]


def test_spread_by_default_prefers_most_free_ram() -> None:
    factors = weighers.multipliers(make_conf())
    hosts = [candidate("small", 1000), candidate("big", 9000), candidate("mid", 5000)]
    assert order(weighers.weigh(spec(), hosts, factors)) == ["big", "mid", "small"]


def test_negative_ram_multiplier_packs() -> None:
    factors = weighers.multipliers(make_conf(scheduler__weights={"ram": "-1.0", "vcpu": "0"}))
    hosts = [candidate("small", 1000), candidate("big", 9000), candidate("mid", 5000)]
    assert order(weighers.weigh(spec(), hosts, factors)) == ["small", "mid", "big"]


def test_vcpu_weigher_breaks_ram_ties() -> None:
    factors = weighers.multipliers(make_conf())
    hosts = [candidate("few", 4096, free_vcpu=2), candidate("many", 4096, free_vcpu=30)]
    assert order(weighers.weigh(spec(), hosts, factors)) == ["many", "few"]


def test_native_host_beats_emulating_host_with_far_more_room() -> None:
    factors = weighers.multipliers(make_conf())
    emulating = candidate("x86-big", 500_000, free_vcpu=500)
    native = candidate("arm-small", 1024, free_vcpu=1, cpu_info=ARM_CPU)
    ranked = weighers.weigh(
        spec({"hw_emulation_architecture": "aarch64"}), [emulating, native], factors
    )
    assert order(ranked) == ["arm-small", "x86-big"]
    assert ranked[0][0] > ranked[1][0]


def test_native_weigher_silent_without_guest_arch() -> None:
    assert weighers.WEIGHERS["native_arch"].prepare(spec()) is None


def test_equal_hosts_rank_by_name() -> None:
    factors = weighers.multipliers(make_conf())
    hosts = [candidate("b", 100), candidate("a", 100)]
    ranked = weighers.weigh(spec(), hosts, factors)
    assert order(ranked) == ["a", "b"]
    assert [w for w, _ in ranked] == [0.0, 0.0]


@pytest.mark.parametrize(
    ("weights", "fragment"),
    [({"bogus": "1"}, "unknown weigher 'bogus'"), ({"ram": "lots"}, "not a number")],
)
def test_bad_weights_are_config_errors(weights: dict[str, str], fragment: str) -> None:
    with pytest.raises(errors.ConfigError, match=fragment):
        weighers.multipliers(make_conf(scheduler__weights=weights))
