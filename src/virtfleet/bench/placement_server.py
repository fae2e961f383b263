"""Run OpenStack Placement for the benchmark (executed by the interpreter of the
virtualenv that holds ``openstack-placement``; imports nothing from virtfleet).

``python placement_server.py load DB FLEET_JSON`` creates the schema (Placement's
own migrations) and writes the fleet through Placement's API, called in-process;
it prints ``{"seconds": …, "requests": …}``.
``load-api`` does the same one API request per write (slow: Placement takes
~0.1 s per request on SQLite); ``load`` writes the same rows in bulk SQL, and
``compare DB1 DB2`` says whether two databases hold the same fleet.
``python placement_server.py serve DB`` serves the API on 127.0.0.1 (a free port),
printing ``PORT <n>`` once listening. Both use SQLite at DB and ``noauth2``.
"""

import datetime
import json
import sys
import time
import wsgiref.simple_server
from typing import Any

import sqlalchemy
import webob
from oslo_config import cfg

# openstack-placement is installed only in the benchmark's own virtualenv.
from placement import conf as placement_conf  # type: ignore[import-not-found]
from placement import db_api, deploy

USAGE = "usage: placement_server.py load|load-api DB FLEET_JSON | compare DB1 DB2 | serve DB"
TOKEN = "admin"  # noqa: S105 - noauth2 takes the user name as the token
Doc = dict[str, Any]
WRITE_VERSION = "1.28"  # consumer generations, no consumer_type needed
ALLOCATION_BATCH = 500


CONFIG = """[placement_database]
connection = sqlite:///{db_path}
sync_on_startup = true
[api]
auth_strategy = noauth2
"""


def make_conf(db_path: str) -> cfg.ConfigOpts:
    """Placement's defaults, except the database and noauth2 (in DB.conf)."""
    config_file = db_path + ".conf"
    with open(config_file, "w") as f:
        f.write(CONFIG.format(db_path=db_path))
    config = cfg.ConfigOpts()
    placement_conf.register_opts(config)
    config([], project="placement", default_config_files=[config_file])
    return config


def make_app(db_path: str, synchronous: str = "NORMAL") -> Any:
    """Placement's WSGI app; SQLite in WAL mode as virtfleet runs it (``synchronous``
    OFF only while loading, where a crash just means loading again)."""
    config = make_conf(db_path)
    db_api.configure(config)

    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=" + synchronous)
        cursor.close()

    sqlalchemy.event.listen(db_api.get_placement_engine(), "connect", on_connect)
    return deploy.loadapp(config)


class Loader:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests = 0

    def call(self, method: str, path: str, body: Any = None) -> Any:
        request = webob.Request.blank(path, method=method)
        request.headers["X-Auth-Token"] = TOKEN
        request.headers["OpenStack-API-Version"] = "placement " + WRITE_VERSION
        request.headers["Accept"] = "application/json"
        if body is not None:
            request.body = json.dumps(body).encode()
            request.content_type = "application/json"
        response = request.get_response(self.app)
        self.requests += 1
        if response.status_int >= 400:
            raise SystemExit(f"{method} {path} -> {response.status}: {response.text[:500]}")
        return json.loads(response.body) if response.body else None

    def load(self, fleet: Doc) -> None:
        for rc in fleet["custom_resource_classes"]:
            self.call("PUT", "/resource_classes/" + rc)
        for trait in fleet["custom_traits"]:
            self.call("PUT", "/traits/" + trait)
        for rp in fleet["providers"]:
            self.provider(rp)
        consumers = fleet["consumers"]
        for start in range(0, len(consumers), ALLOCATION_BATCH):
            batch = consumers[start : start + ALLOCATION_BATCH]
            self.call("POST", "/allocations", {c["uuid"]: self.allocation(c) for c in batch})

    def provider(self, rp: Doc) -> None:
        body = {"name": rp["name"], "uuid": rp["uuid"]}
        if rp["parent_uuid"]:
            body["parent_provider_uuid"] = rp["parent_uuid"]
        self.call("POST", "/resource_providers", body)
        base = "/resource_providers/" + rp["uuid"]
        generation = 0
        if rp["inventories"]:
            inventories = {
                "resource_provider_generation": generation,
                "inventories": rp["inventories"],
            }
            generation = self.call("PUT", base + "/inventories", inventories)[
                "resource_provider_generation"
            ]
        if rp["traits"]:
            traits = {"resource_provider_generation": generation, "traits": rp["traits"]}
            self.call("PUT", base + "/traits", traits)

    @staticmethod
    def allocation(consumer: Doc) -> Doc:
        return {
            "allocations": {
                rp: {"resources": resources} for rp, resources in consumer["allocations"].items()
            },
            "project_id": consumer["project_id"],
            "user_id": consumer["user_id"],
            "consumer_generation": None,
        }


