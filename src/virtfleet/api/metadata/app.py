"""The metadata service as a WSGI app, on its own listener (``[metadata] listen``).

Each request comes through a host's metadata proxy, which adds the instance's identity
(``X-Instance-ID``, ``X-Tenant-ID``, ``X-Instance-ID-Signature``, ``X-Forwarded-For``:
:mod:`virtfleet.network.metadata_identity`). A request without them is a 400; a bad
signature, an empty ``[metadata] shared_secret`` or a tenant that does not own the
instance is a 403; an unknown instance or path a 404. The content comes from
:mod:`virtfleet.servers.instance_data`, the builder the config drive uses too:

- ``/`` the EC2 versions; ``/<version>/meta-data/...`` the EC2 tree,
  ``/<version>/user-data``;
- ``/openstack`` the OpenStack versions; ``/openstack/<version>/`` its files
  (``meta_data.json``, ``user_data``, ``network_data.json``, ``vendor_data.json``,
  ``vendor_data2.json``).

Only GET (and HEAD) are served; nothing here needs a Keystone token (the signature is
the proof), so this listener must be reachable from the hosts' proxies only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from virtfleet import errors
from virtfleet.db import servers
from virtfleet.db.engine import Database
from virtfleet.network import metadata_identity
from virtfleet.network.server_ports import ServerPorts
from virtfleet.servers import instance_data as data
from virtfleet.servers.instance_facts import instance_facts

LOG = logging.getLogger(__name__)
StartResponse = Callable[[str, list[tuple[str, str]]], Any]
REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Not Allowed"}


class _Answer(Exception):  # noqa: N818  # an answer, raised to end the request early
    def __init__(self, status: int, body: bytes | str, content_type: str = "text/plain") -> None:
        super().__init__(status)
        self.status = status
        self.body = body.encode() if isinstance(body, str) else body
        self.content_type = content_type


class MetadataApp:
    """Serves one instance's metadata per request; ``secret`` is ``[metadata]
    shared_secret`` (read per request through the callable, so a reload applies)."""

    def __init__(
        self, db: Database, networks: ServerPorts | None, secret: Callable[[], str]
    ) -> None:
        self._db = db
        self._networks = networks
        self._secret = secret

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
                raise _Answer(405, "The metadata service answers GET only.\n")
            facts = self._facts(environ)
            reply = _Answer(200, *_resolve(facts, str(environ.get("PATH_INFO", "/"))))
        except _Answer as answer:
            reply = answer
        headers = [("Content-Type", reply.content_type), ("Content-Length", str(len(reply.body)))]
        start_response(f"{reply.status} {REASONS[reply.status]}", headers)
        return [b""] if environ.get("REQUEST_METHOD") == "HEAD" else [reply.body]

    def _facts(self, environ: dict[str, Any]) -> data.InstanceFacts:
        try:
            who = metadata_identity.identify(
                self._secret(), metadata_identity.from_environ(environ)
            )
        except metadata_identity.NotIdentified as exc:
            status = 400 if "without the" in exc.message else 403
            LOG.warning("metadata request refused (%s): %s", status, exc.message)
            raise _Answer(status, exc.message + "\n") from None
        try:
            server = servers.get(self._db, who.instance_id)
        except errors.NotFound:
            raise _Answer(404, f"Instance {who.instance_id} could not be found.\n") from None
        if server.project_id != who.project_id:
            raise _Answer(
                403, f"Tenant {who.project_id} does not own instance {who.instance_id}.\n"
            )
        return instance_facts(server, self._networks)


def _listing(names: Iterable[str]) -> tuple[str, str]:
    return "\n".join(names), "text/plain"


def _resolve(facts: data.InstanceFacts, path: str) -> tuple[bytes | str, str]:
    parts = [p for p in path.split("/") if p]
    if not parts:
        return _listing((*data.EC2_VERSIONS, data.LATEST))
    if parts[0] == "openstack":
        return _openstack(facts, parts[1:])
    return _ec2(facts, parts)


def _openstack(facts: data.InstanceFacts, parts: list[str]) -> tuple[bytes | str, str]:
    if not parts:
        return _listing((*data.OPENSTACK_VERSIONS, data.LATEST))
    version = parts[0]
    if version != data.LATEST and version not in data.OPENSTACK_VERSIONS:
        raise _Answer(404, f"No OpenStack metadata version {version}.\n")
    files = data.openstack_files(facts, version)
    if len(parts) == 1:
        return _listing(sorted(files))
    found = files.get(parts[1]) if len(parts) == 2 else None
    if found is None:
        raise _Answer(404, f"No file {'/'.join(parts[1:])} in openstack/{version}.\n")
    kind = "application/json" if parts[1].endswith(".json") else "application/octet-stream"
    return found, kind


def _ec2(facts: data.InstanceFacts, parts: list[str]) -> tuple[bytes | str, str]:
    version = parts[0]
    if version != data.LATEST and version not in data.EC2_VERSIONS:
        raise _Answer(404, f"No EC2 metadata version {version}.\n")
    if len(parts) == 1:
        return _listing(["meta-data/", *(["user-data"] if facts.user_data is not None else [])])
    if parts[1] == "user-data" and len(parts) == 2:
        if facts.user_data is None:
            raise _Answer(404, "This instance has no user data.\n")
        return facts.user_data, "application/octet-stream"
    if parts[1] != "meta-data":
        raise _Answer(404, f"No {parts[1]} in EC2 metadata.\n")
    return _walk(data.ec2_metadata(facts), parts[2:])


def _walk(node: Any, parts: list[str]) -> tuple[bytes | str, str]:
    for depth, part in enumerate(parts):
        if not isinstance(node, dict) or part not in node or part == "_name":
            raise _Answer(404, f"No meta-data/{'/'.join(parts[: depth + 1])}.\n")
        node = node[part]
    if isinstance(node, dict):
        names = []
        for key, value in node.items():
            if key == "_name":
                continue
            if isinstance(value, dict) and "_name" in value:
                names.append(f"{key}={value['_name']}")  # public-keys: 0=<key name>
            else:
                names.append(f"{key}/" if isinstance(value, dict) else key)
        return _listing(names)
    if isinstance(node, list):
        return _listing(str(v) for v in node)
    return str(node), "text/plain"
