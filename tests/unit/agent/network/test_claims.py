"""Claims: one holder at a time, named in the refusal, gone with the holder's process."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import threading
import time

import pytest

from virtfleet import errors
from virtfleet.agent.network.claims import Claim, namespace_claim, state_directory_claim


def test_a_claim_excludes_a_second_one_until_released(tmp_path: pathlib.Path) -> None:
    first, second = Claim(tmp_path / "x.lock", "things x"), Claim(tmp_path / "x.lock", "things x")
    assert first.take() and first.held
    assert first.take()  # kept: taking again is a no-op
    assert not second.take() and not second.held
    with pytest.raises(errors.HypervisorError) as refused:
        second.require(wait=0.2)
    assert str(refused.value) == (
        f"things x are held by another virtfleet agent (pid {os.getpid()}, lock "
        f"{tmp_path / 'x.lock'}): give each agent on a machine its own network namespace "
        "and [network] state_directory"
    )
    first.release()
    assert not first.held
    second.require()
    assert second.held
    second.release()


def test_a_claim_waits_for_a_passing_holder(tmp_path: pathlib.Path) -> None:
    passing, waiting = Claim(tmp_path / "x.lock", "x"), Claim(tmp_path / "x.lock", "x")
    assert passing.take()
    letting_go = threading.Timer(0.3, passing.release)
    letting_go.start()
    started = time.monotonic()
    waiting.require(wait=10)
    assert waiting.held and 0.2 < time.monotonic() - started < 5
    letting_go.join()
    waiting.release()


def test_a_dead_holder_leaves_the_claim_free(tmp_path: pathlib.Path) -> None:
    lock = tmp_path / "held.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import pathlib, sys, time\n"
         "from virtfleet.agent.network.claims import Claim\n"
         f"assert Claim(pathlib.Path({str(lock)!r}), 'x').take()\n"
         "print('held', flush=True)\n"
         "time.sleep(60)\n"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        waiting = Claim(lock, "x")
        assert not waiting.take()
        assert waiting.holder() == f"pid {holder.pid}"
    finally:
        holder.kill()
        holder.wait(timeout=10)
    deadline = time.monotonic() + 10
    while not waiting.take():
        assert time.monotonic() < deadline, "the dead holder's lock was never freed"
        time.sleep(0.05)
    waiting.release()


def test_what_the_claims_cover(tmp_path: pathlib.Path) -> None:
    own = namespace_claim(None, tmp_path)
    inode = os.stat("/proc/self/ns/net").st_ino
    assert own.path == tmp_path / f"nftables-{inode}.lock"
    assert own.what == "the security-group rules of this agent's network namespace"
    directory = state_directory_claim(tmp_path / "network")
    assert directory.path == tmp_path / "network" / ".agent.lock"
    with pytest.raises(errors.HypervisorError, match="network namespace vf-none-such: No such"):
        namespace_claim("vf-none-such", tmp_path)
