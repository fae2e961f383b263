"""Image data over HTTP from the Image API: a working endpoint after one that does not
answer or answers 5xx, a clear error for 404 and 401 (naming the service user's
options), a transfer that breaks off, and no endpoint configured at all."""

from __future__ import annotations

import threading
import wsgiref.simple_server
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from keystoneauth1 import session as ks_session

from support.distributed import free_port
from virtfleet import conf as vconf
from virtfleet import errors
from virtfleet.agent.image_download import HttpImageSource, source_from_conf
from virtfleet.observability import request_id

DATA = bytes(range(256)) * 512  # 128 KiB: several chunks

StartResponse = Callable[..., Any]


class Quiet(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class Endpoint:
    """A stand-in Image API at ``url``: answers ``status`` (with DATA on 200), or cuts
    the body short when ``truncate``; records the paths asked for."""

    def __init__(self, status: int = 200, truncate: bool = False) -> None:
        self.status = status
        self.truncate = truncate
        self.paths: list[str] = []
        self.request_ids: list[str | None] = []
        self.server = wsgiref.simple_server.make_server(
            "127.0.0.1", 0, self.app, handler_class=Quiet
        )
        self.url = f"http://127.0.0.1:{self.server.server_port}/image"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        self.paths.append(environ["PATH_INFO"])
        self.request_ids.append(environ.get("HTTP_X_OPENSTACK_REQUEST_ID"))
        if self.status != 200:
            start_response(f"{self.status} Nope", [("Content-Type", "text/plain")])
            return [f"answer {self.status}".encode()]
        headers = [("Content-Type", "application/octet-stream"),
                   ("Content-Length", str(len(DATA)))]  # fmt: skip
        start_response("200 OK", headers)
        return [DATA[: len(DATA) // 2]] if self.truncate else [DATA]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoints() -> Iterator[list[Endpoint]]:
    made: list[Endpoint] = []
    yield made
    for endpoint in made:
        endpoint.close()


def source(*urls: str, retries: int = 2) -> HttpImageSource:
    return HttpImageSource(ks_session.Session(), urls, retries=retries, timeout=5)


def test_the_data_of_an_image_is_fetched_from_its_file_url(endpoints: list[Endpoint]) -> None:
    endpoints.append(Endpoint())
    assert b"".join(source(endpoints[0].url).chunks("img-1")) == DATA
    assert endpoints[0].paths == ["/image/v2/images/img-1/file"]


def test_the_download_carries_the_request_id_of_the_work_it_is_for(
    endpoints: list[Endpoint],
) -> None:
    """As Nova sends its request id to Glance: the Image API logs the boot's id."""
    endpoints.append(Endpoint())
    rid = request_id.new()
    with request_id.bound(rid):
        assert b"".join(source(endpoints[0].url).chunks("img-1")) == DATA
    assert b"".join(source(endpoints[0].url).chunks("img-1")) == DATA  # no request: none
    assert endpoints[0].request_ids == [rid, None]


def test_an_endpoint_that_does_not_answer_or_fails_makes_it_try_the_next(
    endpoints: list[Endpoint],
) -> None:
    endpoints.extend([Endpoint(status=503), Endpoint()])
    dead = f"http://127.0.0.1:{free_port()}/image"
    fetched = source(dead, endpoints[0].url, endpoints[1].url).chunks("img-1")
    assert b"".join(fetched) == DATA
    assert [len(e.paths) for e in endpoints] == [1, 1]


def test_every_try_failing_names_each_answer(endpoints: list[Endpoint]) -> None:
    endpoints.append(Endpoint(status=500))
    with pytest.raises(errors.ImageDataError) as caught:
        b"".join(source(endpoints[0].url, retries=1).chunks("img-1"))
    message = str(caught.value)
    assert message.startswith("image img-1: no Image API endpoint delivered it: ")
    assert message.count("answered 500 answer 500") == 2


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (404, r"answered 404 answer 404$"),
        (401, r"answered 401 answer 401 \(check the service user in \[glance\]"),
        (403, r"answered 403 answer 403 \(check the service user in \[glance\]"),
    ],
)
def test_a_refusal_is_not_retried_and_says_why(
    endpoints: list[Endpoint], status: int, expected: str
) -> None:
    endpoints.extend([Endpoint(status=status), Endpoint()])
    with pytest.raises(errors.ImageDataError, match=expected):
        b"".join(source(endpoints[0].url, endpoints[1].url).chunks("img-1"))
    assert endpoints[1].paths == []


def test_a_transfer_that_breaks_off_is_an_image_data_error(endpoints: list[Endpoint]) -> None:
    endpoints.append(Endpoint(truncate=True))
    with pytest.raises(errors.ImageDataError, match=r"the download from .* broke off"):
        b"".join(source(endpoints[0].url).chunks("img-1"))


def test_without_endpoints_or_a_service_user_the_error_names_both_options() -> None:
    unconfigured = source_from_conf(vconf.make_conf())
    with pytest.raises(errors.ImageDataError, match=r"set \[glance\] api_servers, or "):
        next(unconfigured.chunks("img-1"))


def test_the_configured_endpoints_and_retries_are_used() -> None:
    conf = vconf.make_conf(
        glance__api_servers=["http://a:8774/image/", "http://b:8774/image"], glance__num_retries=4
    )
    configured = source_from_conf(conf)
    assert configured.endpoints == ["http://a:8774/image", "http://b:8774/image"]
    assert configured.retries == 4
    assert configured.session.auth is None
