"""The guest request: what a server's flavor and image ask of its guest, resolved once.

The Compute API builds a :class:`GuestRequest` when it accepts a boot
(:func:`virtfleet.objects.guest_resolution.resolve_guest_request`), stores it with the
server, and everything downstream reads it as it is: the scheduler's prefilters,
filters and weighers, the conductor, the agent RPC (inside ``InstanceSpec``) and the
domain XML builder. None of them reads the raw extra specs or image properties for
these facts again.

A GuestRequest is immutable: setting a field after construction raises
AttributeError. Host-dependent choices (whether the guest ends up emulated on a given
host, the default machine type of the host's arch) are left to the scheduler and the
driver, which decide them from this object and the host.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from typing import Any

from oslo_versionedobjects import fields

from virtfleet.objects.base import register
from virtfleet.objects.defaults import DefaultedObject
from virtfleet.objects.extra_specs import MAXPHYSADDR_MODES
from virtfleet.objects.image_properties import FIRMWARE_TYPES


@dataclasses.dataclass(frozen=True)
class MaxPhysAddr:
    """The guest's physical-address-bits request (``hw:maxphysaddr_*``)."""

    mode: str  # "emulate" | "passthrough"
    bits: int | None  # set for emulate, None for passthrough


class _Frozen(DefaultedObject):
    """A versioned object whose fields cannot change once it is built (or received)."""

    def __init__(self, context: Any = None, **kwargs: Any) -> None:
        super().__init__(context, **kwargs)
        object.__setattr__(self, "_frozen", True)

    def __setattr__(self, name: str, value: Any) -> None:
        if getattr(self, "_frozen", False) and (name in self.fields or name == "VERSION"):
            raise AttributeError(f"{self.obj_name()} is immutable: cannot set {name}")
        super().__setattr__(name, value)

    @classmethod
    def _obj_from_primitive(cls, context: Any, objver: str, primitive: dict[str, Any]) -> Any:
        received = cls.__new__(cls)
        DefaultedObject.__init__(received, context)
        received.VERSION = objver
        data = cls._obj_primitive_field(primitive, "data")
        for name, field in cls.fields.items():
            if name in data:
                setattr(received, name, field.from_primitive(received, name, data[name]))
        received.obj_reset_changes()
        object.__setattr__(received, "_frozen", True)
        return received

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return self  # immutable: a copy would be equal in every way

    def __hash__(self) -> int:
        return hash(repr(self))


@register
class GuestNic(_Frozen):
    """One network interface the boot asked for (``networks`` of the server create):
    a network (optionally with a fixed IP) or an existing port."""

    # Version 1.0: initial version
    VERSION = "1.0"

    fields = {
        "network_id": fields.StringField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
        "port_id": fields.StringField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
        "fixed_ip": fields.StringField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
    }

    network_id: str | None
    port_id: str | None
    fixed_ip: str | None


@register
class GuestRequest(_Frozen):
    """One server's guest request.

    ``arch`` is the guest architecture (``hw_emulation_architecture``, else
    ``hw_architecture``; None: the host's own). ``emulated`` says the image asked for
    emulation (any host that runs ``arch``, natively or under QEMU TCG, will do);
    otherwise ``arch`` is native. ``native_arch`` (``hw_architecture``) is the arch a
    host must run natively. ``machine_type`` None means the arch's default;
    ``firmware`` is ``bios``, ``uefi`` or None (the arch's preference).
    ``slice_request`` holds the custom resource classes the flavor asks for (slices are
    nested providers of custom classes) with their total amounts; ``vgpus`` the VGPU
    units (mediated devices). ``nics`` are the interfaces the boot asked for, in
    order; ``config_drive`` says the guest gets a config drive (asked for at boot, or
    forced by ``[compute] force_config_drive`` or the image's
    ``img_config_drive=mandatory``), decided once by the Compute API.
    """

    # Version 1.0: initial version
    VERSION = "1.0"

    fields = {
        "arch": fields.StringField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
        "emulated": fields.BooleanField(default=False),
        "native_arch": fields.StringField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
        "machine_type": fields.StringField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
        "firmware": fields.EnumField(FIRMWARE_TYPES, nullable=True, default=None),
        "maxphysaddr_mode": fields.EnumField(MAXPHYSADDR_MODES, nullable=True, default=None),
        "maxphysaddr_bits": fields.IntegerField(nullable=True, default=None),  # type: ignore[arg-type]  # stubs omit None
        "slice_request": fields.DictOfIntegersField(default={}),
        "vgpus": fields.NonNegativeIntegerField(default=0),
        "nics": fields.ListOfObjectsField("GuestNic", default=[]),
        "config_drive": fields.BooleanField(default=False),
    }

    # GuestRequest version -> the GuestNic version its nics carry
    obj_relationships = {"nics": [("1.0", "1.0")]}

    arch: str | None
    emulated: bool
    native_arch: str | None
    machine_type: str | None
    firmware: str | None
    maxphysaddr_mode: str | None
    maxphysaddr_bits: int | None
    slice_request: dict[str, int]
    vgpus: int
    nics: list[GuestNic]
    config_drive: bool

    def with_nics(self, nics: list[GuestNic]) -> GuestRequest:
        """This request asking for ``nics``."""
        values = {name: getattr(self, name) for name in self.fields if self.obj_attr_is_set(name)}
        return GuestRequest(**{**values, "nics": nics})

    def with_config_drive(self, config_drive: bool) -> GuestRequest:
        """This request with (or without) a config drive."""
        values = {name: getattr(self, name) for name in self.fields if self.obj_attr_is_set(name)}
        return GuestRequest(**{**values, "config_drive": config_drive})

    @property
    def maxphysaddr(self) -> MaxPhysAddr | None:
        """The physical-address-bits request, or None when neither flavor nor image asks."""
        if self.maxphysaddr_mode is None:
            return None
        return MaxPhysAddr(mode=self.maxphysaddr_mode, bits=self.maxphysaddr_bits)

    def to_primitive(self) -> dict[str, Any]:
        """The versioned JSON form (as stored with the server)."""
        primitive: dict[str, Any] = self.obj_to_primitive()
        return primitive

    @classmethod
    def from_primitive(cls, primitive: dict[str, Any]) -> GuestRequest:
        """The object back from :meth:`to_primitive`'s form. Immutable objects are
        shared: equal primitives (most servers of one flavor and image) give the same
        object, built once (a server listing reads one per server)."""
        try:
            key = json.dumps(primitive, sort_keys=True, separators=(",", ":"))
        except (TypeError, ValueError):  # not JSON (not from the database): built anew
            key = ""
        with _BUILT_LOCK:
            known = _BUILT.get(key) if key else None
        if known is not None:
            return known
        received = cls.obj_from_primitive(primitive)
        assert isinstance(received, GuestRequest)
        if key:
            with _BUILT_LOCK:
                if len(_BUILT) >= _BUILT_KEPT:
                    _BUILT.clear()
                _BUILT[key] = received
        return received


#: GuestRequests built from primitives, by the primitive's canonical JSON text.
_BUILT: dict[str, GuestRequest] = {}
_BUILT_LOCK = threading.Lock()
_BUILT_KEPT = 4096


__all__ = ["GuestNic", "GuestRequest", "MaxPhysAddr"]
