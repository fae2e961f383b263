"""PlacementService: the one way anything reads or writes placement data.

(Interface skeleton; bodies land in the following commits.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from virtfleet.db.engine import Database
from virtfleet.placement.types import (
    CandidateQuery,
    CandidatesResult,
    ConsumerAllocations,
    ConsumerRequest,
    Inventory,
    Provider,
    ProviderAllocations,
    TypeUsage,
)


class PlacementService:
    def __init__(self, db: Database, max_candidates: int = 10_000) -> None:
        self.db = db
        self.max_candidates = max_candidates

    # providers
    def create_provider(
        self, name: str, uuid: str | None = None, parent_uuid: str | None = None
    ) -> Provider:
        raise NotImplementedError

    def get_provider(self, uuid: str) -> Provider:
        raise NotImplementedError

    def list_providers(
        self,
        name: str | None = None,
        uuid: str | None = None,
        in_tree: str | None = None,
        member_of: Sequence[frozenset[str]] = (),
        resources: Mapping[str, int] | None = None,
        required: Sequence[frozenset[str]] = (),
        forbidden: frozenset[str] = frozenset(),
        forbidden_aggregates: frozenset[str] = frozenset(),
    ) -> list[Provider]:
        raise NotImplementedError

    def update_provider(
        self,
        uuid: str,
        name: str,
        parent_uuid: str | None,
        generation: int | None = None,
        allow_reparent: bool = True,
    ) -> Provider:
        raise NotImplementedError

    def delete_provider(self, uuid: str) -> None:
        raise NotImplementedError

    # inventories
    def get_inventories(self, uuid: str) -> tuple[int, dict[str, Inventory]]:
        raise NotImplementedError

    def set_inventories(
        self, uuid: str, generation: int, inventories: Mapping[str, Inventory]
    ) -> int:
        raise NotImplementedError

    def set_inventory(self, uuid: str, generation: int, rc: str, inventory: Inventory) -> int:
        raise NotImplementedError

    def delete_inventory(self, uuid: str, generation: int, rc: str) -> int:
        raise NotImplementedError

    def delete_inventories(self, uuid: str, generation: int) -> int:
        raise NotImplementedError

    # traits
    def list_traits(
        self, name_filter: str | None = None, associated: bool | None = None
    ) -> list[str]:
        raise NotImplementedError

    def ensure_trait(self, name: str) -> bool:
        raise NotImplementedError

    def delete_trait(self, name: str) -> None:
        raise NotImplementedError

    def get_provider_traits(self, uuid: str) -> tuple[int, set[str]]:
        raise NotImplementedError

    def set_provider_traits(
        self, uuid: str, generation: int, traits: Sequence[str] | set[str]
    ) -> int:
        raise NotImplementedError

    def delete_provider_traits(self, uuid: str, generation: int) -> int:
        raise NotImplementedError

    # aggregates
    def get_provider_aggregates(self, uuid: str) -> tuple[int, set[str]]:
        raise NotImplementedError

    def set_provider_aggregates(
        self, uuid: str, generation: int | None, aggregates: Sequence[str] | set[str]
    ) -> int:
        raise NotImplementedError

    # resource classes
    def list_resource_classes(self) -> list[str]:
        raise NotImplementedError

    def get_resource_class(self, name: str) -> str:
        raise NotImplementedError

    def create_resource_class(self, name: str) -> None:
        raise NotImplementedError

    def ensure_resource_class(self, name: str) -> bool:
        raise NotImplementedError

    def delete_resource_class(self, name: str) -> None:
        raise NotImplementedError

    # allocations
    def get_consumer_allocations(self, consumer_uuid: str) -> ConsumerAllocations:
        raise NotImplementedError

    def get_provider_allocations(self, rp_uuid: str) -> ProviderAllocations:
        raise NotImplementedError

    def replace_allocations(
        self,
        consumer_uuid: str,
        allocations: Mapping[str, Mapping[str, int]],
        project_id: str,
        user_id: str,
        consumer_generation: int | None,
        consumer_type: str | None = None,
    ) -> None:
        raise NotImplementedError

    def replace_many(self, requests: Mapping[str, ConsumerRequest]) -> None:
        raise NotImplementedError

    def delete_allocations(self, consumer_uuid: str) -> None:
        raise NotImplementedError

    # usages
    def provider_usages(self, uuid: str) -> tuple[int, dict[str, int]]:
        raise NotImplementedError

    def usages(
        self, project_id: str, user_id: str | None = None, consumer_type: str | None = None
    ) -> dict[str, TypeUsage]:
        raise NotImplementedError

    def total_usages(self, project_id: str, user_id: str | None = None) -> dict[str, int]:
        raise NotImplementedError

    # candidates
    def allocation_candidates(self, query: CandidateQuery) -> CandidatesResult:
        raise NotImplementedError
