"""The image stores behind one interface: ``file`` (one file per image) and
``database`` (chunks in the shared database, on SQLite and real PostgreSQL): data
streamed in and out in chunks, digests, deletes that free the rows, failed uploads that
leave nothing, and an Image service on one "server" reading what another stored."""

from __future__ import annotations

import hashlib
import io
import pathlib
from collections.abc import Iterator

import pytest

from support import image_bytes
from virtfleet import conf as vconf
from virtfleet import errors
from virtfleet.db import image_data, images
from virtfleet.db.engine import Database
from virtfleet.image.backends import open_store
from virtfleet.image.database_store import DatabaseStore
from virtfleet.image.file_store import FileStore
from virtfleet.image.quota import UploadLimits
from virtfleet.image.service import ImageService
from virtfleet.image.store import ImageStore

IMAGE = "6c7c0a38-2f4e-4d4f-9a86-0d3c1f3a2b11"
CHUNK = 1000


@pytest.fixture
def db(db_on_each_backend: Database) -> Database:
    return db_on_each_backend


@pytest.fixture(params=["file", "database"])
def store(request: pytest.FixtureRequest, db: Database, tmp_path: pathlib.Path) -> ImageStore:
    if request.param == "file":
        return FileStore(tmp_path / "images")
    return DatabaseStore(db, tmp_path / "staging", chunk_size=CHUNK)


