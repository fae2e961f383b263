"""The curated public surface of virtfleet.placement."""

from __future__ import annotations

import virtfleet.placement as placement


def test_all_names_exist_and_are_listed_once() -> None:
    assert len(placement.__all__) == len(set(placement.__all__))
    for name in placement.__all__:
        assert getattr(placement, name) is not None
    assert sorted(placement.__all__) == placement.__all__
