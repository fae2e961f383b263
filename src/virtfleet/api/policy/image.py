"""The Image API's rules, with Glance's names.

Like Glance, the rules decide who may call an operation at all; which images a caller
sees (visibility public / community / shared with members / private to the owner) is
decided by the Image API itself, and another project's private image is a 404.
"""

from __future__ import annotations

from oslo_policy import policy

from virtfleet.api.policy.personas import (
    ADMIN,
    ANYONE,
    PROJECT_MEMBER_OR_ADMIN,
    PROJECT_READER_OR_ADMIN,
    SERVICE,
    documented,
)

IMAGE = "/v2/images/{image_id}"
MEMBERS = f"{IMAGE}/members"


def _rule(name: str, check: str, description: str, method: str, path: str) -> policy.RuleDefault:
    return documented(name, check, description, (method, path))


RULES = [
    _rule("get_versions", ANYONE, "List Image API versions.", "GET", "/versions"),
    _rule("get_schema", ANYONE, "Read the image schema.", "GET", "/v2/schemas/image"),
    _rule("get_schemas", ANYONE, "Read the image list schema.", "GET", "/v2/schemas/images"),
    _rule(
        "get_images",
        PROJECT_READER_OR_ADMIN,
        "List the images the project can see.",
        "GET",
        "/v2/images",
    ),
    _rule("get_image", PROJECT_READER_OR_ADMIN, "Show an image the project can see.", "GET", IMAGE),
    _rule(
        "add_image",
        PROJECT_MEMBER_OR_ADMIN,
        "Create an image owned by the project.",
        "POST",
        "/v2/images",
    ),
    documented(
        "modify_image",
        PROJECT_MEMBER_OR_ADMIN,
        "Update an image the project owns (attributes, properties, one tag).",
        ("PATCH", IMAGE),
        ("PUT", f"{IMAGE}/tags/{{tag}}"),
        ("DELETE", f"{IMAGE}/tags/{{tag}}"),
    ),
    _rule(
        "delete_image",
        PROJECT_MEMBER_OR_ADMIN,
        "Delete an image the project owns.",
        "DELETE",
        IMAGE,
    ),
    documented(
        "upload_image",
        PROJECT_MEMBER_OR_ADMIN,
        "Upload an image's data, or stage it for a glance-direct import.",
        ("PUT", f"{IMAGE}/file"),
        ("PUT", f"{IMAGE}/stage"),
    ),
    _rule(
        "download_image",
        f"{PROJECT_READER_OR_ADMIN} or {SERVICE}",
        "Download an image's data (a service: the data of any image, as agents fetch it "
        "to boot a server).",
        "GET",
        f"{IMAGE}/file",
    ),
    _rule(
        "add_member", PROJECT_MEMBER_OR_ADMIN, "Share an image the project owns.", "POST", MEMBERS
    ),
    _rule(
        "get_members",
        PROJECT_READER_OR_ADMIN,
        "List an image's members (the owner: all; a member: itself).",
        "GET",
        MEMBERS,
    ),
    _rule(
        "get_member",
        PROJECT_READER_OR_ADMIN,
        "Show one member of an image (to the owner or that member).",
        "GET",
        f"{MEMBERS}/{{member_id}}",
    ),
    _rule(
        "modify_member",
        PROJECT_MEMBER_OR_ADMIN,
        "Accept or reject an image shared with the project.",
        "PUT",
        f"{MEMBERS}/{{member_id}}",
    ),
    _rule(
        "delete_member",
        PROJECT_MEMBER_OR_ADMIN,
        "Stop sharing an image the project owns with a project.",
        "DELETE",
        f"{MEMBERS}/{{member_id}}",
    ),
    _rule(
        "import_image",
        PROJECT_MEMBER_OR_ADMIN,
        "Import data into an image the project owns (glance-direct, web-download).",
        "POST",
        f"{IMAGE}/import",
    ),
    _rule("get_import_info", ANYONE, "List the enabled import methods.", "GET", "/v2/info/import"),
    _rule("get_stores_info", ANYONE, "List the image stores.", "GET", "/v2/info/stores"),
    _rule("publicize_image", ADMIN, "Make an image public (visibility=public).", "PATCH", IMAGE),
    _rule("communitize_image", PROJECT_MEMBER_OR_ADMIN, "Make an image community.", "PATCH", IMAGE),
]
