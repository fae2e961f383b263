"""The end-to-end benchmark's bookkeeping: rows, CPU per request, targets, and the
options the one agent process of a distributed setup runs with."""

from __future__ import annotations

import pathlib
import time

import pytest
from oslo_config import cfg

from virtfleet.bench import boots, clouds


def phase(done: int, seconds: float, cpu: float | None) -> boots.Phase:
    return boots.Phase(
        requests=done, accepted=done, rejected={}, done=done, failed=0, seconds=seconds,
        per_second=round(done / seconds, 1), p50_ms=10.0, p99_ms=20.0, cpu_seconds=cpu,
    )  # fmt: skip


def result(servers: int, per_second_boots: float) -> boots.Result:
    return boots.Result(
        setup="embedded (SQLite)" if not servers else f"{servers} server(s) (PostgreSQL)",
        servers=servers, hosts=100, concurrency=32,
        boots=phase(300, 300 / per_second_boots, 30.0), deletes=phase(300, 10, None),
        load_before=(1.0, 1.0, 1.0), load_after=(2.0, 1.0, 1.0),
    )  # fmt: skip


def test_cpu_per_request_is_the_clouds_cpu_over_the_requests_that_ended() -> None:
    assert phase(300, 10, 30.0).cpu_ms_per_request == 100.0
    assert phase(300, 10, None).cpu_ms_per_request is None
    assert phase(0, 10, 3.0).cpu_ms_per_request is None
    assert result(0, 30).as_dict()["boots"]["cpu_ms_per_request"] == 100.0


def test_the_table_and_the_targets_name_each_setup() -> None:
    results = [result(0, 30), result(1, 10), result(3, 27)]
    table = boots.table(results)
    assert "| embedded (SQLite) | 100 | 32 | boot → ACTIVE | 300 / 300 | 0 | 0 |" in table
    assert "| 100.0 | 1.0 → 2.0" in table  # CPU ms per boot, then the load
    lines = boots.against_targets(results)
    assert "embedded: 30.0 boots/s to ACTIVE (target >= 300)" in lines
    assert any(line.startswith("3 servers: 27.0 boots/s = 2.70x") for line in lines)


def test_the_agent_process_runs_few_rpc_threads_per_host(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "agent.conf"
    path.write_text(clouds.agent_config_text(tmp_path / "agents"))
    conf = cfg.ConfigOpts()
    conf.register_opt(cfg.IntOpt("executor_thread_pool_size"))
    conf.register_opt(cfg.IntOpt("heartbeat_timeout_threshold"), "oslo_messaging_rabbit")
    conf([], default_config_files=[str(path)])
    assert conf.executor_thread_pool_size == clouds.AGENT_RPC_THREADS
    assert conf.oslo_messaging_rabbit.heartbeat_timeout_threshold == 0


def test_the_start_bound_grows_with_the_hosts() -> None:
    assert clouds.start_timeout(0) == clouds.START_SECONDS
    assert clouds.start_timeout(100) == clouds.START_SECONDS + 100 * clouds.START_SECONDS_PER_HOST
    assert clouds.start_timeout(1000) > clouds.start_timeout(100) >= 300


def test_a_cloud_not_up_says_how_many_hosts_each_server_lists(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cloud = clouds.RunningCloud(["http://127.0.0.1:1", "http://127.0.0.1:2"])
    monkeypatch.setattr(clouds, "_hosts_up", lambda endpoint: 100 if endpoint.endswith("1") else 37)
    with pytest.raises(RuntimeError, match=r"hosts up per server: \[100, 37\] of 100"):
        clouds._wait_ready(cloud, 100, time.monotonic() + 1.2)
