"""An app over a real PlacementService on a SQLite file, a small client, and named
topologies that read like the test fixtures of the API reference."""

from __future__ import annotations

import json
import pathlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import webob

from support.wsgi_client import RequestVerbs
from virtfleet.api.placement import make_app
from virtfleet.api.wsgi import Router
from virtfleet.db.base import Base
from virtfleet.db.engine import Database
from virtfleet.db.models import metadata
from virtfleet.placement.service import PlacementService
from virtfleet.placement.types import Inventory

LATEST = "1.39"


@dataclass
class Reply:
    status: int
    headers: webob.response.ResponseHeaders
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text)

    @property
    def error(self) -> dict[str, Any]:
        """The single entry of a Placement error body."""
        errors = self.json["errors"]
        assert len(errors) == 1
        return dict(errors[0])


class Client(RequestVerbs[Reply]):
    """``client.get("/resource_providers", version="1.14")`` and friends."""

    def __init__(self, app: Router) -> None:
        self.app = app

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        version: str | None = LATEST,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        req = webob.Request.blank(path, method=method, script_name="/placement")
        if version is not None:
            req.headers["OpenStack-API-Version"] = f"placement {version}"
        if raw is not None:
            req.body = raw
            req.content_type = "application/json"
        elif body is not None:
            req.body = json.dumps(body).encode()
            req.content_type = "application/json"
        for key, value in (headers or {}).items():
            req.headers[key] = value
        resp = req.get_response(self.app)
        return Reply(resp.status_int, resp.headers, resp.text)


@pytest.fixture(scope="session")
def empty_db_file(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """A SQLite file with the whole schema, made once and copied for each test."""
    path = tmp_path_factory.mktemp("schema") / "empty.sqlite"
    db = Database(f"sqlite:///{path}")
    metadata()
    Base.metadata.create_all(db.engine)
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return path


@pytest.fixture
def service(tmp_path: pathlib.Path, empty_db_file: pathlib.Path) -> Iterator[PlacementService]:
    path = tmp_path / "placement.sqlite"
    shutil.copyfile(empty_db_file, path)
    db = Database(f"sqlite:///{path}")
    yield PlacementService(db)
    db.dispose()


@pytest.fixture
def client(service: PlacementService) -> Client:
    return Client(make_app(service))


# ------------------------------------------------------------------- topologies

CN1 = "c0000000-0000-4000-8000-000000000001"
CN2 = "c0000000-0000-4000-8000-000000000002"
GPU1 = "90000000-0000-4000-8000-000000000001"
CONSUMER = "a0000000-0000-4000-8000-00000000000a"
CONSUMER2 = "a0000000-0000-4000-8000-00000000000b"
PROJECT = "p-demo"
USER = "u-demo"

COMPUTE = {"VCPU": Inventory(total=8), "MEMORY_MB": Inventory(total=4096, reserved=512)}


@dataclass(frozen=True)
class Topology:
    """Provider uuids by the names the tests use."""

    uuids: dict[str, str]

    def __getitem__(self, name: str) -> str:
        return self.uuids[name]


@pytest.fixture
def one_compute(service: PlacementService) -> Topology:
    """``cn1``: 8 VCPU, 4096 MEMORY_MB (512 reserved), trait HW_ARCH_X86_64."""
    service.create_provider("cn1", uuid=CN1)
    service.set_inventories(CN1, 0, COMPUTE)
    generation, _ = service.get_inventories(CN1)
    service.set_provider_traits(CN1, generation, ["HW_ARCH_X86_64"])
    return Topology({"cn1": CN1})


@pytest.fixture
def two_computes(service: PlacementService, one_compute: Topology) -> Topology:
    """``cn1`` as above; ``cn2``: 4 VCPU, 2048 MEMORY_MB, trait HW_ARCH_AARCH64."""
    service.create_provider("cn2", uuid=CN2)
    service.set_inventories(
        CN2, 0, {"VCPU": Inventory(total=4), "MEMORY_MB": Inventory(total=2048)}
    )
    generation, _ = service.get_inventories(CN2)
    service.set_provider_traits(CN2, generation, ["HW_ARCH_AARCH64"])
    return Topology({"cn1": CN1, "cn2": CN2})


@pytest.fixture
def gpu_host(service: PlacementService, one_compute: Topology) -> Topology:
    """``cn1`` with a child ``cn1_gpu`` offering 4 CUSTOM_VGPU_T4."""
    service.ensure_resource_class("CUSTOM_VGPU_T4")
    service.create_provider("cn1_gpu", uuid=GPU1, parent_uuid=CN1)
    service.set_inventories(GPU1, 0, {"CUSTOM_VGPU_T4": Inventory(total=4)})
    return Topology({"cn1": CN1, "cn1_gpu": GPU1})


def allocate(service: PlacementService, consumer: str, rp: str, **resources: int) -> None:
    """Give ``consumer`` (new) ``resources`` on ``rp``."""
    service.replace_allocations(consumer, {rp: resources}, PROJECT, USER, None)


def generation_of(client: Client, uuid: str) -> int:
    return int(client.get(f"/resource_providers/{uuid}").json["generation"])
