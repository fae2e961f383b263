"""The curated public names of the agent and conductor packages."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize(
    ("package", "names"),
    [
        (
            "virtfleet.agent",
            {
                "COMPUTE_TOPIC",
                "CONDUCTOR_SERVER",
                "CONDUCTOR_TOPIC",
                "ComputeAgent",
                "ComputeClient",
                "ConductorClient",
                "build_report",
            },
        ),
        ("virtfleet.conductor", {"Conductor", "HostReporter", "ReportOutcome"}),
        (
            "virtfleet.conductor.moves",
            {
                "ColdMigrationFlow",
                "ColdMoves",
                "LiveMigrationFlow",
                "LiveMigrations",
                "MigrationPlacement",
                "MigrationScheduler",
                "Move",
                "MoveFlow",
                "Services",
                "run_move",
            },
        ),
    ],
)
def test_all_is_exactly_the_public_surface(package: str, names: set[str]) -> None:
    module = importlib.import_module(package)
    assert set(module.__all__) == names
    for name in names:
        assert getattr(module, name) is not None