class SqlLoader(Loader):
    """Writes the rows the API writes would leave, in bulk (custom classes and traits
    still through the API). Provider generations count one write per inventory,
    trait set and consumer, as if each consumer had been written alone."""

    def load(self, fleet: Doc) -> None:
        for rc in fleet["custom_resource_classes"]:
            self.call("PUT", "/resource_classes/" + rc)
        for trait in fleet["custom_traits"]:
            self.call("PUT", "/traits/" + trait)
        engine = db_api.get_placement_engine()
        meta = sqlalchemy.MetaData()
        meta.reflect(engine)
        t = meta.tables
        with engine.begin() as conn:
            rc_ids = dict(
                conn.execute(
                    sqlalchemy.select(t["resource_classes"].c.name, t["resource_classes"].c.id)
                ).all()
            )
            trait_ids = dict(
                conn.execute(sqlalchemy.select(t["traits"].c.name, t["traits"].c.id)).all()
            )
            for table, rows in self.rows(fleet, rc_ids, trait_ids).items():
                if rows:
                    conn.execute(sqlalchemy.insert(t[table]), rows)

    @staticmethod
    def rows(fleet: Doc, rc_ids: dict[str, int], trait_ids: dict[str, int]) -> dict[str, list[Doc]]:
        now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        stamps = {"created_at": now, "updated_at": now}
        ids = {rp["uuid"]: i for i, rp in enumerate(fleet["providers"], start=1)}
        writes = {
            rp["uuid"]: bool(rp["inventories"]) + bool(rp["traits"]) for rp in fleet["providers"]
        }
        for consumer in fleet["consumers"]:
            for rp in consumer["allocations"]:
                writes[rp] += 1
        roots: dict[str, int] = {}
        providers: list[Doc] = []
        inventories: list[Doc] = []
        traits: list[Doc] = []
        for rp in fleet["providers"]:
            root = roots[rp["parent_uuid"]] if rp["parent_uuid"] else ids[rp["uuid"]]
            roots[rp["uuid"]] = root
            providers.append(
                {
                    "id": ids[rp["uuid"]],
                    "uuid": rp["uuid"],
                    "name": rp["name"],
                    "generation": writes[rp["uuid"]],
                    "root_provider_id": root,
                    "parent_provider_id": ids[rp["parent_uuid"]] if rp["parent_uuid"] else None,
                    **stamps,
                }
            )
            for rc, inv in rp["inventories"].items():
                inventories.append(
                    {
                        "resource_provider_id": ids[rp["uuid"]],
                        "resource_class_id": rc_ids[rc],
                        **inv,
                        **stamps,
                    }
                )
            for trait in rp["traits"]:
                traits.append(
                    {
                        "resource_provider_id": ids[rp["uuid"]],
                        "trait_id": trait_ids[trait],
                        **stamps,
                    }
                )
        projects = sorted({c["project_id"] for c in fleet["consumers"]})
        users = sorted({c["user_id"] for c in fleet["consumers"]})
        project_ids = {p: i for i, p in enumerate(projects, start=1)}
        user_ids = {u: i for i, u in enumerate(users, start=1)}
        consumers: list[Doc] = []
        allocations: list[Doc] = []
        for c in fleet["consumers"]:
            consumers.append(
                {
                    "uuid": c["uuid"],
                    "project_id": project_ids[c["project_id"]],
                    "user_id": user_ids[c["user_id"]],
                    "generation": 1,
                    "consumer_type_id": None,
                    **stamps,
                }
            )
            for rp, resources in c["allocations"].items():
                for rc, used in resources.items():
                    allocations.append(
                        {
                            "resource_provider_id": ids[rp],
                            "consumer_id": c["uuid"],
                            "resource_class_id": rc_ids[rc],
                            "used": used,
                            **stamps,
                        }
                    )
        return {
            "resource_providers": providers,
            "inventories": inventories,
            "resource_provider_traits": traits,
            "projects": [{"id": i, "external_id": p, **stamps} for p, i in project_ids.items()],
            "users": [{"id": i, "external_id": u, **stamps} for u, i in user_ids.items()],
            "consumers": consumers,
            "allocations": allocations,
        }


