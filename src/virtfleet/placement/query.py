"""Parse ``GET /allocation_candidates`` query parameters into a CandidateQuery.

Parameters and their microversions (Placement's):

    resources, required, limit(1.16), member_of(1.21), !trait(1.22),
    resources<N>/required<N>/member_of<N> + group_policy(1.25),
    in_tree[<N>](1.31), !aggregate(1.32), string suffixes(1.33),
    root_required(1.35), same_subtree + resourceless groups(1.36),
    repeated member_of(1.24), required=in:A,B and repeated required(1.39; before,
    the last one counts)

Every error is an :class:`~virtfleet.placement.exceptions.InvalidInput` that names the
parameter and the bad value. Whether trait and class names exist is checked by the
service (it needs the database).
"""

from __future__ import annotations

import re
import uuid as uuidlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from virtfleet.placement.exceptions import (
    ILLEGAL_DUPLICATE_QUERYPARAM,
    QUERYPARAM_BAD_VALUE,
    QUERYPARAM_MISSING_VALUE,
    InvalidInput,
)
from virtfleet.placement.types import GROUP_POLICIES, CandidateQuery, RequestGroup

Version = tuple[int, int]

_GROUP_PARAMS = ("resources", "required", "member_of", "in_tree")
_SUFFIX_NUMERIC = re.compile(r"^[1-9][0-9]*$")
_SUFFIX_STRING = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_LIMIT = re.compile(r"^[1-9][0-9]*$")
_MIN_VERSION = {
    "limit": (1, 16),
    "member_of": (1, 21),
    "group_policy": (1, 25),
    "in_tree": (1, 31),
    "root_required": (1, 35),
    "same_subtree": (1, 36),
}


def _bad(message: str) -> InvalidInput:
    return InvalidInput(message, QUERYPARAM_BAD_VALUE)


@dataclass
class _GroupBuilder:
    suffix: str
    resources: dict[str, int] = field(default_factory=dict)
    required: list[frozenset[str]] = field(default_factory=list)
    forbidden: set[str] = field(default_factory=set)
    member_of: list[frozenset[str]] = field(default_factory=list)
    forbidden_aggregates: set[str] = field(default_factory=set)
    in_tree: str | None = None

    def build(self) -> RequestGroup:
        return RequestGroup(
            suffix=self.suffix,
            resources=dict(self.resources),
            required=list(self.required),
            forbidden=frozenset(self.forbidden),
            member_of=list(self.member_of),
            forbidden_aggregates=frozenset(self.forbidden_aggregates),
            in_tree=self.in_tree,
        )


def _split_key(key: str, version: Version) -> tuple[str, str] | None:
    """(param, suffix) for a request-group parameter, else None."""
    for param in _GROUP_PARAMS:
        if not key.startswith(param):
            continue
        suffix = key[len(param) :]
        if not suffix:
            return param, ""
        pattern = _SUFFIX_STRING if version >= (1, 33) else _SUFFIX_NUMERIC
        if version >= (1, 25) and pattern.match(suffix):
            return param, suffix
    return None


def parse_resources(value: str, param: str = "resources") -> dict[str, int]:
    """``VCPU:2,MEMORY_MB:1024`` -> {"VCPU": 2, "MEMORY_MB": 1024}."""
    resources: dict[str, int] = {}
    for item in value.split(","):
        name, sep, amount = item.strip().partition(":")
        name = name.strip()
        if not sep or not name:
            raise _bad(
                f"Badly formed {param} parameter. Expected {param} query string parameter "
                f"in form: ?{param}=VCPU:2,MEMORY_MB:1024. Got: {value}."
            )
        try:
            number = int(amount.strip())
        except ValueError:
            number = 0
        if number < 1 or not amount.strip().isdigit():
            raise _bad(
                f"Requested resource {name} expected positive integer amount in {param}. "
                f"Got: {amount}."
            )
        if name in resources:
            raise _bad(f"Resource class {name} given more than once in {param}: {value}.")
        resources[name] = number
    return resources


def parse_required(
    value: str, param: str, version: Version
) -> tuple[list[frozenset[str]], set[str]]:
    """One ``required`` value -> (any-of sets, forbidden traits)."""
    if value.startswith("in:"):
        if version < (1, 39):
            raise _bad(f"Invalid {param} value {value!r}: 'in:' needs microversion 1.39")
        names = [n.strip() for n in value[3:].split(",")]
        if not all(names) or any(n.startswith("!") for n in names):
            raise _bad(f"Invalid {param} value {value!r}: 'in:' takes a list of trait names")
        return [frozenset(names)], set()
    required: list[frozenset[str]] = []
    forbidden: set[str] = set()
    for raw in value.split(","):
        name = raw.strip()
        if name.startswith("!") and version >= (1, 22):
            if not name[1:]:
                raise _bad(f"Invalid {param} value {value!r}: empty trait name")
            forbidden.add(name[1:])
        elif not name or name.startswith("!"):
            raise _bad(f"Invalid {param} value {value!r}: bad trait name {name!r}")
        else:
            required.append(frozenset([name]))
    return required, forbidden


