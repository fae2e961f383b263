"""GET /allocation_candidates (1.10)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import webob

from virtfleet.api.placement import inputs, responses
from virtfleet.api.placement.microversion import require, since
from virtfleet.api.placement.schemas import allocation_candidate as schema
from virtfleet.api.wsgi import Request
from virtfleet.placement.query import parse_candidate_query
from virtfleet.placement.service import PlacementService
from virtfleet.placement.types import AllocationRequest, CandidatesResult, ProviderSummary

# Query schema by version, newest first.
_SCHEMAS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("1.36", schema.GET_V1_36),
    ("1.35", schema.GET_V1_35),
    ("1.33", schema.GET_V1_33),
    ("1.31", schema.GET_V1_31),
    ("1.25", schema.GET_V1_25),
    ("1.21", schema.GET_V1_21),
    ("1.17", schema.GET_V1_17),
    ("1.16", schema.GET_V1_16),
    ("1.10", schema.GET_V1_10),
)


def list_candidates(svc: PlacementService, req: Request) -> webob.Response:
    """Allocation requests that satisfy the query, and summaries of their providers."""
    require(req, "1.10")
    params = inputs.query_lists(req)
    inputs.validate_query(params, next(s for version, s in _SCHEMAS if since(req, version)))
    mv = req.microversion
    query = parse_candidate_query(params, (mv.major, mv.minor))
    result = svc.allocation_candidates(query)
    if since(req, "1.34"):  # the current shape: joined from fragments each value keeps
        return responses.respond_encoded(req, _encoded(result))
    requests = list(result.allocation_requests)
    summaries = dict(result.provider_summaries)
    if not since(req, "1.29"):
        requests = [r for r in requests if _single_provider_per_tree(r, summaries)]
        used = {rp for r in requests for rp in r.allocations}
        summaries = {rp: s for rp, s in summaries.items() if rp in used}
    form = _Form.of(req, {rc for group in query.groups for rc in group.resources})
    return responses.respond(
        req,
        {
            "allocation_requests": [_request(form, r) for r in requests],
            "provider_summaries": {rp: _summary(form, s) for rp, s in sorted(summaries.items())},
        },
    )


@dataclass(frozen=True, slots=True)
class _Form:
    """What the request's microversion shows (decided once, not per candidate)."""

    allocations_dict: bool  # 1.12
    mappings: bool  # 1.34
    every_class: bool  # 1.27: else only the requested classes are summarised
    traits: bool  # 1.17
    tree: bool  # 1.29: parent and root provider uuids
    requested: frozenset[str]

    @classmethod
    def of(cls, req: Request, requested: set[str]) -> _Form:
        return cls(
            allocations_dict=since(req, "1.12"),
            mappings=since(req, "1.34"),
            every_class=since(req, "1.27"),
            traits=since(req, "1.17"),
            tree=since(req, "1.29"),
            requested=frozenset(requested),
        )


def _encoded(result: CandidatesResult) -> list[bytes]:
    """The 1.34+ body in parts, from the JSON each candidate and each tree's
    summaries keep (reused by every answer until the tree changes)."""
    return [
        b'{"allocation_requests": [',
        *responses.joined_in_pieces([r.json for r in result.allocation_requests]),
        b'], "provider_summaries": {',
        *responses.joined_in_pieces([source.summaries_json() for source in result.summary_sources]),
        b"}}",
    ]


def _single_provider_per_tree(
    request: AllocationRequest, summaries: Mapping[str, ProviderSummary]
) -> bool:
    """Before 1.29 a candidate may not combine providers of one tree."""
    roots = [
        summaries[rp].root_provider_uuid if rp in summaries else rp for rp in request.allocations
    ]
    return len(roots) == len(set(roots))


def _request(form: _Form, request: AllocationRequest) -> dict[str, Any]:
    allocations: Any
    if form.allocations_dict:
        allocations = {
            rp: {"resources": dict(resources)}
            for rp, resources in sorted(request.allocations.items())
        }
    else:
        allocations = [
            {"resource_provider": {"uuid": rp}, "resources": dict(resources)}
            for rp, resources in sorted(request.allocations.items())
        ]
    body: dict[str, Any] = {"allocations": allocations}
    if form.mappings:
        body["mappings"] = {suffix: list(rps) for suffix, rps in request.mappings.items()}
    return body


def _summary(form: _Form, summary: ProviderSummary) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resources": {
            rc: {"capacity": usage.capacity, "used": usage.used}
            for rc, usage in sorted(summary.resources.items())
            if form.every_class or rc in form.requested
        }
    }
    if form.traits:
        body["traits"] = sorted(summary.traits)
    if form.tree:
        body["parent_provider_uuid"] = summary.parent_provider_uuid
        body["root_provider_uuid"] = summary.root_provider_uuid
    return body
