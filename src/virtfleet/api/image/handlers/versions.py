"""The Image API's version documents (``/``, ``/versions``, ``/v2``)."""

from __future__ import annotations

from typing import Any

import webob

from virtfleet.api.image.versions import VERSIONS
from virtfleet.api.wsgi import Request, json_response
from virtfleet.image.service import ImageService


def choices(images: ImageService, req: Request) -> webob.Response:
    """GET /: 300 Multiple Choices with every version."""
    return json_response(_version_list(req), status=300)


def index(images: ImageService, req: Request) -> webob.Response:
    """GET /versions and GET /v2: every version, the newest CURRENT."""
    return json_response(_version_list(req))


def _version_list(req: Request) -> dict[str, Any]:
    href = f"{req.host_url}{req.script_name}/v2/"
    return {
        "versions": [
            {
                "id": f"v{version}",
                "status": "CURRENT" if i == 0 else "SUPPORTED",
                "links": [{"rel": "self", "href": href}],
            }
            for i, (version, _) in enumerate(VERSIONS)
        ]
    }
