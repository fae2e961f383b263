"""What every answer to bad input must look like: below 500, and a 4xx carries the
API's own error body with a message (returned so a test can check what it names)."""

from __future__ import annotations

import json
import os
from typing import Any

from hypothesis import HealthCheck, settings

from support.fuzz_cloud import Reply

#: Deterministic and bounded: the directory stays well under a minute. A longer,
#: random hunt: ``VIRTFLEET_FUZZ_EXAMPLES=2000 VIRTFLEET_FUZZ_RANDOM=1 pytest tests/robustness``.
FUZZ = settings(
    max_examples=int(os.environ.get("VIRTFLEET_FUZZ_EXAMPLES", "60")),
    derandomize=not os.environ.get("VIRTFLEET_FUZZ_RANDOM"),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def api_of(path: str) -> str:
    return path.lstrip("/").split("/", 1)[0]


def error_message(reply: Reply, path: str) -> str | None:
    """None for a success; the message of a 4xx, after checking its body follows the
    API's error format. Fails on a 5xx or a body that is not that format."""
    assert reply.status < 500, f"{reply.status} for {path}: {reply.body[:300]!r}"
    if reply.status < 400:
        return None
    assert b"Traceback" not in reply.body, reply.body[:300]
    body = json.loads(reply.body)
    api = api_of(path)
    if api == "compute":
        message = _compute_message(body, reply.status)
    elif api == "image":
        message = _image_message(body, reply.status)
    elif api == "placement":
        message = _placement_message(body, reply.status)
    elif api == "networking":
        message = _network_message(body)
    else:
        raise AssertionError(f"no error format known for {path}")
    assert isinstance(message, str) and message.strip(), body
    return message


def _compute_message(body: Any, status: int) -> Any:
    assert isinstance(body, dict) and len(body) == 1, body
    (fault,) = body.values()
    assert fault["code"] == status, body
    return fault["message"]


def _image_message(body: Any, status: int) -> Any:
    assert str(body["code"]).startswith(f"{status} "), body
    assert body["title"], body
    return body["message"]


def _network_message(body: Any) -> Any:
    fault = body["NeutronError"]
    assert fault["type"], body
    return fault["message"]


def _placement_message(body: Any, status: int) -> Any:
    (entry,) = body["errors"]
    assert entry["status"] == status, body
    assert entry["title"] and entry["request_id"], body
    return entry["detail"]


def refused(reply: Reply, path: str, status: int, *names: str) -> str:
    """Assert a ``status`` refusal whose message names every one of ``names``."""
    message = error_message(reply, path)
    assert reply.status == status, f"{reply.status} for {path}: {reply.body[:300]!r}"
    assert message is not None
    for name in names:
        assert name in message, f"{name!r} not named in {message!r}"
    return message