#: What ``check`` compares of two databases (ids and timestamps left out).
CHECK_QUERIES = {
    "providers": "SELECT p.uuid, p.name, r.uuid, pp.uuid FROM resource_providers p"
    " JOIN resource_providers r ON r.id = p.root_provider_id"
    " LEFT JOIN resource_providers pp ON pp.id = p.parent_provider_id",
    "inventories": "SELECT p.uuid, rc.name, i.total, i.reserved, i.min_unit, i.max_unit,"
    " i.step_size, i.allocation_ratio FROM inventories i"
    " JOIN resource_providers p ON p.id = i.resource_provider_id"
    " JOIN resource_classes rc ON rc.id = i.resource_class_id",
    "traits": "SELECT p.uuid, t.name FROM resource_provider_traits x"
    " JOIN resource_providers p ON p.id = x.resource_provider_id"
    " JOIN traits t ON t.id = x.trait_id",
    "consumers": "SELECT c.uuid, pr.external_id, u.external_id, c.generation, c.consumer_type_id"
    " FROM consumers c JOIN projects pr ON pr.id = c.project_id JOIN users u ON u.id = c.user_id",
    "allocations": "SELECT p.uuid, a.consumer_id, rc.name, a.used FROM allocations a"
    " JOIN resource_providers p ON p.id = a.resource_provider_id"
    " JOIN resource_classes rc ON rc.id = a.resource_class_id",
    "resource_classes": "SELECT name FROM resource_classes",
    "trait_names": "SELECT name FROM traits",
}


def dump(db_path: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = sqlalchemy.create_engine("sqlite:///" + db_path)
    with engine.connect() as conn:
        return {
            name: sorted(tuple(row) for row in conn.execute(sqlalchemy.text(sql)))
            for name, sql in CHECK_QUERIES.items()
        }


class QuietHandler(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


LOADERS = {"load": SqlLoader, "load-api": Loader}


def main(argv: list[str]) -> None:
    mode, db_path = argv[1], argv[2]
    if mode in LOADERS:
        started = time.perf_counter()
        migration_started = time.perf_counter()
        app = make_app(db_path, synchronous="OFF")
        migrated = time.perf_counter() - migration_started
        with open(argv[3]) as f:
            fleet = json.load(f)
        loader = LOADERS[mode](app)
        loader.load(fleet)
        report = {
            "seconds": time.perf_counter() - started,
            "schema_seconds": migrated,
            "requests": loader.requests,
        }
        print(json.dumps(report), flush=True)
    elif mode == "serve":
        app = make_app(db_path)
        server = wsgiref.simple_server.make_server("127.0.0.1", 0, app, handler_class=QuietHandler)
        print("PORT", server.server_port, flush=True)
        server.serve_forever()
    elif mode == "compare":
        first, second = dump(db_path), dump(argv[3])
        differences = {k: [len(first[k]), len(second[k])] for k in first if first[k] != second[k]}
        print(json.dumps({"same": not differences, "differences": differences}), flush=True)
    else:
        raise SystemExit(USAGE)


if __name__ == "__main__":
    main(sys.argv)