def pieces(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def data_of(length: int) -> bytes:
    return bytes((i * 7 + i // 251) % 256 for i in range(length))


def test_each_store_keeps_what_was_written_with_its_digests(store: ImageStore) -> None:
    data = data_of(2500)
    stored = store.write(IMAGE, pieces(data, 333))
    assert (stored.size, stored.checksum) == (2500, hashlib.md5(data).hexdigest())
    assert (stored.os_hash_algo, stored.os_hash_value) == (
        "sha512",
        hashlib.sha512(data).hexdigest(),
    )
    assert store.exists(IMAGE)
    assert b"".join(store.read(IMAGE)) == data
    with store.open(IMAGE) as (file, size):
        assert size == 2500
        file.seek(950)
        assert file.read(100) == data[950:1050]  # across a chunk boundary
        file.seek(-10, io.SEEK_END)
        assert file.read(50) == data[-10:]
    store.delete(IMAGE)
    assert not store.exists(IMAGE)
    with pytest.raises(errors.NotFound, match=f"Image {IMAGE} has no data"):
        store.read(IMAGE)
    store.delete(IMAGE)  # nothing left to delete: no error


def test_each_store_keeps_an_empty_image(store: ImageStore) -> None:
    stored = store.write(IMAGE, iter(()))
    assert stored.size == 0 and stored.checksum == hashlib.md5(b"").hexdigest()
    assert store.exists(IMAGE)
    assert b"".join(store.read(IMAGE)) == b""


def test_each_store_refuses_an_id_that_is_no_image_id(store: ImageStore) -> None:
    with pytest.raises(errors.InvalidInput, match="Invalid image id"):
        store.write("../etc", iter([b"x"]))
    with pytest.raises(errors.InvalidInput, match="Invalid image id"):
        store.staging_path("a/b")


def test_database_store_writes_each_chunk_as_the_stream_goes(db: Database) -> None:
    store = DatabaseStore(db, "/nonexistent", chunk_size=CHUNK)
    data = data_of(2500)
    rows_seen = []

    def stream() -> Iterator[bytes]:
        for piece in pieces(data, 100):
            rows_seen.append(image_data.chunk_count(db, IMAGE))
            yield piece

    store.write(IMAGE, stream())
    # Rows appear as the data arrives (never all of it held first): 0 for the first
    # 1000 bytes, 1 for the next 1000, then 2; the rest is the third row at the end.
    assert rows_seen == [0] * 10 + [1] * 10 + [2] * 5
    assert image_data.stored(db, IMAGE) == image_data.Stored(IMAGE, 2500, 3, CHUNK)
    assert [len(image_data.chunk(db, IMAGE, seq) or b"") for seq in range(3)] == [1000, 1000, 500]
    assert list(map(len, store.read(IMAGE))) == [1000, 1000, 500]  # streamed out per chunk


def test_database_store_delete_frees_every_row(db: Database) -> None:
    store = DatabaseStore(db, "/nonexistent", chunk_size=CHUNK)
    store.write(IMAGE, [data_of(5500)])
    other = "0d7c0a38-2f4e-4d4f-9a86-0d3c1f3a2b12"
    store.write(other, [b"kept"])
    assert image_data.chunk_count(db, IMAGE) == 6
    store.delete(IMAGE)
    assert image_data.chunk_count(db, IMAGE) == 0
    assert image_data.stored(db, IMAGE) is None
    assert b"".join(store.read(other)) == b"kept"


def test_a_failed_upload_to_the_database_store_leaves_nothing(db: Database) -> None:
    store = DatabaseStore(db, "/nonexistent", chunk_size=CHUNK)

    def broken() -> Iterator[bytes]:
        yield data_of(2500)  # two chunks written before the stream breaks
        raise OSError("client went away")

    with pytest.raises(OSError, match="client went away"):
        store.write(IMAGE, broken())
    assert image_data.chunk_count(db, IMAGE) == 0
    assert not store.exists(IMAGE)


def test_database_store_replaces_what_a_killed_upload_left(db: Database) -> None:
    store = DatabaseStore(db, "/nonexistent", chunk_size=CHUNK)
    for seq in range(5):  # a server died mid-upload: chunks, no image_data row
        image_data.add_chunk(db, IMAGE, seq, b"old" * 100)
    assert not store.exists(IMAGE)
    store.write(IMAGE, [b"new"])
    assert image_data.chunk_count(db, IMAGE) == 1
    assert b"".join(store.read(IMAGE)) == b"new"


def test_reading_data_deleted_meanwhile_fails_naming_it(db: Database) -> None:
    store = DatabaseStore(db, "/nonexistent", chunk_size=CHUNK)
    store.write(IMAGE, [data_of(3000)])
    reader = store.read(IMAGE)
    next(reader)
    store.delete(IMAGE)
    with pytest.raises(errors.ImageDataError, match="chunk 1 of 3 is gone"):
        next(reader)


def test_an_unknown_store_is_refused_naming_the_choices(
    db: Database, tmp_path: pathlib.Path
) -> None:
    with pytest.raises(
        errors.ConfigError, match="'nfs' is not an image store; expected one of file, database"
    ):
        open_store("nfs", tmp_path, db)
    conf = tmp_path / "virtfleet.conf"
    conf.write_text("[image]\nstore = nfs\n")
    with pytest.raises(errors.ConfigError) as raised:
        vconf.make_conf(config_files=[str(conf)])
    assert (
        str(raised.value)
        == f"{conf}:2: [image] store: expected one of 'file', 'database', got 'nfs'"
    )
    assert isinstance(open_store("file", tmp_path, db), FileStore)
    assert isinstance(open_store("database", tmp_path, db), DatabaseStore)


def servers_on_one_database(
    db: Database, tmp_path: pathlib.Path
) -> tuple[ImageService, ImageService]:
    """Two servers' image services: one database, each its own data directory."""
    return (
        ImageService(
            db, open_store("database", tmp_path / "a", db), limits=UploadLimits(size_cap=5000)
        ),
        ImageService(
            db, open_store("database", tmp_path / "b", db), limits=UploadLimits(size_cap=5000)
        ),
    )


def test_an_image_uploaded_through_one_server_is_read_through_another(
    db: Database, tmp_path: pathlib.Path
) -> None:
    a, b = servers_on_one_database(db, tmp_path)
    disk = image_bytes.esp_disk(tmp_path, {"BOOTAA64.EFI": image_bytes.pe(image_bytes.PE_ARM64)})
    a.limits = b.limits = UploadLimits()
    image = a.create({"disk_format": "raw", "container_format": "bare"})
    with disk.open("rb") as source:
        active = a.upload(image.id, iter(lambda: source.read(65536), b""))
    # The architecture is read from the stored chunks (a seekable view of them).
    assert active.properties["architecture"] == "aarch64"
    assert active.size == disk.stat().st_size
    shown, data = b.download(image.id)
    assert data is not None and shown.checksum == hashlib.md5(disk.read_bytes()).hexdigest()
    assert b"".join(data) == disk.read_bytes()
    assert b.has_data(image.id)
    assert not list((tmp_path / "a").glob("**/*")) and not list((tmp_path / "b").glob("**/*"))
    b.delete(image.id)
    assert not a.has_data(image.id) and image_data.chunk_count(db, image.id) == 0


def test_an_upload_over_the_cap_leaves_no_rows_and_the_image_queued(
    db: Database, tmp_path: pathlib.Path
) -> None:
    a, _ = servers_on_one_database(db, tmp_path)
    image = a.create({"disk_format": "raw", "container_format": "bare"})
    with pytest.raises(errors.TooLarge):
        a.upload(image.id, pieces(data_of(8000), 1500))
    assert image_data.chunk_count(db, image.id) == 0
    assert images.get(db, image.id).status == "queued"
    assert not a.has_data(image.id)
