"""Test support for the Compute and Image APIs: a database in tmp_path, an in-test
conductor that records calls and moves servers through their states, a placement
stand-in, and a small client over ``webob.Request.blank``."""

from __future__ import annotations

import json
import pathlib
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import webob

from support.wsgi_client import RequestVerbs
from virtfleet.api.compute import ComputeDeps, make_compute_app
from virtfleet.api.image import make_image_app
from virtfleet.api.network import make_network_app
from virtfleet.conf import make_conf
from virtfleet.db import servers
from virtfleet.db.base import Base
from virtfleet.db.engine import Database
from virtfleet.db.models import metadata
from virtfleet.image.service import ImageService
from virtfleet.network.server_ports import ServerPorts
from virtfleet.network.service import NetworkService

WSGIApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


_TEMPLATE: list[pathlib.Path] = []


def _template_db() -> pathlib.Path:
    """An empty database with the full schema, built once per test session."""
    if not _TEMPLATE:
        import virtfleet.db.models.hosts  # noqa: F401  (registers the compute nodes table)

        path = pathlib.Path(tempfile.mkdtemp(prefix="virtfleet-schema-")) / "template.sqlite"
        db = Database(f"sqlite:///{path}")
        Base.metadata.create_all(db.engine, tables=list(metadata().tables.values()))
        db.dispose()  # checkpoints the WAL into the file
        _TEMPLATE.append(path)
    return _TEMPLATE[0]


def make_db(tmp_path: pathlib.Path) -> Database:
    """A fresh SQLite file database in ``tmp_path`` with every table."""
    path = tmp_path / "test.sqlite"
    shutil.copyfile(_template_db(), path)
    return Database(f"sqlite:///{path}")


@dataclass
class RecordingConductor:
    """Records every call; builds succeed at once (ACTIVE on ``host``) unless
    ``fail_builds`` is set, in which case the server goes to ERROR with a fault."""

    db: Database
    host: str = "kvm-a"
    fail_builds: str | None = None
    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)

    def build_server(self, uuid: str) -> None:
        self.calls.append(("build_server", (uuid,)))
        if self.fail_builds:
            servers.update(self.db, uuid, vm_state="error", task_state=None)
            servers.set_fault(self.db, uuid, self.fail_builds, code=500, details="no host")
            return
        servers.update(
            self.db,
            uuid,
            vm_state="active",
            task_state=None,
            power_state=1,
            host=self.host,
            node=self.host,
        )

    def delete_server(self, uuid: str) -> None:
        self.calls.append(("delete_server", (uuid,)))
        servers.delete(self.db, uuid)

    def stop_server(self, uuid: str) -> None:
        self.calls.append(("stop_server", (uuid,)))
        servers.update(self.db, uuid, vm_state="stopped", task_state=None, power_state=4)

    def start_server(self, uuid: str) -> None:
        self.calls.append(("start_server", (uuid,)))
        servers.update(self.db, uuid, vm_state="active", task_state=None, power_state=1)

    def reboot_server(self, uuid: str, hard: bool) -> None:
        self.calls.append(("reboot_server", (uuid, hard)))
        servers.update(self.db, uuid, vm_state="active", task_state=None, power_state=1)

    def server_action(self, uuid: str, action: str) -> None:
        self.calls.append(("server_action", (uuid, action)))
        ends = {"pause": ("paused", 3), "unpause": ("active", 1), "suspend": ("suspended", 4),
                "resume": ("active", 1)}  # fmt: skip
        vm_state, power = ends[action]
        servers.update(self.db, uuid, vm_state=vm_state, task_state=None, power_state=power)

    def rescue_server(self, uuid: str, image_id: str, device: Any = None) -> None:
        self.calls.append(
            ("rescue_server", (uuid, image_id, device) if device else (uuid, image_id))
        )
        servers.update(self.db, uuid, vm_state="rescued", task_state=None, power_state=1)

    def unrescue_server(self, uuid: str) -> None:
        self.calls.append(("unrescue_server", (uuid,)))
        servers.update(self.db, uuid, vm_state="active", task_state=None, power_state=1)

    def snapshot_server(self, uuid: str, image_id: str) -> None:
        self.calls.append(("snapshot_server", (uuid, image_id)))
        servers.update(self.db, uuid, task_state=None)

    def get_console_output(self, uuid: str, length: int | None) -> str:
        self.calls.append(("get_console_output", (uuid, length)))
        lines = [f"line {i}" for i in range(10)]
        return "\n".join(lines if length is None else lines[-length:] if length else [])

    def get_domain_xml(self, uuid: str) -> str:
        self.calls.append(("get_domain_xml", (uuid,)))
        return f"<domain type='kvm'><uuid>{uuid}</uuid></domain>"


@dataclass
class FakePlacement:
    """Provider usages by provider uuid (missing providers have none)."""

    usages: dict[str, dict[str, int]] = field(default_factory=dict)

    def provider_usages(self, uuid: str) -> tuple[int, dict[str, int]]:
        return 0, dict(self.usages.get(uuid, {}))


@dataclass
class Reply:
    status: int
    headers: webob.response.ResponseHeaders
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Client(RequestVerbs[Reply]):
    app: WSGIApp
    prefix: str
    default_headers: dict[str, str] = field(default_factory=dict)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> Reply:
        req = webob.Request.blank(self.prefix + path, method=method)
        req.script_name = self.prefix
        req.path_info = path.split("?")[0]
        for key, value in {**self.default_headers, **(headers or {})}.items():
            req.headers[key] = value
        if raw is not None or body is not None:
            req.body = raw if raw is not None else json.dumps(body).encode()
            req.content_type = content_type
        resp = req.get_response(self.app)
        return Reply(resp.status_int, resp.headers, resp.body)


@dataclass
class Apps:
    """The compute, image and networking apps over one database."""

    db: Database
    conductor: RecordingConductor
    placement: FakePlacement
    images: ImageService
    compute_app: WSGIApp
    image_app: WSGIApp
    networks: NetworkService
    network_app: WSGIApp

    def compute(self, version: str | None = "latest") -> Client:
        headers = {"OpenStack-API-Version": f"compute {version}"} if version else {}
        return Client(self.compute_app, "/compute", headers)

    def image(self) -> Client:
        return Client(self.image_app, "/image")

    def network(self, project: str | None = None) -> Client:
        """A networking client; with ``project``, a member (not admin) of it."""
        headers = {"X-Project-Id": project, "X-Roles": "member"} if project else {}
        return Client(self.network_app, "/networking", headers)


def make_apps(tmp_path: pathlib.Path, **conf_overrides: Any) -> Apps:
    """The apps over a fresh database; ``conf_overrides`` as :func:`make_conf` takes them."""
    db = make_db(tmp_path)
    conductor = RecordingConductor(db)
    placement = FakePlacement()
    images = ImageService(db, tmp_path / "images")
    networks = NetworkService(db, {"physnet1": "br-phys1", "physnet2": "eth9"})
    deps = ComputeDeps(
        db=db,
        placement=placement,  # type: ignore[arg-type]  # a stand-in with provider_usages
        conductor=conductor,
        images=images,
        conf=make_conf(**conf_overrides),
        networks=ServerPorts(networks),
    )
    return Apps(
        db,
        conductor,
        placement,
        images,
        make_compute_app(deps),
        make_image_app(deps),
        networks,
        make_network_app(networks),
    )
