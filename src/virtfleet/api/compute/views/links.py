"""The links of a Compute API item as every view writes them (versioned ``self``,
unversioned ``bookmark``)."""

from __future__ import annotations

from virtfleet.api.wsgi import Request


def links(req: Request, collection: str, item_id: str) -> list[dict[str, str]]:
    """``self`` (versioned) and ``bookmark`` (unversioned) links of one item."""
    base = f"{req.host_url}{req.script_name}"
    return [
        {"rel": "self", "href": f"{base}/v2.1/{collection}/{item_id}"},
        {"rel": "bookmark", "href": f"{base}/{collection}/{item_id}"},
    ]
