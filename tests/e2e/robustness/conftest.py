from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.clouds import sim_cloud
from support.fuzz_cloud import RECIPE, FuzzCloud, seed


@pytest.fixture(scope="package")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzCloud]:
    """One embedded cloud for the whole directory (starting one takes ~1 s)."""
    with sim_cloud(tmp_path_factory.mktemp("robustness"), RECIPE, FuzzCloud) as fuzz:
        seed(fuzz)
        yield fuzz