def _uuid(value: str, param: str) -> str:
    try:
        return str(uuidlib.UUID(value))
    except ValueError:
        raise _bad(f"Expected '{param}' parameter to contain valid UUID(s). Got: {value}") from None


def parse_member_of(
    value: str, param: str, version: Version
) -> tuple[frozenset[str] | None, set[str]]:
    """One ``member_of`` value -> (any-of aggregate set or None, forbidden aggregates)."""
    negative = value.startswith("!")
    if negative:
        if version < (1, 32):
            raise _bad(f"Invalid {param} value {value!r}: '!' needs microversion 1.32")
        value = value[1:]
    listed = value.startswith("in:")
    body = value[3:] if listed else value
    if listed and "!" in body:
        raise _bad(f"Invalid {param} value {value!r}: '!' is not allowed inside 'in:'")
    uuids = {_uuid(v.strip(), param) for v in body.split(",")} if body else set()
    if not uuids or (len(uuids) > 1 and not listed):
        raise _bad(
            f"Expected '{param}' parameter to contain valid UUID(s) (several need 'in:'). "
            f"Got: {value}"
        )
    if negative:
        return None, uuids
    return frozenset(uuids), set()


def _parse_traits_flat(value: str, param: str) -> tuple[frozenset[str], frozenset[str]]:
    required: set[str] = set()
    forbidden: set[str] = set()
    for raw in value.split(","):
        name = raw.strip()
        target = forbidden if name.startswith("!") else required
        name = name.lstrip("!")
        if not name:
            raise _bad(f"Invalid {param} value {value!r}: empty trait name")
        target.add(name)
    conflicts = required & forbidden
    if conflicts:
        raise _bad(
            f"Conflicting required and forbidden traits found in {param}: "
            f"{', '.join(sorted(conflicts))}"
        )
    return frozenset(required), frozenset(forbidden)


def _single(params: Mapping[str, Sequence[str]], key: str) -> str | None:
    values = params.get(key)
    if not values:
        return None
    if len(values) > 1:
        raise InvalidInput(
            f"Query parameter '{key}' may be specified only once.", ILLEGAL_DUPLICATE_QUERYPARAM
        )
    return values[0]


def _parse_groups(
    params: Mapping[str, Sequence[str]], version: Version
) -> dict[str, _GroupBuilder]:
    groups: dict[str, _GroupBuilder] = {}
    unknown = []
    for key, values in params.items():
        split = _split_key(key, version)
        if split is None:
            if key not in _MIN_VERSION or version < _MIN_VERSION[key]:
                unknown.append(key)
            continue
        param, suffix = split
        if param in _MIN_VERSION and version < _MIN_VERSION[param]:
            unknown.append(key)
            continue
        group = groups.setdefault(suffix, _GroupBuilder(suffix))
        if param == "resources":
            group.resources = parse_resources(_single(params, key) or "", key)
        elif param == "required":
            if version < (1, 39):  # repeated before 1.39: the last one counts, as upstream
                values = values[-1:]
            for value in values:
                required, forbidden = parse_required(value, key, version)
                group.required.extend(required)
                group.forbidden |= forbidden
        elif param == "member_of":
            if len(values) > 1 and version < (1, 24):
                raise _bad(f"Multiple {key} parameters are not supported before microversion 1.24")
            for value in values:
                any_of, forbidden = parse_member_of(value, key, version)
                if any_of is not None:
                    group.member_of.append(any_of)
                group.forbidden_aggregates |= forbidden
        else:
            tree = _single(params, key) or ""
            try:
                group.in_tree = str(uuidlib.UUID(tree))
            except ValueError:
                raise _bad(
                    f"Expected '{key}' parameter to be a format of uuid. Got: {tree}"
                ) from None
    if unknown:
        raise _bad(
            "Invalid query string parameters: Additional properties are not allowed "
            f"({', '.join(repr(k) for k in sorted(unknown))} unexpected at microversion "
            f"{version[0]}.{version[1]})"
        )
    return groups


