"""Placement microversions: the one list of versions and the gate handlers use.

Every behaviour that depends on the microversion asks :func:`since` with a version
from :data:`VERSIONS`; asking for a version that is not in the list is a programming
error, and ``tests/api_placement/test_microversion.py`` fails when a version is added
here without a gate (or a gate without a version here).
"""

from __future__ import annotations

import functools

from virtfleet.api.wsgi import HTTPError, Microversion, Request, VersionPolicy

# One line per microversion, oldest first; the comment says what it changed.
VERSIONS: tuple[str, ...] = (
    "1.0",  # resource providers, inventories, usages, allocations
    "1.1",  # provider aggregates (GET/PUT .../aggregates); `aggregates` provider link
    "1.2",  # /resource_classes: list, create, show, rename, delete custom classes
    "1.3",  # `member_of=in:<agg>,...` filter on GET /resource_providers
    "1.4",  # `resources=RC:N,...` filter on GET /resource_providers
    "1.5",  # DELETE /resource_providers/{uuid}/inventories removes all inventory
    "1.6",  # /traits and /resource_providers/{uuid}/traits; `traits` provider link
    "1.7",  # PUT /resource_classes/{name} creates-or-verifies without a body
    "1.8",  # PUT /allocations/{consumer} requires project_id and user_id
    "1.9",  # GET /usages?project_id=&user_id= totals per project/user
    "1.10",  # GET /allocation_candidates
    "1.11",  # `allocations` provider link
    "1.12",  # allocations as a dict keyed by provider (PUT, GET, candidates)
    "1.13",  # POST /allocations sets allocations of several consumers at once
    "1.14",  # parent/root provider uuids; `in_tree` filter on GET /resource_providers
    "1.15",  # Last-Modified and Cache-Control headers on GET responses
    "1.16",  # `limit` on GET /allocation_candidates
    "1.17",  # `required` traits on GET /allocation_candidates; traits in summaries
    "1.18",  # `required` traits filter on GET /resource_providers
    "1.19",  # aggregates carry the provider generation, checked on PUT
    "1.20",  # POST /resource_providers answers 200 with the provider body
    "1.21",  # `member_of` on GET /allocation_candidates
    "1.22",  # forbidden traits (`!TRAIT`) in `required`
    "1.23",  # error bodies carry a stable `code`
    "1.24",  # `member_of` may be repeated (AND of the lists)
    "1.25",  # numbered request groups `resourcesN`/`requiredN`/`member_ofN`, `group_policy`
    "1.26",  # inventory `reserved` may equal `total`
    "1.27",  # candidate summaries list every inventory of a provider
    "1.28",  # consumer generations on allocation reads and writes
    "1.29",  # nested providers in allocation candidates; tree uuids in summaries
    "1.30",  # POST /reshaper moves inventories and allocations atomically
    "1.31",  # `in_tree`/`in_treeN` on GET /allocation_candidates
    "1.32",  # forbidden aggregates `member_of=!...`
    "1.33",  # request group suffixes may be any [A-Za-z0-9_-]{1,64}
    "1.34",  # `mappings` (group suffix -> providers) in allocation requests
    "1.35",  # `root_required` on GET /allocation_candidates
    "1.36",  # `same_subtree`; resourceless request groups
    "1.37",  # a provider's parent may be changed or removed
    "1.38",  # `consumer_type` on allocations and usages
    "1.39",  # `in:` any-of traits in `required`
)

POLICY = VersionPolicy(
    service_type="placement",
    minimum=Microversion.parse(VERSIONS[0]),
    maximum=Microversion.parse(VERSIONS[-1]),
    # Placement's wording (clients such as osc-placement match on it).
    malformed_message="Invalid microversion: invalid version string: {requested}",
    unacceptable_message="Invalid microversion: Unacceptable version header: {requested}",
)

_KNOWN = frozenset(VERSIONS)


def at_least(requested: Microversion, version: str) -> bool:
    """True when ``requested`` is ``version`` or newer (``version`` must be listed)."""
    return requested >= _parsed(version)


@functools.cache
def _parsed(version: str) -> Microversion:
    if version not in _KNOWN:
        raise ValueError(f"microversion {version} is not in VERSIONS")
    return Microversion.parse(version)


def since(req: Request, version: str) -> bool:
    """True when the request's microversion is ``version`` or newer."""
    return at_least(req.microversion, version)


def require(req: Request, version: str) -> None:
    """A 404 (as Placement answers) when the request predates ``version``."""
    if not since(req, version):
        raise HTTPError(
            404,
            f"The resource could not be found: {req.path_info} needs placement "
            f"microversion {version} or later, the request asked for {req.microversion}.",
        )
