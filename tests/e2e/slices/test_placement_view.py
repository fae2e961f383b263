"""What an operator sees of slices through the Placement API with the real ``openstack``
CLI (osc-placement): the slice providers of a host, each slice's usage and the guest
whose allocation holds it; a slice whose own unit is unused but with a slice in use
below it is blocked. ``virtfleet slices show`` tells the same states."""

from __future__ import annotations

import pathlib
from typing import Any

from click.testing import CliRunner

from support.openstack_cli import CLI
from support.slice_cloud import HOST, SLICE_1, SLICE_4, SliceCloud, root_uuid
from virtfleet.cli import clouds
from virtfleet.cli.slices import slices

SLICES = ["8", "4-0", "4-1", *(f"1-{i}" for i in range(8))]


def states_from_placement(
    tree: list[dict[str, Any]], usages: dict[str, int], holders: dict[str, set[str]]
) -> dict[str, tuple[str, set[str]]]:
    """Slice name -> (used | blocked | free, consumers), from what the CLI printed:
    used when its own unit is allocated, blocked when a provider below it is."""
    parent = {p["uuid"]: p["parent_provider_uuid"] for p in tree}
    names = {p["uuid"]: p["name"].removeprefix(f"{HOST}_") for p in tree}
    below: dict[str, set[str]] = {u: set() for u in parent}
    for uuid in parent:
        up = parent[uuid]
        while up is not None:
            below[up].add(uuid)
            up = parent[up]
    states = {}
    for uuid, name in names.items():
        if parent[uuid] is None:
            continue  # the compute node
        if usages[uuid]:
            states[name] = ("used", holders[uuid])
        elif any(usages[u] for u in below[uuid]):
            states[name] = ("blocked", set().union(*(holders[u] for u in below[uuid])))
        else:
            states[name] = ("free", set())
    return states


def test_the_placement_api_shows_used_blocked_and_free_slices(
    cloud: SliceCloud, endpoint: str, tmp_path: pathlib.Path
) -> None:
    alpha = cloud.boot({f"resources:{SLICE_1}": "1"}, "alpha")
    beta = cloud.boot({f"resources:{SLICE_4}": "1"}, "beta")
    clouds_yaml = tmp_path / "clouds.yaml"
    clouds.write_entry(clouds_yaml, clouds.noauth_entry(endpoint))
    cli = CLI(clouds_yaml, [])

    tree = cli.json("resource", "provider", "list", "--in-tree", root_uuid())
    slice_uuids = [p["uuid"] for p in tree if p["parent_provider_uuid"] is not None]
    assert len(slice_uuids) == len(SLICES)
    documents, stderr = cli.session(
        *(f"resource provider usage show {u} -f json" for u in slice_uuids),
        *(f"resource provider show --allocations {u} -f json" for u in slice_uuids),
        f"resource provider allocation show {alpha.uuid} -f json",
        "allocation candidate list --resource CUSTOM_SLICE_8=1 -f json",
    )
    assert len(documents) == 2 * len(slice_uuids) + 2, stderr
    usage_rows, shown = documents[: len(slice_uuids)], documents[len(slice_uuids) : -2]
    pairs = zip(slice_uuids, usage_rows, strict=True)
    usages = {u: sum(r["usage"] for r in rows) for u, rows in pairs}
    holders = {p["uuid"]: set(p["allocations"]) for p in shown}
    usages[root_uuid()] = 0
    holders[root_uuid()] = set()
    states = states_from_placement(tree, usages, holders)

    a, b = {alpha.uuid}, {beta.uuid}
    assert states == {
        "slice-8": ("blocked", a | b),
        "slice-4-0": ("blocked", a),
        "slice-1-0": ("used", a),
        **{f"slice-1-{i}": ("free", set()) for i in (1, 2, 3)},
        "slice-4-1": ("used", b),
        **{f"slice-1-{i}": ("used", b) for i in (4, 5, 6, 7)},
    }
    # a guest's own allocation names its slice provider
    alpha_rows = documents[-2]
    assert [r["resource_provider"] for r in alpha_rows] == [
        next(p["uuid"] for p in tree if p["name"] == f"{HOST}_slice-1-0")
    ]
    # placement's raw candidates still list the blocked 8-slice (its own unit is free);
    # the scheduler drops it, and slices show marks it blocked
    candidates = documents[-1]
    assert [c["resource provider"] for c in candidates] == [
        next(p["uuid"] for p in tree if p["name"] == f"{HOST}_slice-8")
    ]

    shown_states = CliRunner().invoke(slices, ["show", "--endpoint", endpoint, HOST])
    assert shown_states.exit_code == 0, shown_states.output
    by_cli = {
        line.split()[0]: line.split(": ", 1)[1].split()[0]
        for line in shown_states.output.splitlines()
    }
    assert {name: state for name, (state, _) in states.items()} == {
        name: "used" if state == "taken" else state for name, state in by_cli.items()
    }
