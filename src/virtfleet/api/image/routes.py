"""The Image API's one route table (paths under ``/image``), with Glance's policy
rule names."""

from __future__ import annotations

from virtfleet.api.image.handlers import image_data, images, schema_documents, versions
from virtfleet.api.wsgi import Route

IMAGE = "/v2/images/{image_id}"
DATA = f"{IMAGE}/file"

ROUTES = (
    Route("GET", "/", versions.choices, "get_versions"),
    Route("GET", "/versions", versions.index, "get_versions"),
    Route("GET", "/v2", versions.index, "get_versions"),
    Route("GET", "/v2/images", images.index, "get_images"),
    Route("POST", "/v2/images", images.create, "add_image"),
    Route("GET", IMAGE, images.show, "get_image"),
    Route("PATCH", IMAGE, images.update, "modify_image"),
    Route("DELETE", IMAGE, images.delete, "delete_image"),
    Route("PUT", DATA, image_data.upload, "upload_image"),
    Route("GET", DATA, image_data.download, "download_image"),
    Route("GET", "/v2/schemas/image", schema_documents.image, "get_schema"),
    Route("GET", "/v2/schemas/images", schema_documents.image_list, "get_schemas"),
)

#: Routes whose handlers read (and bound) their own bodies.
STREAMING = (DATA,)
