"""Fixtures of distributed mode: the broker (skipped, saying why, when there is none
outside CI) and a deployment whose daemons are killed after the test."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest

from support.distributed import BROKER_URL, Deployment, broker_problem, in_ci


@pytest.fixture
def broker_url() -> str:
    problem = broker_problem()
    if problem is not None:
        if in_ci():
            pytest.fail(f"CI=true but {problem}")
        pytest.skip(problem)
    return BROKER_URL


@pytest.fixture
def deployment(tmp_path: pathlib.Path, broker_url: str) -> Iterator[Deployment]:
    dep = Deployment(tmp_path, broker_url)
    yield dep
    for daemon in dep.daemons:
        daemon.kill()
        print(f"===== {daemon.log.name}\n{daemon.output()}")  # shown when the test fails
