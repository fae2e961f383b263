"""The ``GET /allocation_candidates`` requests the benchmark times (one row each).

Every shape is asked without ``limit`` and with :data:`LIMIT`; the query strings are
exactly what both engines receive (microversion :data:`MICROVERSION`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from virtfleet.bench.fleet import SLICE_1, SLICE_4, SLICE_8, VGPU_TYPES

MICROVERSION = "1.39"
LIMIT = 1000  # what virtfleet's scheduler (and Nova) ask for by default
FLAVOR = "VCPU:2,MEMORY_MB:4096,DISK_GB:20"


@dataclass(frozen=True)
class Shape:
    name: str
    description: str
    params: Sequence[tuple[str, str]]

    def query(self, limit: int | None = None) -> str:
        params = list(self.params)
        if limit is not None:
            params.append(("limit", str(limit)))
        return "/allocation_candidates?" + urlencode(params, safe=":,!")


def _granular_slices(big: str, middle: Sequence[str], ones: int) -> list[tuple[str, str]]:
    """The spec's explicit form: the big slice plus every slice below it, one group
    each, all in the big slice's subtree, each on its own provider."""
    groups = [("_SLICE", big), *((f"_MID{i}", rc) for i, rc in enumerate(middle))]
    groups += [(f"_GPU{i}", SLICE_1) for i in range(ones)]
    params = [(f"resources{suffix}", f"{rc}:1") for suffix, rc in groups]
    if len(groups) > 1:
        params.append(("same_subtree", ",".join(suffix for suffix, _ in groups)))
    params.append(("group_policy", "isolate"))
    return params


SHAPES: tuple[Shape, ...] = (
    Shape(
        "plain_x86",
        "flavor 2 VCPU/4 GB/20 GB on an x86_64 host",
        [("resources", FLAVOR), ("root_required", "HW_ARCH_X86_64")],
    ),
    Shape(
        "emulated_aarch64",
        "the same flavor, aarch64 guest (host emulates it)",
        [("resources", FLAVOR), ("root_required", "COMPUTE_ARCH_AARCH64")],
    ),
    Shape(
        "maxphysaddr",
        "the same flavor, hw:maxphysaddr_mode=emulate",
        [("resources", FLAVOR), ("root_required", "COMPUTE_ADDRESS_SPACE_EMULATED")],
    ),
    Shape("slice1", "1-GPU slice, virtfleet's one-slice form", [("resources", f"{SLICE_1}:1")]),
    Shape("slice4", "4-GPU slice, virtfleet's one-slice form", [("resources", f"{SLICE_4}:1")]),
    Shape("slice8", "8-GPU slice, virtfleet's one-slice form", [("resources", f"{SLICE_8}:1")]),
    Shape(
        "slice1_granular",
        "1-GPU slice, the spec's explicit form (one granular group)",
        _granular_slices(SLICE_1, (), 0),
    ),
    Shape(
        "slice4_granular",
        "4-GPU slice, explicit: SLICE_4 + 4 x SLICE_1, same_subtree, isolate",
        _granular_slices(SLICE_4, (), 4),
    ),
    Shape(
        "slice8_granular",
        "8-GPU slice, explicit: SLICE_8 + 2 x SLICE_4 + 8 x SLICE_1, same_subtree, isolate",
        _granular_slices(SLICE_8, (SLICE_4, SLICE_4), 8),
    ),
    Shape(
        "vgpu",
        "the flavor plus one vGPU of a given type from a GPU child",
        [
            ("resources", FLAVOR),
            ("resources_VGPU", "VGPU:1"),
            ("required_VGPU", VGPU_TYPES[0]),
        ],
    ),
)


@dataclass(frozen=True)
class Row:
    """One measured request: a shape with or without the limit."""

    shape: Shape
    limit: int | None

    @property
    def name(self) -> str:
        return self.shape.name if self.limit is None else f"{self.shape.name} limit={self.limit}"

    @property
    def path(self) -> str:
        return self.shape.query(self.limit)


def rows(shapes: Sequence[Shape] = SHAPES, limit: int = LIMIT) -> list[Row]:
    """Each shape without and then with ``limit``."""
    return [Row(shape, lim) for shape in shapes for lim in (None, limit)]
