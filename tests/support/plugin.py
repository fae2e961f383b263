"""Fixtures every test directory can use (registered in tests/conftest.py).

Clouds: ``start_sim_cloud`` (embedded, simulated hosts; of the module's
``cloud_variant``), ``libvirt_cloud`` (the real host), ``distributed_cloud`` (server and
agent processes over RabbitMQ); see support/clouds.py for the family and its
:class:`~support.clouds.Recipe`.

Databases: ``db`` is a SQLite file with every table; a directory whose tests must
also run on PostgreSQL overrides it with ``db_on_each_backend`` (one line in its
conftest.py), which is parametrised over ``db_backend``.
"""

from __future__ import annotations

import contextlib
import pathlib
from collections.abc import Iterator
from typing import Any, Protocol, overload

import pytest

from support.cloud import Cloud, start_real_cloud
from support.clouds import EmbeddedView, Recipe, Variant, View, sim_cloud
from support.databases import BACKENDS, fresh_database, require_postgresql, sqlite_database
from support.distributed import BROKER_URL, Deployment, broker_problem, in_ci
from virtfleet.db.base import Base
from virtfleet.db.engine import Database
from virtfleet.db.models import metadata


class StartSimCloud(Protocol):
    """``start_sim_cloud(recipe_or_fleet_text, hosts=None, view=EmbeddedView,
    **conf_overrides)``: a fleet text is ``Recipe(fleet=text)``; ``hosts`` and the conf
    overrides are added to the recipe; the cloud is seen through ``view``."""

    @overload
    def __call__(
        self, fleet: str | Recipe, hosts: int | None = None, *, view: type[View], **conf: Any
    ) -> View: ...

    @overload
    def __call__(
        self, fleet: str | Recipe, hosts: int | None = None, **conf: Any
    ) -> EmbeddedView: ...


@pytest.fixture(
    params=[pytest.param(backend, marks=getattr(pytest.mark, backend)) for backend in BACKENDS]
)
def db_backend(request: pytest.FixtureRequest) -> str:
    """The database backend of a database-backed test: each runs on SQLite and on real
    PostgreSQL (``-m "not postgresql"`` for SQLite only); see support.databases."""
    backend: str = request.param
    return backend


@pytest.fixture
def db(tmp_path: pathlib.Path) -> Database:
    """An empty SQLite database in ``tmp_path`` with every table."""
    return sqlite_database(tmp_path / "test.sqlite")


@pytest.fixture
def db_on_each_backend(tmp_path: pathlib.Path, db_backend: str) -> Iterator[Database]:
    """Every table on a new database of each backend (SQLite, PostgreSQL)."""
    with fresh_database(db_backend, tmp_path) as database:
        Base.metadata.create_all(database.engine, tables=list(metadata().tables.values()))
        yield database


# ---- clouds (support/clouds.py names the family) ------------------------------------


@pytest.fixture(scope="module")
def cloud_variant(request: pytest.FixtureRequest) -> Variant:
    """The variant of the clouds a module starts: ``Variant()`` (SQLite) unless the
    module parametrises it (``indirect=True``) with Variant objects."""
    variant: Variant = getattr(request, "param", Variant())
    if variant.database != "sqlite":
        require_postgresql()
    return variant


@pytest.fixture(scope="module")
def start_sim_cloud(
    tmp_path_factory: pytest.TempPathFactory, cloud_variant: Variant
) -> Iterator[StartSimCloud]:
    """Start embedded simulated clouds of the module's variant (see
    :class:`StartSimCloud`); all stop after the module."""
    with contextlib.ExitStack() as stack:

        def start(
            fleet: str | Recipe,
            hosts: int | None = None,
            view: type[EmbeddedView] = EmbeddedView,
            **conf: Any,
        ) -> EmbeddedView:
            recipe = fleet if isinstance(fleet, Recipe) else Recipe(fleet=fleet)
            recipe = recipe.but(variant=cloud_variant, conf=conf)
            if hosts is not None:
                recipe = recipe.but(hosts=hosts)
            tmp = tmp_path_factory.mktemp("sim-cloud")
            return stack.enter_context(sim_cloud(tmp, recipe, view))

        yield start  # type: ignore[misc]  # one implementation of both overloads


@pytest.fixture(scope="module")
def libvirt_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    """``virtfleet up`` on the real qemu:///system host (TCG guests), one per module;
    tests using it are marked ``libvirt``."""
    cloud = start_real_cloud(tmp_path_factory.mktemp("libvirt-cloud"))
    yield cloud
    cloud.stop()


@pytest.fixture
def broker_url() -> str:
    """The RabbitMQ of distributed mode (skipped, saying why, when there is none outside
    CI; an error under CI)."""
    problem = broker_problem()
    if problem is not None:
        if in_ci():
            pytest.fail(f"CI=true but {problem}")
        pytest.skip(problem)
    return BROKER_URL


@pytest.fixture
def distributed_cloud(tmp_path: pathlib.Path, broker_url: str) -> Iterator[Deployment]:
    """A distributed deployment (start its server and agents with its methods); every
    daemon is killed after the test and its log printed (shown when the test fails)."""
    deployment = Deployment(tmp_path, broker_url)
    yield deployment
    for daemon in deployment.daemons:
        daemon.kill()
        print(f"===== {daemon.log.name}\n{daemon.output()}")
