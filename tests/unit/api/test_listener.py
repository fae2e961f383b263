"""The HTTP listener keeps answering with slow, idle and many clients: the request gate
keeps incomplete requests off the worker pool and closes them after the header
timeout; the pool does not grow; the backlog absorbs a burst. 127.0.0.1 only."""

from __future__ import annotations

import concurrent.futures
import socket
import time
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from support.ci import time_bound
from virtfleet import conf as vconf
from virtfleet import errors
from virtfleet.api.listener import HttpListener, parse_listen
from virtfleet.api.request_gate import GATED_BODY_BYTES, request_ready

THREADS = 4


def echo_app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Length", str(len(body) + 2))])
    return [b"ok" + body]


@pytest.fixture
def listener() -> Iterator[tuple[str, int]]:
    conf = vconf.make_conf(
        api__listen="127.0.0.1:0", api__workers_threads=THREADS, api__header_timeout=1.0
    )
    http = HttpListener(echo_app, conf.api)
    http.start()
    try:
        host, port = http.endpoint.removeprefix("http://").rsplit(":", 1)
        yield host, int(port)
    finally:
        http.stop()


def request(address: tuple[str, int], body: bytes = b"abc") -> tuple[bytes, float]:
    """One complete request; its answer and how long it took."""
    start = time.monotonic()
    with socket.create_connection(address, timeout=5) as sock:
        head = f"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
        sock.sendall(head.encode() + b"Connection: close\r\n\r\n" + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer, time.monotonic() - start


def test_slow_and_idle_clients_do_not_hold_the_workers(listener: tuple[str, int]) -> None:
    slow: list[socket.socket] = []
    try:
        for _ in range(40):  # slowloris: a head that never ends
            sock = socket.create_connection(listener)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-a: ")
            slow.append(sock)
        for _ in range(20):  # idle: connect and say nothing
            slow.append(socket.create_connection(listener))
        for _ in range(10):  # a small body that never arrives
            sock = socket.create_connection(listener)
            sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab")
            slow.append(sock)
        for _ in range(3 * THREADS):
            answer, took = request(listener)
            assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"okabc"), answer
            assert took < time_bound(0.5), (
                f"answered in {took:.2f} s with 70 slow clients connected"
            )
        time.sleep(1.5)  # the header timeout (1 s) has passed: all of them are closed
        for sock in slow:
            sock.settimeout(2)
            assert sock.recv(100) == b"", "a slow client was not disconnected"
    finally:
        for sock in slow:
            sock.close()


def test_a_burst_of_200_clients_is_queued_not_reset(listener: tuple[str, int]) -> None:
    with concurrent.futures.ThreadPoolExecutor(max_workers=200) as pool:
        answers = list(pool.map(lambda _: request(listener)[0], range(200)))
    assert all(a.startswith(b"HTTP/1.1 200") for a in answers)


def test_large_body_is_read_by_a_worker(listener: tuple[str, int]) -> None:
    body = b"y" * (3 * GATED_BODY_BYTES)
    answer, _ = request(listener, body)
    assert answer.endswith(b"ok" + body)


def test_pool_and_backlog_follow_the_options() -> None:
    conf = vconf.make_conf(api__listen="127.0.0.1:0", api__workers_threads=3)
    http = HttpListener(echo_app, conf.api)
    server = http._server
    assert (server.requests.min, server.requests.max) == (3, 3)
    assert server.request_queue_size == conf.api.listen_backlog >= 128


@pytest.mark.parametrize(
    ("data", "ready"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\n", False),
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", True),
        (b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nab", False),
        (b"POST / HTTP/1.1\r\ncontent-length:3\r\n\r\nabc", True),
        (b"POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n" + b"a" * GATED_BODY_BYTES, True),
        (b"X" * 70_000, True),  # too large a head to wait for: cheroot refuses it
    ],
)
def test_request_ready(data: bytes, ready: bool) -> None:
    assert request_ready(data) is ready


@pytest.mark.parametrize("value", ["host:notaport", "8774", "host:", "h:70000", "h:-1"])
def test_listen_that_is_not_host_port_is_named(value: str) -> None:
    with pytest.raises(errors.ConfigError, match=r"\[api\] listen: expected HOST:PORT"):
        parse_listen(value)


def test_listen_forms() -> None:
    assert parse_listen("0.0.0.0:8774") == ("0.0.0.0", 8774)
    assert parse_listen("[::1]:80") == ("::1", 80)
    assert parse_listen(":80") == ("127.0.0.1", 80)
