"""JSON schemas of the Compute API's request bodies, per microversion.

Each module holds one resource's schemas as ``<BODY>_V2_<minor>`` constants (a later
version copies and extends the one before) and, per body, a :data:`Versioned` table
(newest first) that :func:`validate_body` picks from by the request's microversion.
Every message a schema answers with is set by its ``x-messages`` (see
:mod:`virtfleet.api.validation`), so the 400s name the field as the handlers did.
"""

from __future__ import annotations

from typing import Any

from virtfleet.api.compute.versions import at_least
from virtfleet.api.validation import Schema, validate
from virtfleet.api.wsgi import Request

#: ``((first microversion, schema), ...)``, newest first.
Versioned = tuple[tuple[str, Schema], ...]


def schema_for(req: Request, table: Versioned) -> Schema:
    """The schema of ``table`` for the request's microversion."""
    for version, schema in table:
        if at_least(req, version):
            return schema
    raise ValueError(f"no schema for microversion {req.microversion}")  # routes gate first


def validate_body(req: Request, data: Any, table: Versioned) -> None:
    """400 with the schema's message unless ``data`` fits the request's schema."""
    validate(data, schema_for(req, table))
