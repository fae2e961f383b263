"""A live migration of a vGPU guest that fails at each step of the move leaves
nothing behind: no allocation of the migration, no mdev claim, no domain or files on
the destination; the guest runs on where it was, and the record says why.

Failures are injected where the conductor reaches an agent (the typed client), or in
the scheduler's claim; the agents and placement are the harness cloud's."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tests.e2e.vgpu.test_migration import VGPU_FLAVOR, vgpu_used

from support.migrate_helpers import migrate
from support.vgpu_cloud import make_vgpu_cloud
from virtfleet import errors
from virtfleet.agent.rpcapi import ComputeClient
from virtfleet.conductor.moves import claim
from virtfleet.db import mdev_claims, servers
from virtfleet.db.engine import Database


@pytest.fixture
def cloud(tmp_path: pathlib.Path, db: Database) -> Iterator[Any]:
    built = make_vgpu_cloud(tmp_path, db)
    yield built
    built.stop()


def refuse(message: str) -> Callable[..., Any]:
    """A client method that fails before reaching the agent."""

    def failing(self: ComputeClient, host: str, *args: Any, **kwargs: Any) -> Any:
        raise errors.InvalidInput(f"{message} on {host}")

    return failing


def fail_after(method: str, message: str) -> Callable[..., Any]:
    """A client method whose agent did the work, but whose answer is an error."""
    real = getattr(ComputeClient, method)

    def failing(self: ComputeClient, host: str, *args: Any, **kwargs: Any) -> Any:
        real(self, host, *args, **kwargs)
        raise errors.HypervisorError(f"{message} on {host}")

    return failing


def lose_claim(placement: Any, server: Any, migration: Any, selection: Any) -> Any:
    raise errors.Conflict("injected: a concurrent boot took it")


#: step -> (class or module to patch, its method, the replacement, the record's status, words of
#: the reason); the transfer fails in the simulated hypervisor instead.
FAILURES: dict[str, tuple[Any, str, Callable[..., Any], str, str]] = {
    "destination check": (
        ComputeClient,
        "check_can_live_migrate_destination",
        refuse("injected: destination check refused"),
        "error",
        "injected: destination check refused on {dest}",
    ),
    "source check": (
        ComputeClient,
        "check_can_live_migrate_source",
        refuse("injected: source check refused"),
        "error",
        "{dest}: injected: source check refused on {source}",
    ),
    "mdev claim": (
        ComputeClient,
        "claim_live_migration_mdevs",
        refuse("injected: no mdev"),
        "error",
        "{dest}: injected: no mdev on {dest}",
    ),
    "placement claim": (
        claim,
        "claim",
        lose_claim,
        "error",
        "{dest}: lost the claim to a concurrent request",
    ),
    "prepare": (
        ComputeClient,
        "pre_live_migration",
        fail_after("pre_live_migration", "injected: prepare failed"),
        "failed",
        "injected: prepare failed on {dest}",
    ),
}
STEPS = [*FAILURES, "transfer"]


def boot_vgpu_guest(cloud: Any) -> tuple[servers.Server, str, str]:
    """A vGPU guest; returns it, its host and the other vGPU host."""
    server = cloud.boot(**VGPU_FLAVOR)
    assert server.host is not None
    return server, server.host, "vgpu-2" if server.host == "vgpu-1" else "vgpu-1"


def held(cloud: Any, consumer: str) -> dict[str, dict[str, int]]:
    """Provider -> resources the consumer holds."""
    found = cloud.placement.get_consumer_allocations(consumer).allocations
    return {rp: dict(a.resources) for rp, a in found.items()}


@pytest.mark.parametrize("step", STEPS)
def test_a_failure_at_each_step_leaves_nothing_behind(
    cloud: Any, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    server, source, dest = boot_vgpu_guest(cloud)
    before = held(cloud, server.uuid)
    if step == "transfer":
        cloud.hypervisor(source).inject_migration_failure("perform")
        status, reason = "failed", ""
    else:
        owner, method, replacement, status, reason = FAILURES[step]
        monkeypatch.setattr(owner, method, replacement)

    ended = migrate(cloud, server.uuid, dest)

    assert ended.status == status, ended
    assert ended.error and reason.format(source=source, dest=dest) in ended.error, ended.error
    kept = servers.get(cloud.db, server.uuid)
    assert (kept.host, kept.vm_state, kept.task_state) == (source, "active", None)
    assert held(cloud, server.uuid) == before
    assert cloud.placement.get_consumer_allocations(ended.uuid).allocations == {}
    assert mdev_claims.list_claims(cloud.db) == []
    assert (vgpu_used(cloud, source), vgpu_used(cloud, dest)) == (1, 0)
    assert cloud.domains(dest) == [] and server.uuid in cloud.domains(source)
    assert not os.path.exists(cloud.drivers[dest].instance_dir(server.uuid))


def test_a_transfer_whose_answer_is_lost_completes_when_the_guest_arrived(
    cloud: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, source, dest = boot_vgpu_guest(cloud)
    monkeypatch.setattr(
        ComputeClient, "live_migrate", fail_after("live_migrate", "injected: reply lost")
    )
    ended = migrate(cloud, server.uuid, dest)
    assert ended.status == "completed", ended
    moved = servers.get(cloud.db, server.uuid)
    assert (moved.host, moved.task_state) == (dest, None)
    assert cloud.placement.get_consumer_allocations(ended.uuid).allocations == {}
    assert (vgpu_used(cloud, source), vgpu_used(cloud, dest)) == (0, 1)
    assert mdev_claims.list_claims(cloud.db) == []
    assert cloud.domains(source) == [] and cloud.domains(dest) == [server.uuid]
