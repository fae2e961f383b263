"""PlacementService: the one way anything reads or writes placement data.

Writes go to the database in one transaction each, guarded by provider and consumer
generations, and log the provider trees they touched in ``placement_changes``.
Reads of candidates and provider lists come from an immutable in-memory
:class:`~virtfleet.placement.snapshot.Snapshot`; before answering, the service reads
the change log past the last change it has seen (one indexed query) and reloads just
those trees, so writes by this process and by any other process are visible at once.

Claims never trust the snapshot: capacity is checked against the database inside the
write transaction.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar

from sqlalchemy import Connection, select

from virtfleet.db.engine import Database
from virtfleet.placement import (
    allocations_db,
    catalog_db,
    engine,
    inventories_db,
    loader,
    names,
    providers_db,
    sharing,
)
from virtfleet.placement.claims import ClaimWriter
from virtfleet.placement.dbutil import RESOURCE_CLASSES, TRAITS
from virtfleet.placement.exceptions import (
    QUERYPARAM_BAD_VALUE,
    RACE_RETRIES,
    InvalidInput,
    ProviderRaced,
)
from virtfleet.placement.memo import FirstCandidates
from virtfleet.placement.query import query_names
from virtfleet.placement.snapshot import Node, Snapshot, TraitBits
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

T = TypeVar("T")

DEFAULT_MAX_CANDIDATES = engine.DEFAULT_MAX_RESULTS
GAP_SECONDS = 60.0
KEEP_CHANGES = 100_000
PRUNE_EVERY = 1_000
FREEZE_GC_PROVIDERS = 5_000


def _freeze_gc() -> None:
    """Move everything alive into the collector's permanent generation.

    A large snapshot is hundreds of thousands of long-lived objects; without this the
    cyclic collector rescans all of them now and then, stalling a claim for tens of
    milliseconds. Snapshot objects hold no cycles, so refcounting still frees the
    trees that later patches replace.
    """
    gc.collect()
    gc.freeze()


class PlacementService:
    """Providers, inventories, traits, allocations and allocation candidates.

    ``max_candidates`` caps the candidates of a query without ``limit`` (and any
    ``limit`` above it).
    """

    def __init__(self, db: Database, max_candidates: int = DEFAULT_MAX_CANDIDATES) -> None:
        self.db = db
        self.max_candidates = max_candidates
        self._snapshot: Snapshot | None = None
        self._bits = TraitBits()
        self._gaps: dict[int, float] = {}  # change id -> when first missed
        self._writes = 0
        self._lock = threading.Lock()
        self._first_candidates = FirstCandidates()
        self._claims = ClaimWriter(db)

    # -- snapshot -------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """The current snapshot (refreshed from the change log first)."""
        return self.refresh()

    def refresh(self) -> Snapshot:
        """Reload the trees changed since the last refresh (all of them the first time,
        or when the change log was pruned past what this process has seen)."""
        with self._lock, self.db.read() as conn:
            snap = self._snapshot
            if snap is None:
                self._snapshot = self._load_everything(conn)
                if len(self._snapshot.tree_of_uuid) >= FREEZE_GC_PROVIDERS:
                    _freeze_gc()
                return self._snapshot
            after = snap.change_id
            found, roots = loader.changed_roots(conn, after, self._gaps)
            if not found:
                return snap
            newest = max(after, *found)
            if min(found) > after + 1 and loader.oldest_change_id(conn) > after + 1:
                self._snapshot = self._load_everything(conn, newest)
            else:
                reloaded = loader.load_trees(conn, roots, self._bits)
                self._snapshot = snap.with_trees(reloaded, newest)
            self._track_gaps(after, newest, found)
            return self._snapshot

    def _load_everything(self, conn: Connection, change_id: int | None = None) -> Snapshot:
        if change_id is None:
            change_id = loader.last_change_id(conn)
        was_enabled = gc.isenabled()
        gc.disable()  # hundreds of thousands of new objects, none of them cyclic garbage
        try:
            return Snapshot(loader.load_all(conn, self._bits), self._bits, change_id)
        finally:
            if was_enabled:
                gc.enable()

    def prune_changes(self, keep: int = KEEP_CHANGES) -> int:
        """Trim the change log to its newest ``keep`` rows (a process that falls
        further behind reloads everything). Also done every ``PRUNE_EVERY`` writes."""
        with self.db.write() as conn:
            return loader.prune_changes(conn, keep)

    def _track_gaps(self, after: int, newest: int, found: Mapping[int, int]) -> None:
        """Remember change ids skipped over: on PostgreSQL a transaction may commit
        after a later one, so its change row shows up late (or never, if rolled back:
        forgotten after ``GAP_SECONDS``)."""
        now = time.monotonic()
        for change_id in found:
            self._gaps.pop(change_id, None)
        for change_id in range(after + 1, newest):
            if change_id not in found:
                self._gaps.setdefault(change_id, now)
        for change_id, since in list(self._gaps.items()):
            if now - since > GAP_SECONDS:
                del self._gaps[change_id]

    def _write(self, action: Callable[[Connection], T]) -> T:
        """Run ``action`` in a write transaction; again, in a new one, when it lost a
        provider race (see :class:`ProviderRaced`)."""
        for attempt in range(1, RACE_RETRIES + 1):
            try:
                with self.db.write() as conn:
                    result = action(conn)
                break
            except ProviderRaced:
                if attempt == RACE_RETRIES:
                    raise
        self._after_write()
        return result

    def _after_write(self, refresh: bool = True) -> None:
        self._writes += 1
        if self._writes % PRUNE_EVERY == 0:
            self.prune_changes()
        if refresh:
            self.refresh()

    def _read(self, action: Callable[[Connection], T]) -> T:
        with self.db.read() as conn:
            return action(conn)

    # -- providers ------------------------------------------------------------------

    def create_provider(
        self, name: str, uuid: str | None = None, parent_uuid: str | None = None
    ) -> Provider:
        return self._write(lambda c: providers_db.create_provider(c, name, uuid, parent_uuid))

    def get_provider(self, uuid: str) -> Provider:
        return self._read(lambda c: providers_db.get_provider(c, uuid))

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
        """Providers matching every given filter, in creation order.

        ``required`` is an AND of any-of trait sets, ``member_of`` of any-of aggregate
        sets (direct membership); ``resources`` keeps providers that could take each
        amount now.
        """
        snap = self.refresh()
        if in_tree is not None:
            tree = snap.tree_of(in_tree)
            nodes: Iterable[Node] = tree.nodes if tree else ()
        else:
            nodes = (n for t in snap.trees.values() for n in t.nodes)
        masks = [snap.bits.mask_of(any_of) for any_of in required]
        forbidden_mask = snap.bits.mask_of(forbidden)
        found = []
        for node in nodes:
            if name is not None and node.name != name:
                continue
            if uuid is not None and node.uuid != uuid:
                continue
            if not engine.traits_ok(node.trait_bits, masks, forbidden_mask):
                continue
            if not engine.aggregates_ok(node, node, member_of, forbidden_aggregates):
                continue
            if resources and not all(
                engine.amount_fits(node, rc, amount) for rc, amount in resources.items()
            ):
                continue
            found.append(node)
        found.sort(key=lambda n: n.id)
        return [n.provider() for n in found]

    def update_provider(
        self,
        uuid: str,
        name: str,
        parent_uuid: str | None,
        generation: int | None = None,
        allow_reparent: bool = True,
    ) -> Provider:
        """Rename and/or (re-, un-)parent; ``allow_reparent`` False is the pre-1.37 rule
        (a parent may be set once, never changed or removed)."""
        return self._write(
            lambda c: providers_db.update_provider(
                c, uuid, name, parent_uuid, generation, allow_reparent
            )
        )

    def delete_provider(self, uuid: str) -> None:
        self._write(lambda c: providers_db.delete_provider(c, uuid))

    # -- inventories ----------------------------------------------------------------

    def get_inventories(self, uuid: str) -> tuple[int, dict[str, Inventory]]:
        return self._read(lambda c: inventories_db.get_inventories(c, uuid))

    def set_inventories(
        self, uuid: str, generation: int, inventories: Mapping[str, Inventory]
    ) -> int:
        return self._write(
            lambda c: inventories_db.set_inventories(c, uuid, generation, inventories)
        )

    def set_inventory(
        self, uuid: str, generation: int | None, rc: str, inventory: Inventory
    ) -> int:
        return self._write(
            lambda c: inventories_db.set_inventory(c, uuid, generation, rc, inventory)
        )

    def delete_inventory(self, uuid: str, generation: int | None, rc: str) -> int:
        return self._write(lambda c: inventories_db.delete_inventory(c, uuid, generation, rc))

    def delete_inventories(self, uuid: str, generation: int | None) -> int:
        return self._write(lambda c: inventories_db.delete_inventories(c, uuid, generation))

    # -- traits -------------------------------------------------------------------

    def list_traits(
        self, name_filter: str | None = None, associated: bool | None = None
    ) -> list[str]:
        """``name_filter`` is ``startswith:PREFIX`` or ``in:A,B``."""
        return self._read(lambda c: catalog_db.list_traits(c, name_filter, associated))

    def ensure_trait(self, name: str) -> bool:
        """Create CUSTOM_ trait ``name``; True if it was new."""
        return self._write(lambda c: catalog_db.ensure_trait(c, name))

    def delete_trait(self, name: str) -> None:
        self._write(lambda c: catalog_db.delete_trait(c, name))

    def get_provider_traits(self, uuid: str) -> tuple[int, set[str]]:
        return self._read(lambda c: inventories_db.get_provider_traits(c, uuid))

    def set_provider_traits(self, uuid: str, generation: int | None, traits: Iterable[str]) -> int:
        wanted = list(traits)
        return self._write(
            lambda c: inventories_db.set_provider_traits(c, uuid, generation, wanted)
        )

    def delete_provider_traits(self, uuid: str, generation: int | None) -> int:
        return self._write(lambda c: inventories_db.set_provider_traits(c, uuid, generation, ()))

    # -- aggregates ---------------------------------------------------------------

    def get_provider_aggregates(self, uuid: str) -> tuple[int, set[str]]:
        return self._read(lambda c: inventories_db.get_provider_aggregates(c, uuid))

    def set_provider_aggregates(
        self, uuid: str, generation: int | None, aggregates: Iterable[str]
    ) -> int:
        wanted = list(aggregates)
        return self._write(
            lambda c: inventories_db.set_provider_aggregates(c, uuid, generation, wanted)
        )

    # -- resource classes ---------------------------------------------------------

    def list_resource_classes(self) -> list[str]:
        return self._read(catalog_db.list_resource_classes)

    def get_resource_class(self, name: str) -> str:
        return self._read(lambda c: catalog_db.get_resource_class(c, name))

    def create_resource_class(self, name: str) -> None:
        self._write(lambda c: catalog_db.create_resource_class(c, name))

    def ensure_resource_class(self, name: str) -> bool:
        """Create CUSTOM_ class ``name``; True if it was new."""
        return self._write(lambda c: catalog_db.ensure_resource_class(c, name))

    def rename_resource_class(self, name: str, new_name: str) -> None:
        """Rename custom class ``name`` (pre-1.7 ``PUT``); its inventories and
        allocations follow."""
        self._write(lambda c: catalog_db.rename_resource_class(c, name, new_name))

    def delete_resource_class(self, name: str) -> None:
        self._write(lambda c: catalog_db.delete_resource_class(c, name))

    # -- allocations --------------------------------------------------------------

    def get_consumer_allocations(self, consumer_uuid: str) -> ConsumerAllocations:
        return self._read(lambda c: allocations_db.get_consumer(c, consumer_uuid))

    def get_provider_allocations(self, rp_uuid: str) -> ProviderAllocations:
        return self._read(lambda c: allocations_db.get_provider_allocations(c, rp_uuid))

    def replace_allocations(
        self,
        consumer_uuid: str,
        allocations: Mapping[str, Mapping[str, int]],
        project_id: str,
        user_id: str,
        consumer_generation: int | None,
        consumer_type: str | None = None,
    ) -> None:
        """``PUT /allocations/{consumer}``: replace all of the consumer's allocations
        (empty ``allocations`` deletes them)."""
        request = ConsumerRequest(
            allocations, project_id, user_id, consumer_generation, consumer_type
        )
        self.replace_many({consumer_uuid: request})

    def replace_many(self, requests: Mapping[str, ConsumerRequest]) -> None:
        """``POST /allocations``: several consumers at once, all or nothing
        (group-committed with concurrent claims, see :mod:`.claims`). The snapshot
        is not reloaded here: every read refreshes it first, and concurrent claims
        then share one reload of the trees they changed."""
        self._claims.replace(requests)
        self._after_write(refresh=False)

    def reshape(
        self,
        inventories: Mapping[str, tuple[int, Mapping[str, Inventory]]],
        allocations: Mapping[str, ConsumerRequest],
    ) -> None:
        """``POST /reshaper``: replace the inventories of the providers in
        ``inventories`` ({uuid: (generation, {class: inventory})}) and the allocations
        of the consumers in ``allocations``, in one transaction (all or nothing)."""
        self._write(
            lambda c: inventories_db.reshape(
                c, inventories, lambda conn: allocations_db.replace_consumers(conn, allocations)
            )
        )

    def delete_allocations(self, consumer_uuid: str) -> None:
        self._write(lambda c: allocations_db.delete_consumer(c, consumer_uuid))

    # -- usages -------------------------------------------------------------------

    def provider_usages(self, uuid: str) -> tuple[int, dict[str, int]]:
        return self._read(lambda c: allocations_db.provider_usages(c, uuid))

    def usages(
        self, project_id: str, user_id: str | None = None, consumer_type: str | None = None
    ) -> dict[str, TypeUsage]:
        """Per consumer type (1.38+ shape); see :func:`allocations_db.usages_by_type`."""
        return self._read(
            lambda c: allocations_db.usages_by_type(c, project_id, user_id, consumer_type)
        )

    def total_usages(self, project_id: str, user_id: str | None = None) -> dict[str, int]:
        """{class: amount} for the project (and user), the pre-1.38 shape."""
        return self._read(lambda c: allocations_db.total_usages(c, project_id, user_id))

    # -- candidates ---------------------------------------------------------------

    def allocation_candidates(self, query: CandidateQuery) -> CandidatesResult:
        self._check_names(query)
        return sharing.find_candidates(
            self.refresh(), query, self.max_candidates, self._first_candidates
        )

    def candidate_roots(self, query: CandidateQuery) -> list[str]:
        """Root provider uuids of every tree with a candidate for ``query``, ignoring
        ``limit`` and ``max_candidates`` (for explanations and counts at any scale)."""
        self._check_names(query)
        return sharing.find_roots(self.refresh(), query, self._first_candidates)

    def _check_names(self, query: CandidateQuery) -> None:
        """Unknown traits or classes in a query are a 400, as in Placement."""
        traits, classes = query_names(query)
        custom_traits = {t for t in traits if not names.is_standard_trait(t)}
        custom_classes = {rc for rc in classes if not names.is_standard_resource_class(rc)}
        if not custom_traits and not custom_classes:
            return
        with self.db.read() as conn:
            known_traits = set(
                conn.execute(
                    select(TRAITS.c.name).where(TRAITS.c.name.in_(custom_traits))
                ).scalars()
            )
            known_classes = set(
                conn.execute(
                    select(RESOURCE_CLASSES.c.name).where(
                        RESOURCE_CLASSES.c.name.in_(custom_classes)
                    )
                ).scalars()
            )
        missing = sorted(custom_classes - known_classes)
        if missing:
            raise InvalidInput(
                f"Invalid resource class in resources parameter: No such resource class "
                f"{', '.join(missing)}.",
                QUERYPARAM_BAD_VALUE,
            )
        missing = sorted(custom_traits - known_traits)
        if missing:
            raise InvalidInput(
                f"Invalid query string parameters: No such trait(s): {', '.join(missing)}",
                QUERYPARAM_BAD_VALUE,
            )
