"""A request body over 64 KiB must arrive by its deadline ([api] body_timeout plus its
size at body_min_rate): a client trickling the rest of a body gets a 408 once the
deadline passes (the watchdog cuts the read a buffered read was blocked in), instead
of holding a worker for as long as it keeps sending a byte now and then."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from support.ci import time_bound
from virtfleet import conf as vconf
from virtfleet.api.body_deadline import DeadlineInput, needs_deadline
from virtfleet.api.listener import HttpListener
from virtfleet.api.request_gate import GATED_BODY_BYTES
from virtfleet.api.wsgi import HTTPError

BODY_TIMEOUT = 1.0


def reading_app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """Reads the whole body in 64 KiB reads (as the image upload does)."""
    try:
        total = 0
        while chunk := environ["wsgi.input"].read(65536):
            total += len(chunk)
    except HTTPError as exc:
        start_response(f"{exc.status} Late", [("Content-Length", "0"), ("Connection", "close")])
        return [b""]
    answer = str(total).encode()
    start_response("200 OK", [("Content-Length", str(len(answer)))])
    return [answer]


@pytest.fixture
def listener() -> Iterator[tuple[str, int]]:
    conf = vconf.make_conf(
        api__listen="127.0.0.1:0",
        api__workers_threads=2,
        api__body_timeout=BODY_TIMEOUT,
        api__body_min_rate=10_000_000,
    )
    http = HttpListener(reading_app, conf.api)
    http.start()
    try:
        host, port = http.endpoint.removeprefix("http://").rsplit(":", 1)
        yield host, int(port)
    finally:
        http.stop()


def test_a_trickled_large_body_is_cut_off_at_its_deadline(listener: tuple[str, int]) -> None:
    size = GATED_BODY_BYTES + 10_000
    started = time.monotonic()
    with socket.create_connection(listener, timeout=10) as sock:
        head = f"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\n\r\n"
        sock.sendall(head.encode() + b"x" * GATED_BODY_BYTES)  # what the gate waits for
        answer = b""
        sock.settimeout(0.2)
        for _ in range(100):  # one byte every 0.2 s: each socket read gets data in time
            try:
                sock.sendall(b"x")
            except OSError:
                break
            try:
                answer += sock.recv(4096)
            except TimeoutError:
                continue
            if answer:
                break
    took = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert BODY_TIMEOUT <= took < BODY_TIMEOUT + time_bound(3), took


def test_a_large_body_sent_at_once_is_read_whole(listener: tuple[str, int]) -> None:
    size = GATED_BODY_BYTES * 4
    with socket.create_connection(listener, timeout=10) as sock:
        head = f"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n"
        sock.sendall(head.encode() + b"x" * size)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(str(size).encode()), answer


def test_the_deadline_grows_with_the_data_received() -> None:
    now = [0.0]
    body = DeadlineInput(_Stream(), timeout=2.0, min_rate=100, clock=lambda: now[0])
    now[0] = 1.5
    assert body.read(100) == b"x" * 100
    now[0] = 2.5  # past 2 s, but 100 bytes moved the deadline to 3 s
    assert body.read(100) == b"x" * 100
    now[0] = 4.5  # 200 bytes: the deadline is 4 s
    with pytest.raises(HTTPError) as late:
        body.read(100)
    assert late.value.status == 408
    assert "body_timeout" in late.value.message


class _Stream:
    def read(self, size: int | None = -1) -> bytes:
        return b"x" * (size if size and size > 0 else 10)

    def readline(self, size: int | None = -1) -> bytes:
        return self.read(size)


def test_only_bodies_the_gate_did_not_wait_for_get_a_deadline() -> None:
    assert not needs_deadline({"CONTENT_LENGTH": str(GATED_BODY_BYTES)})
    assert needs_deadline({"CONTENT_LENGTH": str(GATED_BODY_BYTES + 1)})
    assert needs_deadline({"HTTP_TRANSFER_ENCODING": "chunked"})
    assert not needs_deadline({})
