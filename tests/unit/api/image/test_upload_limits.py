"""Image data is bounded: per image (``[image] image_size_cap``) and per project
(``[image] project_storage_quota``); a refused upload is a 413 in Glance's format,
leaves the image queued and stores nothing."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import webob

from support.api_apps import Apps, Client
from virtfleet import errors
from virtfleet.image.quota import UploadLimits

PROJECT = {"X-Project-Id": "p1"}


def create(c: Client, headers: dict[str, str] = PROJECT) -> str:
    reply = c.post(
        "/v2/images", {"disk_format": "raw", "container_format": "bare"}, headers=headers
    )
    assert reply.status == 201, reply.body
    image_id: str = reply.json["id"]
    return image_id


def upload(c: Client, image_id: str, data: bytes) -> Any:
    return c.request(
        "PUT", f"/v2/images/{image_id}/file", raw=data, content_type="application/octet-stream"
    )


def chunked_upload(apps: Apps, image_id: str, data: bytes) -> webob.Response:
    """An upload without Content-Length (Transfer-Encoding: chunked)."""
    req = webob.Request.blank(f"/image/v2/images/{image_id}/file", method="PUT")
    req.environ["SCRIPT_NAME"], req.environ["PATH_INFO"] = "/image", req.path_info[len("/image") :]
    req.environ["wsgi.input"] = io.BytesIO(data)
    req.environ.pop("CONTENT_LENGTH", None)
    req.headers["Transfer-Encoding"] = "chunked"
    req.environ["wsgi.input_terminated"] = True  # as cheroot sets it for chunked bodies
    req.content_type = "application/octet-stream"
    return req.get_response(apps.image_app)


def assert_refused_and_unchanged(apps: Apps, reply: Any, image_id: str, *words: str) -> None:
    if isinstance(reply, webob.Response):
        status, body = reply.status_int, reply.json_body
    else:
        status, body = reply.status, reply.json
    assert status == 413, body
    assert body["code"] == "413 Request Entity Too Large", body
    for word in words:
        assert word in body["message"], body["message"]
    image = apps.images.get(image_id)
    assert image.status == "queued" and image.size is None
    assert not list(apps.images.store.root.glob(f"{image_id}*")), "data left behind"


@pytest.fixture
def limited(apps: Apps) -> Apps:
    apps.images.limits = UploadLimits(size_cap=1000, project_quota=1500)
    return apps


def test_upload_over_the_size_cap_is_413_before_reading(limited: Apps) -> None:
    c = limited.image()
    image_id = create(c)
    reply = upload(c, image_id, b"x" * 1001)
    assert_refused_and_unchanged(limited, reply, image_id, "1001", "image_size_cap", "1000")


def test_chunked_upload_over_the_cap_is_cut_off(limited: Apps) -> None:
    image_id = create(limited.image())
    resp = chunked_upload(limited, image_id, b"x" * 200_000)
    assert_refused_and_unchanged(limited, resp, image_id, "image_size_cap")


def test_upload_at_the_cap_is_stored(limited: Apps) -> None:
    c = limited.image()
    image_id = create(c)
    assert upload(c, image_id, b"x" * 1000).status == 204
    assert limited.images.get(image_id).size == 1000


def test_project_quota_counts_the_projects_other_images(limited: Apps) -> None:
    c = limited.image()
    first = create(c)
    assert upload(c, first, b"x" * 1000).status == 204
    second = create(c)
    reply = upload(c, second, b"y" * 600)
    assert_refused_and_unchanged(
        limited, reply, second, "p1", "1600", "project_storage_quota", "1500", "1000 in use"
    )
    assert upload(c, second, b"y" * 500).status == 204  # exactly the quota
    other_project = create(c, headers={"X-Project-Id": "p2"})
    assert upload(c, other_project, b"z" * 1000).status == 204  # its own quota


def test_deleting_an_image_returns_its_quota(limited: Apps) -> None:
    c = limited.image()
    first = create(c)
    assert upload(c, first, b"x" * 1000).status == 204
    assert c.delete(f"/v2/images/{first}").status == 204
    second = create(c)
    assert upload(c, second, b"y" * 1000).status == 204


def test_two_concurrent_uploads_cannot_pass_the_project_quota_together(apps: Apps) -> None:
    """Each upload fits the quota alone; started together (both past their first
    chunk before either finishes), exactly one is refused and the stored data stays
    within the quota. Before reservations, both read the usage at start (0) and passed."""
    apps.images.limits = UploadLimits(size_cap=10_000, project_quota=1500)
    c = apps.image()
    first, second = create(c), create(c)
    both_started = threading.Barrier(2, timeout=10)

    def chunks() -> Iterator[bytes]:
        yield b"x" * 500
        both_started.wait()
        yield b"x" * 500

    outcomes: dict[str, str] = {}

    def run(image_id: str) -> None:
        try:
            apps.images.upload(image_id, chunks())
            outcomes[image_id] = "stored"
        except errors.TooLarge as exc:
            outcomes[image_id] = exc.message
        except threading.BrokenBarrierError:
            outcomes[image_id] = "refused before the second chunk"

    threads = [threading.Thread(target=run, args=(i,)) for i in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    stored = [i for i, o in outcomes.items() if o == "stored"]
    assert len(stored) == 1, outcomes
    refused = next(o for i, o in outcomes.items() if i not in stored)
    assert "project_storage_quota" in refused or "second chunk" in refused, refused
    total = sum(apps.images.get(i).size or 0 for i in (first, second))
    assert total == 1000 <= 1500
    loser = next(i for i in (first, second) if i not in stored)
    assert apps.images.get(loser).status == "queued"
    assert apps.images.get(loser).reserved is None  # the reservation ended with it


def test_a_reservation_counts_against_the_quota_until_the_upload_ends(apps: Apps) -> None:
    apps.images.limits = UploadLimits(size_cap=10_000, project_quota=1500)
    c = apps.image()
    uploading, other = create(c), create(c)
    apps.images.upload(uploading, iter([b"x" * 10]))  # stored: 10 bytes
    seen: list[int | None] = []

    def chunks() -> Iterator[bytes]:
        yield b"y" * 1000
        seen.append(apps.images.get(other).reserved)
        yield b"y" * 100

    apps.images.upload(other, chunks())
    assert seen[0] is not None and 1000 <= seen[0] <= 1490  # held while uploading
    assert apps.images.get(other).reserved is None
    assert apps.images.get(other).size == 1100
