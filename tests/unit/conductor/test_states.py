"""Pure state rules: driver power words, lifecycle events, retries, fault texts."""

from __future__ import annotations

import pytest

from virtfleet.servers import states as st
from virtfleet.servers.states import PowerState


@pytest.mark.parametrize(
    ("word", "power"),
    [
        ("running", 1),
        ("RUNNING", 1),
        ("paused", 3),
        ("shutoff", 4),
        ("shutdown", 4),
        ("crashed", 6),
        ("pmsuspended", 7),
        ("nostate", 0),
        ("bogus", 0),
    ],
)
def test_power_state_of_driver_words(word: str, power: int) -> None:
    assert st.power_state_of(word) == power


@pytest.mark.parametrize(
    ("vm_state", "task_state", "power", "expected"),
    [
        ("active", None, PowerState.SHUTDOWN, {"power_state": 4, "vm_state": "stopped"}),
        ("active", None, PowerState.CRASHED, {"power_state": 6, "vm_state": "stopped"}),
        ("active", None, PowerState.RUNNING, {"power_state": 1}),
        ("stopped", None, PowerState.RUNNING, {"power_state": 1, "vm_state": "active"}),
        ("stopped", None, PowerState.SHUTDOWN, {"power_state": 4}),
        # a running task decides the final state itself
        ("active", "powering-off", PowerState.SHUTDOWN, {"power_state": 4}),
        ("active", "rebooting_hard", PowerState.SHUTDOWN, {"power_state": 4}),
        ("building", "spawning", PowerState.RUNNING, {"power_state": 1}),
        ("error", None, PowerState.SHUTDOWN, {"power_state": 4}),
    ],
)
def test_after_power_event(
    vm_state: str, task_state: str | None, power: PowerState, expected: dict[str, object]
) -> None:
    assert st.after_power_event(vm_state, task_state, power) == expected


def test_power_actions_table() -> None:
    assert st.POWER_ACTIONS["power_off"] == st.PowerAction("stop", "stop_done", 4)
    assert st.POWER_ACTIONS["power_on"] == st.PowerAction("start", "start_done", 1)
    hard, soft = st.POWER_ACTIONS["reboot_hard"], st.POWER_ACTIONS["reboot_soft"]
    assert st.TRANSITIONS[hard.begin].task_state == "rebooting_hard"
    assert st.TRANSITIONS[soft.begin].task_state == "rebooting"
    assert st.TRANSITIONS["stop_done"].vm_state == "stopped"


@pytest.mark.parametrize(
    ("made", "limit", "retry"), [(1, 3, True), (2, 3, True), (3, 3, False), (1, 1, False)]
)
def test_should_retry_build(made: int, limit: int, retry: bool) -> None:
    assert st.should_retry_build(made, limit) is retry


def test_failure_message_prefers_the_hypervisor() -> None:
    assert st.build_failure_message([], "No valid host for 8 VCPU") == "No valid host for 8 VCPU"
    assert st.build_failure_message([], None) == "No valid host was found."
    one = st.build_failure_message([("a", "unsupported configuration: X")], "ignored")
    assert one == "Build failed on host a: unsupported configuration: X"
    two = st.build_failure_message([("a", "boom"), ("b", "bang")], None)
    assert two == "Build failed on 2 hosts (a, b); last error on b: bang"


def test_failure_details_list_every_host() -> None:
    details = st.build_failure_details([("a", "boom"), ("b", "bang")], "no more hosts")
    assert details.splitlines() == ["a: boom", "b: bang", "no further host: no more hosts"]
    assert st.build_failure_details([], "x") == ""


@pytest.mark.parametrize(
    ("vm_state", "task_state", "action"),
    [
        ("building", "scheduling", "fail_build"),
        ("building", "spawning", "fail_build"),
        ("building", None, None),
        ("active", None, None),
        ("active", "deleting", "delete"),
        ("error", "deleting", "delete"),
        ("building", "deleting", "delete"),
        ("active", "powering-off", "clear_task"),
        ("stopped", "powering-on", "clear_task"),
        ("active", "rebooting_hard", "clear_task"),
        ("active", "something-new", "clear_task"),
    ],
)
def test_stuck_task_recovery(vm_state: str, task_state: str | None, action: str | None) -> None:
    assert st.stuck_task_recovery(vm_state, task_state) == action
