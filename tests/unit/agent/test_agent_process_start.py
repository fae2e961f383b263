"""An agent process with many hosts starts them side by side: each host's build and
first report no longer waits for every host before it; a host whose report finds no
server retries alone; a host that fails stops the start and everything started."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from virtfleet import agent_process, errors
from virtfleet.agent_process import AgentProcess, AgentTarget
from virtfleet.conf import make_conf


class FakeAgent:
    def __init__(self, name: str, behaviour: Any) -> None:
        self.name = name
        self.behaviour = behaviour
        self.started = False
        self.stopped = False

    def start(self) -> None:
        self.behaviour(self)
        self.started = True

    def stop(self) -> None:
        self.stopped = True


class FakeTransport:
    closed = False

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Patches out the broker, the metrics listener and build_agent; ``behaviour``
    (set by the test) runs in each agent's start()."""
    state: dict[str, Any] = {"agents": [], "behaviour": lambda agent: None}
    state["transport"] = FakeTransport()
    monkeypatch.setattr(agent_process, "check_transport_url", lambda url: None)
    monkeypatch.setattr(agent_process, "open_transport", lambda url, conf: state["transport"])
    monkeypatch.setattr(agent_process, "unauthenticated_listener", lambda conf: None)
    monkeypatch.setattr(agent_process, "FIRST_REPORT_RETRY", 0.01)

    def build(name: str, *args: Any, **kwargs: Any) -> FakeAgent:
        agent = FakeAgent(name, state["behaviour"])
        state["agents"].append(agent)
        return agent

    monkeypatch.setattr(agent_process, "build_agent", build)
    return state


def _process(hosts: int) -> AgentProcess:
    targets = [AgentTarget(f"node-{i}", f"sim://node-{i}") for i in range(hosts)]
    return AgentProcess(make_conf((), ()), (), targets)


def test_hosts_report_side_by_side_and_keep_their_order(built: dict[str, Any]) -> None:
    """Each first report waits until START_THREADS reports are in flight at once:
    started one after another, the first would wait forever (bounded here)."""
    together = threading.Barrier(agent_process.START_THREADS, timeout=10)
    built["behaviour"] = lambda agent: together.wait()
    process = _process(agent_process.START_THREADS * 2)
    assert process.start() is True
    assert [a.name for a in process.agents] == [t.name for t in process.targets]
    assert all(a.started for a in process.agents)  # type: ignore[attr-defined]
    process.stop()


def test_a_report_no_server_took_is_retried(built: dict[str, Any]) -> None:
    tries: dict[str, int] = {}
    lock = threading.Lock()

    def flaky(agent: FakeAgent) -> None:
        with lock:
            tries[agent.name] = tries.get(agent.name, 0) + 1
            if agent.name == "node-2" and tries[agent.name] < 3:
                raise errors.RPCError("conductor.conductor did not answer report_host in time")

    built["behaviour"] = flaky
    process = _process(5)
    assert process.start() is True
    assert tries == {"node-0": 1, "node-1": 1, "node-2": 3, "node-3": 1, "node-4": 1}
    process.stop()


def test_a_failing_host_stops_the_start_and_every_agent(built: dict[str, Any]) -> None:
    def broken(agent: FakeAgent) -> None:
        if agent.name == "node-3":
            raise errors.ConfigError("node-3: bad fleet entry")
        if agent.name == "node-5":  # would retry forever: the failure must end it
            raise errors.RPCError("no server")

    built["behaviour"] = broken
    process = _process(8)
    with pytest.raises(errors.ConfigError, match="node-3"):
        process.start()
    assert process.agents == []
    assert built["agents"] and all(a.stopped for a in built["agents"])
    assert built["transport"].closed


def test_stopping_before_the_servers_answer_returns_false(built: dict[str, Any]) -> None:
    stopping = threading.Event()

    def unanswered(agent: FakeAgent) -> None:
        stopping.set()
        raise errors.RPCError("no server")

    built["behaviour"] = unanswered
    process = _process(3)
    assert process.start(stopping) is False
    process.stop()
