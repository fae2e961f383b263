"""Instance actions and their events as the workflows record them: each step's start
and end, a failed step marking its action, the newest action found again."""

from __future__ import annotations

import pathlib

import pytest

from support.databases import sqlite_database
from virtfleet.db import instance_actions as actions
from virtfleet.db.engine import Database


@pytest.fixture
def db(tmp_path: pathlib.Path) -> Database:
    return sqlite_database(tmp_path / "actions.sqlite")


def test_a_step_is_recorded_from_start_to_success(db: Database) -> None:
    action = actions.start(db, "srv-1", "create", "req-1", "user", "project")
    event_id = actions.event_start(db, action.id, "compute__do_build_and_run_instance", None)
    actions.event_finish(db, event_id, actions.SUCCESS, host="node-1")
    found = actions.get(db, "srv-1", "req-1")
    assert found.message is None
    assert found.updated_at >= action.updated_at
    [event] = found.events
    assert (event.event, event.result, event.host, event.details) == (
        "compute__do_build_and_run_instance",
        actions.SUCCESS,
        "node-1",
        None,
    )
    assert event.finish_time is not None and event.finish_time >= event.start_time


def test_a_failed_step_marks_its_action_error(db: Database) -> None:
    action = actions.start(db, "srv-1", "create", "req-1")
    first = actions.event_start(db, action.id, "schedule", "node-1")
    actions.event_finish(db, first, actions.SUCCESS)
    second = actions.event_start(db, action.id, "spawn", "node-1")
    actions.event_finish(db, second, actions.ERROR, "disk full")
    found = actions.get(db, "srv-1", "req-1")
    assert found.message == actions.ERROR
    results = {e.event: (e.result, e.details, e.host) for e in found.events}
    assert results == {
        "schedule": (actions.SUCCESS, None, "node-1"),  # the host given at start stays
        "spawn": (actions.ERROR, "disk full", "node-1"),
    }


def test_finishing_an_unknown_event_changes_nothing(db: Database) -> None:
    action = actions.start(db, "srv-1", "create", "req-1")
    actions.event_finish(db, 12345, actions.ERROR, "lost")
    found = actions.get(db, "srv-1", "req-1")
    assert (found.message, found.events, found.updated_at) == (None, (), action.updated_at)


def test_latest_is_the_newest_action_of_that_kind(db: Database) -> None:
    assert actions.latest(db, "srv-1", "reboot") is None
    actions.start(db, "srv-1", "reboot", "req-1")
    actions.start(db, "srv-1", "stop", "req-2")
    newest = actions.start(db, "srv-1", "reboot", "req-3")
    found = actions.latest(db, "srv-1", "reboot")
    assert found is not None
    assert (found.id, found.request_id, found.action) == (newest.id, "req-3", "reboot")
    assert actions.latest(db, "srv-2", "reboot") is None
