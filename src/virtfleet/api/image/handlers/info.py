"""Discovery documents of the Image API: ``/v2/info/import`` (the import methods this
site enables) and ``/v2/info/stores`` (its stores), in Glance's shapes."""

from __future__ import annotations

import webob

from virtfleet.api.wsgi import Request, json_response
from virtfleet.image.service import ImageService

STORE_ID = "file"


def import_methods(images: ImageService, req: Request) -> webob.Response:
    """GET /v2/info/import: glance-direct, and web-download when the operator allows
    hosts to fetch from (``[image] web_download_allowed_hosts``)."""
    return json_response(
        {
            "import-methods": {
                "description": "Import methods available.",
                "type": "array",
                "value": list(images.import_methods),
            }
        }
    )


def stores(images: ImageService, req: Request) -> webob.Response:
    """GET /v2/info/stores: the one store, on the server's disk."""
    return json_response(
        {
            "stores": [
                {
                    "id": STORE_ID,
                    "description": "Image data on the virtfleet server's disk.",
                    "default": True,
                }
            ]
        }
    )
