"""Whether source and destination share the instances path: the destination writes a
test file there and the source looks for it in its own (the file is removed after).
For an evacuation (the source is down) the destination alone says whether the
guest's disk is on its instances path (:func:`evacuation_refusal` decides)."""

from __future__ import annotations

import logging

from virtfleet import errors
from virtfleet.conductor.moves.services import Services

LOG = logging.getLogger(__name__)


def shared_instance_path(svc: Services, source: str, dest: str) -> bool:
    """True when ``source`` sees the test file ``dest`` wrote."""
    name = svc.agents.create_shared_storage_test_file(dest)
    try:
        return svc.agents.check_shared_storage_test_file(source, name)
    finally:
        try:
            svc.agents.cleanup_shared_storage_test_file(dest, name)
        except errors.VirtfleetError as exc:
            LOG.warning("test file %s left on %s: %s", name, dest, exc)


#: Nova's words for an evacuation whose caller and destination disagree.
INVALID_SHARED_STORAGE = "Invalid state of instance files on shared storage"


def evacuation_refusal(on_shared_storage: bool | None, on_disk: bool, host: str) -> str | None:
    """Why ``host`` may not take an evacuation (None: it may), as Nova's rebuild
    decides: the caller's ``onSharedStorage`` (before 2.14; None from 2.14: the
    destination decides) must match whether ``host`` sees the guest's disk
    (``on_disk``). A disk the caller thinks is lost but ``host`` sees would be
    overwritten by a rebuild from the image, so that is refused too."""
    if on_shared_storage is None or on_shared_storage == on_disk:
        return None
    if on_shared_storage:
        return (
            f"{INVALID_SHARED_STORAGE}: {host} does not see the server's disk on its "
            "instances path (onSharedStorage is true)"
        )
    return (
        f"{INVALID_SHARED_STORAGE}: {host} sees the server's disk on its instances path "
        "(onSharedStorage is false: rebuilding from the image would overwrite it)"
    )
