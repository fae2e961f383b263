"""Image API v2 routes (mounted at ``/image``): versions, images, image data, schema."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any, Protocol

import webob

from virtfleet.api.image.errors import render_error
from virtfleet.api.image.views import image_schema, image_view, images_schema
from virtfleet.api.wsgi import Handler, HTTPError, Request, Route, Router, json_response
from virtfleet.image.service import Forbidden, ImageService

PATCH_TYPE = "application/openstack-images-v2.1-json-patch"
VERSIONS = ("2.9", "2.8", "2.7", "2.6", "2.5", "2.4", "2.3", "2.2", "2.1", "2.0")
UPLOAD_CHUNK = 64 * 1024
DATA_ROUTE = "/v2/images/{image_id}/file"
UUID_FORM = re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


class ImageDeps(Protocol):
    """What the Image API needs (``ComputeDeps`` has it too)."""

    @property
    def images(self) -> ImageService: ...


def make_image_app(deps: ImageDeps) -> Router:
    """The Image API as a WSGI app."""
    api = _ImageAPI(deps.images)
    routes = [
        Route("GET", "/", api.versions_choice, "get_versions"),
        Route("GET", "/versions", api.versions, "get_versions"),
        Route("GET", "/v2", api.versions, "get_versions"),
        Route("GET", "/v2/images", api.list_images, "get_images"),
        Route("POST", "/v2/images", api.create_image, "add_image"),
        Route("GET", "/v2/images/{image_id}", api.show_image, "get_image"),
        Route("PATCH", "/v2/images/{image_id}", api.update_image, "modify_image"),
        Route("DELETE", "/v2/images/{image_id}", api.delete_image, "delete_image"),
        Route("PUT", DATA_ROUTE, api.upload, "upload_image"),
        Route("GET", "/v2/images/{image_id}/file", api.download, "download_image"),
        Route("GET", "/v2/schemas/image", api.schema, "get_schema"),
        Route("GET", "/v2/schemas/images", api.schemas, "get_schema"),
    ]
    return Router(
        [r._replace(handler=_forbidden_is_403(r.handler)) for r in routes],
        render_error,
        streaming=(DATA_ROUTE,),  # the image service bounds uploads ([image] options)
    )


def _forbidden_is_403(handler: Handler) -> Handler:
    @functools.wraps(handler)
    def wrapped(req: Request, **params: str) -> webob.Response:
        try:
            return handler(req, **params)
        except Forbidden as exc:
            raise HTTPError(403, exc.message) from exc

    return wrapped


class _ImageAPI:
    def __init__(self, images: ImageService) -> None:
        self.images = images

    # ---------------------------------------------------------------- versions

    def _version_list(self, req: Request) -> dict[str, Any]:
        href = f"{req.host_url}{req.script_name}/v2/"
        return {
            "versions": [
                {
                    "id": f"v{version}",
                    "status": "CURRENT" if i == 0 else "SUPPORTED",
                    "links": [{"rel": "self", "href": href}],
                }
                for i, version in enumerate(VERSIONS)
            ]
        }

    def versions_choice(self, req: Request) -> webob.Response:
        return json_response(self._version_list(req), status=300)

    def versions(self, req: Request) -> webob.Response:
        return json_response(self._version_list(req))

    def schema(self, req: Request) -> webob.Response:
        return json_response(image_schema())

    def schemas(self, req: Request) -> webob.Response:
        return json_response(images_schema())

    # ------------------------------------------------------------------ images

    def list_images(self, req: Request) -> webob.Response:
        params = dict(req.GET)
        limit_text = params.pop("limit", None)
        marker = params.pop("marker", None)
        for ignored in ("sort_key", "sort_dir", "sort", "member_status"):
            params.pop(ignored, None)
        limit = _limit(limit_text)
        found = self.images.list(params, limit=limit, marker=marker)
        body: dict[str, Any] = {
            "images": [image_view(i) for i in found],
            "first": "/v2/images",
            "schema": "/v2/schemas/images",
        }
        if limit is not None and len(found) == limit and found:
            body["next"] = f"/v2/images?marker={found[-1].id}&limit={limit}"
        return json_response(body)

    def create_image(self, req: Request) -> webob.Response:
        if req.content_type and req.content_type != "application/json":
            raise HTTPError(
                415,
                f"Unsupported Content-Type {req.content_type!r}: image create takes "
                "application/json.",
            )
        body = req.json_body_or_400()
        if not isinstance(body, dict):
            raise HTTPError(400, "Image create body must be a JSON object.")
        _check_image_id(body.get("id"))
        image = self.images.create(body, owner=req.headers.get("X-Project-Id"))
        return json_response(
            image_view(image),
            status=201,
            headers={"Location": f"{req.host_url}{req.script_name}/v2/images/{image.id}"},
        )

    def show_image(self, req: Request, image_id: str) -> webob.Response:
        return json_response(image_view(self.images.get(image_id)))

    def update_image(self, req: Request, image_id: str) -> webob.Response:
        if req.content_type != PATCH_TYPE:
            raise HTTPError(
                415,
                f"Unsupported Content-Type {req.content_type or '(none)'}: "
                f"image updates take {PATCH_TYPE}.",
                headers={"Accept-Patch": PATCH_TYPE},
            )
        patch = req.json_body_or_400()
        if not isinstance(patch, list):
            raise HTTPError(400, "A JSON patch must be a list of operations.")
        return json_response(image_view(self.images.update(image_id, patch)))

    def delete_image(self, req: Request, image_id: str) -> webob.Response:
        self.images.delete(image_id)
        return json_response(None, status=204)

    # -------------------------------------------------------------------- data

    def upload(self, req: Request, image_id: str) -> webob.Response:
        self.images.upload(image_id, _body_chunks(req), declared_size=req.content_length)
        return json_response(None, status=204)

    def download(self, req: Request, image_id: str) -> webob.Response:
        image, data = self.images.download(image_id)
        if data is None:
            return json_response(None, status=204)
        resp = webob.Response(status=200, content_type="application/octet-stream", charset=None)
        resp.app_iter = data
        resp.content_length = image.size
        if image.checksum:
            resp.headers["Content-MD5"] = image.checksum
        return resp


def _check_image_id(value: Any) -> None:
    """An image id given at create is a UUID (as Glance's schema says); 400 otherwise."""
    if value is None:
        return
    if not isinstance(value, str) or not UUID_FORM.fullmatch(value):
        raise HTTPError(400, f"Invalid id {value!r}: expected a UUID (8-4-4-4-12 hex digits).")


def _limit(text: str | None) -> int | None:
    if text is None:
        return None
    if not re.fullmatch(r"[0-9]{1,18}", text):
        raise HTTPError(400, f"Invalid limit {text!r}: expected an integer >= 0.")
    return int(text)


def _body_chunks(req: Request) -> Iterator[bytes]:
    stream = req.body_file
    while chunk := stream.read(UPLOAD_CHUNK):
        yield chunk
