"""Placement: resource providers, inventories, traits, allocations and allocation
candidates, with OpenStack Placement's semantics (up to microversion 1.39).

Use :class:`PlacementService` for everything; :func:`parse_candidate_query` turns
``GET /allocation_candidates`` query parameters into a :class:`CandidateQuery`.

Modules: ``service`` (the facade), ``types`` (value types), ``query`` (parser),
``engine`` (candidate search, a pure function of a ``snapshot``), ``sharing``
(sharing providers, around the engine), ``loader`` (trees
from the database), ``*_db`` (persistence), ``names`` (trait/class validators),
``exceptions`` (errors with Placement's codes).
"""

from __future__ import annotations

from virtfleet.placement.query import parse_candidate_query
from virtfleet.placement.service import PlacementService
from virtfleet.placement.sharing import find_candidates
from virtfleet.placement.types import (
    AllocationRequest,
    CandidateQuery,
    CandidatesResult,
    ConsumerAllocations,
    ConsumerRequest,
    Inventory,
    Provider,
    ProviderSummary,
    RequestGroup,
)

__all__ = [
    "AllocationRequest",
    "CandidateQuery",
    "CandidatesResult",
    "ConsumerAllocations",
    "ConsumerRequest",
    "Inventory",
    "PlacementService",
    "Provider",
    "ProviderSummary",
    "RequestGroup",
    "find_candidates",
    "parse_candidate_query",
]
