"""The Image API's one route table (paths under ``/image``), with Glance's policy
rule names."""

from __future__ import annotations

from virtfleet.api.image.handlers import (
    image_data,
    image_import,
    image_tags,
    images,
    info,
    members,
    schema_documents,
    versions,
)
from virtfleet.api.wsgi import Route

IMAGE = "/v2/images/{image_id}"
DATA = f"{IMAGE}/file"
MEMBERS = f"{IMAGE}/members"
MEMBER = f"{MEMBERS}/{{member_id}}"
TAG = f"{IMAGE}/tags/{{tag}}"
STAGE = f"{IMAGE}/stage"

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
    Route("POST", MEMBERS, members.create, "add_member"),
    Route("GET", MEMBERS, members.index, "get_members"),
    Route("GET", MEMBER, members.show, "get_member"),
    Route("PUT", MEMBER, members.update, "modify_member"),
    Route("DELETE", MEMBER, members.delete, "delete_member"),
    Route("PUT", TAG, image_tags.add, "modify_image"),
    Route("DELETE", TAG, image_tags.delete, "modify_image"),
    Route("PUT", STAGE, image_import.stage, "upload_image"),
    Route("POST", f"{IMAGE}/import", image_import.import_image, "import_image"),
    Route("GET", "/v2/info/import", info.import_methods, "get_import_info"),
    Route("GET", "/v2/info/stores", info.stores, "get_stores_info"),
    Route("GET", "/v2/schemas/image", schema_documents.image, "get_schema"),
    Route("GET", "/v2/schemas/images", schema_documents.image_list, "get_schemas"),
)

#: Routes whose handlers read (and bound) their own bodies.
STREAMING = (DATA, STAGE)
