"""Request bodies checked against JSON schemas, with 400 messages naming the field.

A schema (or any subschema) may carry ``"x-messages"``: per JSON-schema keyword that
refuses a value (``type``, ``pattern``, ``required``, ``additionalProperties``, ...),
the message to answer with, formatted with ``value`` (the refused value), ``field``
(its path, or the schema's ``x-name`` at the top), ``key`` (the last element of that
path, e.g. the property a value belongs to), ``names`` (the unexpected or missing
property names, quoted and comma-separated) and ``bare_names`` (the same, unquoted).
Without one, the message is Nova's:
``Invalid input for field/attribute F. Value: V. <what is wrong>``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import jsonschema

from virtfleet.api.wsgi import HTTPError

Schema = Mapping[str, Any]


def validate(data: Any, schema: Schema) -> None:
    """400 with the message of the first problem ``schema`` finds in ``data``."""
    problem = jsonschema.exceptions.best_match(_validator(schema).iter_errors(data))
    if problem is not None:
        raise HTTPError(400, message_for(problem, schema))


def message_for(problem: jsonschema.ValidationError, schema: Schema) -> str:
    """The 400 message for one validation error (see the module docstring)."""
    field = "/".join(str(p) for p in problem.absolute_path) or str(schema.get("x-name", "body"))
    listed: list[str] = []
    if problem.validator == "additionalProperties" and isinstance(problem.instance, dict):
        allowed = set(problem.schema.get("properties", {}))
        patterns = list(problem.schema.get("patternProperties", {}))
        listed = sorted(
            k for k in set(problem.instance) - allowed if not any(re.search(p, k) for p in patterns)
        )
    elif problem.validator == "required" and isinstance(problem.instance, dict):
        listed = [k for k in problem.validator_value if k not in problem.instance]
    template = problem.schema.get("x-messages", {}).get(problem.validator)
    if template is not None:
        return str(template).format(
            value=problem.instance,
            field=field,
            key=problem.absolute_path[-1] if problem.absolute_path else "",
            names=", ".join(repr(k) for k in listed),
            bare_names=", ".join(listed),
        )
    return (
        f"Invalid input for field/attribute {field}. Value: {problem.instance!r}. "
        f"{problem.message}."
    )


_VALIDATORS: dict[int, jsonschema.Draft4Validator] = {}


def _validator(schema: Schema) -> jsonschema.Draft4Validator:
    """One validator per schema object (schemas are module-level constants)."""
    found = _VALIDATORS.get(id(schema))
    if found is None or found.schema is not schema:
        found = jsonschema.Draft4Validator(schema)
        _VALIDATORS[id(schema)] = found
    return found
