"""The root document (``GET /``): which APIs this listener serves and where."""

from __future__ import annotations

from typing import Any

import webob

from virtfleet.api.wsgi import HTTPError, Request, Route, Router, json_response

# (service type, path prefix, current version, description)
SERVICES: tuple[tuple[str, str, str, str], ...] = (
    ("compute", "/compute", "v2.1", "OpenStack Compute API subset (servers, flavors)"),
    ("image", "/image", "v2", "OpenStack Image API v2 subset (images and their data)"),
    ("network", "/networking", "v2.0", "OpenStack Networking API v2.0 subset (networks, ports)"),
    ("placement", "/placement", "1.0", "OpenStack Placement API"),
)


def root_document(req: Request) -> dict[str, Any]:
    base = f"{req.host_url}{req.script_name}"
    return {
        "services": [
            {
                "type": service_type,
                "version": version,
                "description": description,
                "links": [{"rel": "self", "href": f"{base}{prefix}/"}],
            }
            for service_type, prefix, version, description in SERVICES
        ]
    }


def _root(req: Request) -> webob.Response:
    return json_response(root_document(req))


def _render_error(req: Request, error: HTTPError) -> webob.Response:
    return json_response({"error": {"code": error.status, "message": error.message}}, error.status)


def make_root_app() -> Router:
    """A WSGI app serving the root document at ``/`` (404 JSON elsewhere)."""
    return Router([Route("GET", "/", _root, "virtfleet:root")], _render_error)


# --------------------------------------------------------------------------- identity

IDENTITY_VERSION = "v3.14"


def identity_version(req: Request) -> dict[str, Any]:
    """The Identity v3 version entry (no Identity API behind it: see below)."""
    return {
        "id": IDENTITY_VERSION,
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": f"{req.host_url}{req.script_name}/v3/"}],
        "media-types": [
            {"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}
        ],
    }


def make_identity_stub_app() -> Router:
    """Identity version discovery only (``/`` and ``/v3``), mounted at ``/identity``.

    Some ``openstack`` commands (e.g. ``flavor create``) build an Identity v3 client
    before doing anything else, and with ``auth_type: none`` that client needs a
    version document to exist; clouds.yaml points ``identity_endpoint_override`` here.
    No Identity API calls are served.
    """

    def index(req: Request) -> webob.Response:
        return json_response({"versions": {"values": [identity_version(req)]}}, status=300)

    def show(req: Request) -> webob.Response:
        return json_response({"version": identity_version(req)})

    return Router(
        [
            Route("GET", "/", index, "identity:versions:index"),
            Route("GET", "/v3", show, "identity:versions:show"),
        ],
        _render_error,
    )


# --------------------------------------------------------------------------- volume

VOLUME_VERSION = "v3.0"


def volume_version(req: Request) -> dict[str, Any]:
    """The Block Storage v3 version entry (no volumes behind it: see below)."""
    return {
        "id": VOLUME_VERSION,
        "status": "CURRENT",
        "version": "3.0",
        "min_version": "3.0",
        "updated": "2016-02-08T12:20:21Z",
        "links": [{"rel": "self", "href": f"{req.host_url}{req.script_name}/v3/"}],
        "media-types": [
            {"base": "application/json", "type": "application/vnd.openstack.volume+json;version=3"}
        ],
    }


def make_volume_stub_app() -> Router:
    """Block Storage version discovery and an empty availability zone list, mounted at
    ``/volume`` (test mode only).

    With ``auth_type: none`` there is no service catalog, so ``openstack availability
    zone list`` takes the Block Storage API to be there and asks it for its zones;
    without an endpoint of its own the SDK would send it to the no-auth endpoint
    (Placement) and fail. clouds.yaml points ``block_storage_endpoint_override``
    here, and the answer is the truth: virtfleet has no volumes, so no volume zones.
    (With Keystone the catalog has no Block Storage entry and the CLI asks nothing.)
    """

    def index(req: Request) -> webob.Response:
        return json_response({"versions": [volume_version(req)]}, status=300)

    def show(req: Request) -> webob.Response:
        return json_response({"version": volume_version(req)})

    def zones(req: Request) -> webob.Response:
        return json_response({"availabilityZoneInfo": []})

    return Router(
        [
            Route("GET", "/", index, "volume:versions:index"),
            Route("GET", "/v3", show, "volume:versions:show"),
            Route("GET", "/v3/os-availability-zone", zones, "volume:availability_zones:index"),
        ],
        _render_error,
    )
