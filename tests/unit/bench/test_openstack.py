"""Side by side with real OpenStack Placement (slow: installs it from PyPI once).

Skips with the reason when Placement cannot be installed (e.g. PyPI unreachable).
The cache directory is ``$VIRTFLEET_BENCH_CACHE`` or the benchmark's default.
"""

from __future__ import annotations

import os
import pathlib

import pytest

from virtfleet.bench import openstack, runner, shapes
from virtfleet.bench.fleet import generate

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def placement_python() -> pathlib.Path:
    cache = os.environ.get("VIRTFLEET_BENCH_CACHE")
    try:
        return openstack.ensure_venv(
            pathlib.Path(cache) if cache else openstack.default_cache_dir()
        )
    except openstack.PlacementUnavailableError as exc:
        pytest.skip(f"OpenStack Placement unavailable: {exc}")


def test_bulk_sql_load_equals_loading_through_placements_api(
    placement_python: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    fleet = generate(10, seed=2)
    bulk, api = tmp_path / "bulk.sqlite", tmp_path / "api.sqlite"
    openstack.load(placement_python, bulk, fleet)
    openstack.load(placement_python, api, fleet, through_api=True)
    assert openstack.compare_databases(placement_python, bulk, api) == {
        "same": True,
        "differences": {},
    }


def test_both_engines_find_the_same_hosts(
    placement_python: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    wanted = {"plain_x86", "slice4", "slice4_granular", "vgpu"}
    options = runner.Options(
        sizes=[50],
        repeat=1,
        boots=1,
        concurrency=(1,),
        shapes=[s for s in shapes.SHAPES if s.name in wanted],
        compare_openstack=True,
        cache_dir=placement_python.parent.parent.parent,
        workdir=tmp_path,
    )
    (run,) = runner.run(options)
    assert run.openstack is not None
    for name, verdict in run.verdicts.items():
        if "limit" in name:
            assert "same" in verdict or "contains" in verdict, (name, verdict)
        else:
            assert verdict.startswith("same ") and "same allocations" in verdict, (name, verdict)
