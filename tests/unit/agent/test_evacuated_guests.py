"""The returning host's removal of evacuated guests: domains removed (files too unless
the destination shares them), never started; reported to the conductor; a guest whose
destination cannot be asked about sharing is left for the next report."""

from __future__ import annotations

from virtfleet import errors
from virtfleet.agent import evacuated
from virtfleet.objects.rpc_results import EvacuatedGuest

A = "11111111-1111-4111-8111-111111111111"
B = "22222222-2222-4222-8222-222222222222"
MA = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
MB = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"


class Conductor:
    def __init__(self, guests: list[EvacuatedGuest]) -> None:
        self.guests = guests
        self.removed: list[tuple[str, list[str]]] = []

    def evacuated_guests(self, host: str) -> list[EvacuatedGuest]:
        return self.guests

    def evacuated_guests_removed(self, host: str, migration_uuids: list[str]) -> list[str]:
        self.removed.append((host, migration_uuids))
        return migration_uuids


class Driver:
    def __init__(self, present: list[str], broken: frozenset[str] = frozenset()) -> None:
        self.present = present
        self.broken = broken
        self.destroyed: list[tuple[str, bool]] = []

    def list_instance_uuids(self) -> list[str]:
        return list(self.present)

    def destroy(self, instance_uuid: str, remove_files: bool = True) -> None:
        if instance_uuid in self.broken:
            raise errors.HypervisorError("libvirt says no", 1)
        self.destroyed.append((instance_uuid, remove_files))


def guest(uuid: str, migration: str, dest: str | None = "kvm-2") -> EvacuatedGuest:
    return EvacuatedGuest(migration_uuid=migration, instance_uuid=uuid, dest_host=dest)


FORGOTTEN: list[str] = []


def run(conductor: Conductor, driver: Driver, shared: dict[str, bool | None]) -> list[str]:
    """The removed migrations; FORGOTTEN: the guests the agent let go of (ports, images)."""
    FORGOTTEN.clear()
    return evacuated.remove_evacuated(
        "kvm-1", conductor, driver, lambda host: shared.get(host, False), FORGOTTEN.append
    )


def test_domains_and_files_removed_then_reported() -> None:
    conductor = Conductor([guest(A, MA), guest(B, MB, dest="kvm-3")])
    driver = Driver([A, B])
    assert run(conductor, driver, {"kvm-3": True}) == [MA, MB]
    assert driver.destroyed == [(A, True), (B, False)]  # kvm-3 shares the directory
    assert conductor.removed == [("kvm-1", [MA, MB])]
    assert FORGOTTEN == [A, B]


def test_nothing_evacuated_asks_nothing_more() -> None:
    conductor, driver = Conductor([]), Driver([A])
    assert run(conductor, driver, {}) == []
    assert driver.destroyed == [] and conductor.removed == []


def test_unknown_sharing_or_a_failing_destroy_leaves_the_guest_for_later() -> None:
    conductor = Conductor([guest(A, MA, dest="kvm-gone"), guest(B, MB)])
    driver = Driver([A, B], broken=frozenset({B}))
    assert run(conductor, driver, {"kvm-gone": None}) == []
    assert driver.destroyed == []
    assert conductor.removed == [] and FORGOTTEN == []


def test_a_guest_without_a_domain_still_loses_its_local_files() -> None:
    conductor = Conductor([guest(A, MA), guest(B, MB, dest="kvm-3")])
    driver = Driver([])
    assert run(conductor, driver, {"kvm-3": True}) == [MA, MB]
    assert driver.destroyed == [(A, True)]  # B: only shared files, the destination's
