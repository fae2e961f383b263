"""Whether source and destination share the instances path: the destination writes a
test file there and the source looks for it in its own (the file is removed after)."""

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
