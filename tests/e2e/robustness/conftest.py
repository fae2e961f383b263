from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.fuzz_cloud import FuzzCloud, start


@pytest.fixture(scope="package")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzCloud]:
    """One embedded cloud for the whole directory (starting one takes ~1 s)."""
    fuzz = start(tmp_path_factory.mktemp("robustness"))
    try:
        yield fuzz
    finally:
        fuzz.embedded.stop()