def _check_groups(
    groups: dict[str, _GroupBuilder], same_subtree: list[frozenset[str]], version: Version
) -> None:
    resourceless = {s for s, g in groups.items() if not g.resources}
    if version >= (1, 36):
        if len(resourceless) == len(groups):
            raise InvalidInput(
                "There must be at least one resources or resources[$S] parameter.",
                QUERYPARAM_MISSING_VALUE,
            )
        in_subtree = set().union(*same_subtree) if same_subtree else set()
        bad = sorted(s for s in resourceless if s not in in_subtree)
        if bad:
            raise _bad(
                "Resourceless suffixed group request should be specified in `same_subtree` "
                f"query param: bad group(s) - {bad}."
            )
        unknown = sorted(s for s in in_subtree if s not in groups)
        if unknown:
            raise _bad(
                f"Real suffixes should be specified in `same_subtree`: {unknown} not found "
                f"in {sorted(groups)}."
            )
    else:
        orphans = sorted(
            f"required{s}" for s, g in groups.items() if not g.resources and g.required
        )
        if orphans:
            raise _bad(
                "All traits parameters must be associated with resources.  Found the "
                f"following orphaned traits keys: {', '.join(orphans)}"
            )
        orphans = sorted(
            f"member_of{s}"
            for s, g in groups.items()
            if not g.resources and (g.member_of or g.forbidden_aggregates)
        )
        if orphans:
            raise _bad(
                "All member_of parameters must be associated with resources. Found the "
                f"following orphaned member_of keys: {', '.join(orphans)}"
            )
        if resourceless:
            raise _bad("All request groups must specify resources.")
        if not groups:
            raise InvalidInput(
                "At least one request group (`resources` or `resources{$S}`) is required.",
                QUERYPARAM_MISSING_VALUE,
            )
    conflicts = sorted(
        f"required{s}: ({', '.join(sorted(any_of))})"
        for s, g in groups.items()
        for any_of in g.required
        if any_of <= g.forbidden
    )
    if conflicts:
        raise _bad(
            "Conflicting required and forbidden traits found in the following traits "
            f"keys: {', '.join(conflicts)}"
        )


def parse_candidate_query(
    params: Mapping[str, Sequence[str]], microversion: tuple[int, int]
) -> CandidateQuery:
    """Query-string parameters (each key with all its values) -> CandidateQuery."""
    version = microversion
    groups = _parse_groups(params, version)
    same_subtree: list[frozenset[str]] = []
    for value in params.get("same_subtree", ()) if version >= (1, 36) else ():
        suffixes = frozenset(s.strip() for s in value.split(","))
        if "" in suffixes:
            raise _bad("Empty string (unsuffixed group) can not be specified in `same_subtree` ")
        same_subtree.append(suffixes)
    _check_groups(groups, same_subtree, version)
    group_policy: str | None = None
    if version >= (1, 25) and params.get("group_policy"):
        group_policy = params["group_policy"][0]
    if group_policy is not None and group_policy not in GROUP_POLICIES:
        raise _bad(
            f"Invalid query string parameters: group_policy {group_policy!r} is not one of "
            f"{list(GROUP_POLICIES)}"
        )
    if group_policy is None and sum(1 for s in groups if s) > 1:
        raise _bad(
            'The "group_policy" parameter is required when specifying more than one '
            '"resources{N}" parameter.'
        )
    limit = None
    if version >= (1, 16) and params.get("limit"):
        raw = params["limit"][0]
        if not _LIMIT.match(raw):
            raise _bad(f"Invalid query string parameters: limit {raw!r} is not a positive integer")
        limit = int(raw)
    root_required: frozenset[str] = frozenset()
    root_forbidden: frozenset[str] = frozenset()
    if version >= (1, 35):
        raw_root = _single(params, "root_required")
        if raw_root is not None:
            if raw_root.startswith("in:"):
                raise _bad(f"Invalid root_required value {raw_root!r}: 'in:' is not supported")
            root_required, root_forbidden = _parse_traits_flat(raw_root, "root_required")
    ordered = [groups[s] for s in sorted(groups, key=lambda s: (s != "", s))]
    return CandidateQuery(
        groups=[g.build() for g in ordered],
        root_required=root_required,
        root_forbidden=root_forbidden,
        group_policy=group_policy,
        same_subtree=same_subtree,
        limit=limit,
    )


def query_names(query: CandidateQuery) -> tuple[set[str], set[str]]:
    """(trait names, resource class names) a query mentions, for existence checks."""
    traits = set(query.root_required) | set(query.root_forbidden)
    classes: set[str] = set()
    for group in query.groups:
        classes |= set(group.resources)
        traits |= set(group.forbidden)
        for any_of in group.required:
            traits |= any_of
    return traits, classes
