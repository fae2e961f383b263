"""Base of versioned objects that cross RPC (oslo.versionedobjects).

Every object keeps a version-history comment, downgrades explicitly in
``obj_make_compatible`` (dropping new fields, or refusing when unsafe), and is pinned by
the fingerprint test in ``tests/objects``.
"""

from __future__ import annotations

from typing import Any

from oslo_versionedobjects import base as ovo_base

NAMESPACE = "virtfleet"


class VirtfleetObjectRegistry(ovo_base.VersionedObjectRegistry):
    """The registry of virtfleet's RPC objects."""


class VirtfleetObject(ovo_base.VersionedObject):
    """Base class: namespaced, comparable by fields."""

    OBJ_PROJECT_NAMESPACE = NAMESPACE
    OBJ_SERIAL_NAMESPACE = "virtfleet_object"

    def __eq__(self, other: object) -> bool:
        if type(self) is not type(other):
            return NotImplemented
        # Field values only: the changed-fields bookkeeping differs after a wire trip.
        return self.as_dict() == other.as_dict()

    def __hash__(self) -> int:  # objects are mutable: identity hash
        return id(self)

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.fields if self.obj_attr_is_set(k)}


register = VirtfleetObjectRegistry.register


class Serializer(ovo_base.VersionedObjectSerializer):
    """Serialises virtfleet objects for RPC."""

    OBJ_BASE_CLASS = VirtfleetObject
