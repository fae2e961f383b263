"""Host-set comparison: the helpers, and virtfleet's answers on a small fleet checked
against host sets worked out from the fleet data alone."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pytest
from webob import Request

from virtfleet.api.placement import make_app
from virtfleet.bench import compare, shapes
from virtfleet.bench.compare import Answer, allocation_keys, hosts_of, verdict
from virtfleet.bench.fleet import SLICE_1, SLICE_4, VGPU_TYPES, Fleet, HostSpec
from virtfleet.placement.service import PlacementService

ROOT_A, ROOT_B, CHILD = "root-a", "root-b", "child-b"
BODY = {
    "allocation_requests": [
        {"allocations": {ROOT_A: {"resources": {"VCPU": 2}}}},
        {"allocations": {CHILD: {"resources": {"VGPU": 1}}, ROOT_B: {"resources": {"VCPU": 2}}}},
    ],
    "provider_summaries": {
        ROOT_A: {"root_provider_uuid": ROOT_A},
        ROOT_B: {"root_provider_uuid": ROOT_B},
        CHILD: {"root_provider_uuid": ROOT_B},
    },
}


def test_hosts_are_the_roots_of_the_providers_used() -> None:
    assert hosts_of(BODY) == {ROOT_A, ROOT_B}


def test_allocation_requests_compare_as_sets_of_provider_class_amount() -> None:
    assert allocation_keys(BODY) == {
        frozenset({(ROOT_A, "VCPU", 2)}),
        frozenset({(CHILD, "VGPU", 1), (ROOT_B, "VCPU", 2)}),
    }


def _answer(hosts: set[str], complete: bool = True, allocs: int = 0) -> Answer:
    keys = frozenset(frozenset({(h, "VCPU", allocs)}) for h in hosts)
    return Answer(frozenset(hosts), keys, complete)


@pytest.mark.parametrize(
    ("ours", "theirs", "expected"),
    [
        (_answer({"a", "b"}), _answer({"a", "b"}), "same 2 hosts, same allocations"),
        (_answer({"a", "b"}), _answer({"a", "b"}, allocs=1), "same 2 hosts, allocations differ"),
        (
            _answer({"a", "b"}),
            _answer({"a"}),
            "DIFFERENT hosts: 1 only virtfleet, 0 only Placement",
        ),
        (
            _answer({"a"}, complete=False),
            _answer({"a", "b"}),
            "partial answer, no complete answer to check it against",
        ),
        (_answer({"a"}), None, "no answer from Placement"),
    ],
)
def test_verdicts(ours: Answer, theirs: Answer | None, expected: str) -> None:
    assert verdict(ours, theirs) == expected


@pytest.mark.parametrize(
    ("ours", "theirs", "expected"),
    [
        ({"a"}, {"b"}, "partial answer; every host in it is one both engines found"),
        ({"a"}, {"c"}, "DIFFERENT hosts: 1 hosts of a partial answer the other engine rejects"),
        ({"x"}, {"b"}, "DIFFERENT hosts: 1 hosts of a partial answer the other engine rejects"),
    ],
)
def test_partial_answers_are_checked_against_the_other_engines_full_answer(
    ours: set[str], theirs: set[str], expected: str
) -> None:
    full = _answer({"a", "b"})
    partial_ours, partial_theirs = _answer(ours, False), _answer(theirs, False)
    assert verdict(partial_ours, partial_theirs, full, full) == expected


# -- virtfleet on the 100-host fleet against host sets computed from the fleet data ----


def _free(fleet: Fleet) -> dict[tuple[str, str], int]:
    free = {
        (p.uuid, rc): inv.capacity for p in fleet.providers() for rc, inv in p.inventories.items()
    }
    for consumer in fleet.consumers():
        for rp, resources in consumer.allocations.items():
            for rc, amount in resources.items():
                free[(rp, rc)] -= amount
    return free


FLAVOR = {"VCPU": 2, "MEMORY_MB": 4096, "DISK_GB": 20}


def _flavor_fits(host: HostSpec, free: dict[tuple[str, str], int]) -> bool:
    return all(free.get((host.uuid, rc), 0) >= n for rc, n in FLAVOR.items())


def _plain_x86(host: HostSpec, free: dict[tuple[str, str], int]) -> bool:
    return "HW_ARCH_X86_64" in host.providers[0].traits and _flavor_fits(host, free)


def _slice4_granular(host: HostSpec, free: dict[tuple[str, str], int]) -> bool:
    children: dict[str, list[str]] = defaultdict(list)
    for p in host.providers:
        if p.parent_uuid:
            children[p.parent_uuid].append(p.uuid)
    return any(
        free[(p.uuid, SLICE_4)] == 1 and all(free[(c, SLICE_1)] == 1 for c in children[p.uuid])
        for p in host.providers
        if SLICE_4 in p.inventories
    )


def _vgpu(host: HostSpec, free: dict[tuple[str, str], int]) -> bool:
    gpus = [p for p in host.providers if VGPU_TYPES[0] in p.traits]
    return _flavor_fits(host, free) and any(free[(g.uuid, "VGPU")] >= 1 for g in gpus)


EXPECTED = {"plain_x86": _plain_x86, "slice4_granular": _slice4_granular, "vgpu": _vgpu}


def _get(service: PlacementService, path: str) -> dict[str, Any]:
    request = Request.blank(path, headers={"OpenStack-API-Version": "placement 1.39"})
    response = request.get_response(make_app(service))
    assert response.status_int == 200, response.text
    body: dict[str, Any] = json.loads(response.body)
    return body


@pytest.mark.parametrize("shape_name", sorted(EXPECTED))
def test_virtfleet_finds_exactly_the_hosts_the_fleet_data_allows(
    loaded: PlacementService, fleet100: Fleet, shape_name: str
) -> None:
    shape = next(s for s in shapes.SHAPES if s.name == shape_name)
    free = _free(fleet100)
    expected = {h.uuid for h in fleet100.hosts if EXPECTED[shape_name](h, free)}
    assert expected, "the fleet should offer some hosts for every shape"

    body = _get(loaded, shape.query())
    assert hosts_of(body) == expected
    mine = Answer.of(body, complete=True)
    assert compare.verdict(mine, Answer(frozenset(expected), mine.allocations, True)).startswith(
        f"same {len(expected)} hosts"
    )
    one_less = Answer(frozenset(sorted(expected)[1:]), mine.allocations, True)
    assert compare.verdict(mine, one_less).startswith("DIFFERENT hosts: 1 only virtfleet")
