"""Request ids (OpenStack's form, bound per context) and the log formats."""

from __future__ import annotations

import contextvars
import io
import json
import logging
import threading
import uuid

import pytest

from virtfleet.observability import logs, request_id


def test_new_ids_have_openstacks_form_and_differ() -> None:
    first, second = request_id.new(), request_id.new()
    assert request_id.is_valid(first) and request_id.is_valid(second)
    assert first != second


#: Fixed uuids in test ids: every pytest-xdist worker must collect the same tests.
FIXED, OTHER = "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b", "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "req-",
        "abc",
        f"{FIXED}",  # no prefix
        f"req-{FIXED}x",
        f"REQ-{FIXED}",
        f"req-{FIXED.upper()}",
        f"req-{FIXED}\nreq-{OTHER}",  # header smuggling
        None,
        42,
    ],
)
def test_malformed_ids_are_not_valid(value: object) -> None:
    assert not request_id.is_valid(value)


def test_bound_sets_and_restores_and_none_keeps_the_current() -> None:
    assert request_id.current() is None
    with request_id.bound("req-1"):
        assert request_id.current() == "req-1"
        with request_id.bound(None):
            assert request_id.current() == "req-1"
        with request_id.bound("req-2"):
            assert request_id.current() == "req-2"
        assert request_id.current() == "req-1"
    assert request_id.current() is None


def test_a_thread_sees_the_id_only_through_a_copied_context() -> None:
    seen: dict[str, str | None] = {}
    with request_id.bound("req-x"):
        plain = threading.Thread(target=lambda: seen.update(plain=request_id.current()))
        context = contextvars.copy_context()
        copied = threading.Thread(
            target=lambda: context.run(lambda: seen.update(copied=request_id.current()))
        )
    for thread in (plain, copied):
        thread.start()
        thread.join()
    assert seen == {"plain": None, "copied": "req-x"}


def _capture(log_format: str) -> tuple[logging.Logger, io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(logs.RequestIdFilter())
    handler.setFormatter(
        logs.JsonFormatter() if log_format == "json" else logging.Formatter(logs.TEXT_FORMAT)
    )
    logger = logging.getLogger(f"test.logs.{uuid.uuid4().hex}")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger, out


def test_text_lines_carry_the_request_id_or_a_dash() -> None:
    logger, out = _capture("text")
    logger.info("outside")
    with request_id.bound("req-abc"):
        logger.info("inside %s", "a request")
    first, second = out.getvalue().splitlines()
    assert first.endswith(" [-] outside")
    assert second.endswith(" [req-abc] inside a request")


def test_json_lines_are_one_object_each_with_the_request_id_and_traceback() -> None:
    logger, out = _capture("json")
    with request_id.bound("req-abc"):
        logger.info('quote " and\nnewline')
        try:
            raise KeyError("boom")
        except KeyError:
            logger.exception("failed")
    lines = out.getvalue().splitlines()
    assert len(lines) == 2  # the newline of the message stays inside the JSON string
    first, second = (json.loads(line) for line in lines)
    assert first["message"] == 'quote " and\nnewline'
    assert first["request_id"] == second["request_id"] == "req-abc"
    assert first["level"] == "INFO" and second["level"] == "ERROR"
    assert first["logger"].startswith("test.logs.")
    assert "KeyError: 'boom'" in second["traceback"]
    assert "traceback" not in first
    assert first["time"].endswith("+00:00")


def test_configure_and_set_format_switch_the_root_handler() -> None:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        logs.configure(logging.INFO)
        (handler,) = root.handlers
        assert not isinstance(handler.formatter, logs.JsonFormatter)
        logs.set_format("json")
        assert isinstance(handler.formatter, logs.JsonFormatter)
        with pytest.raises(ValueError, match="one of text, json, got 'xml'"):
            logs.set_format("xml")
        with pytest.raises(ValueError, match="got 'yaml'"):
            logs.configure(logging.INFO, "yaml")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
