"""A base for RPC objects whose unset fields take their declared defaults."""

from __future__ import annotations

from typing import Any

from oslo_versionedobjects import fields

from virtfleet.objects.base import VirtfleetObject


class DefaultedObject(VirtfleetObject):
    """Fields left out of the constructor get their ``default`` (oslo.versionedobjects
    otherwise leaves them unset, and reading one raises)."""

    def __init__(self, context: Any = None, **kwargs: Any) -> None:
        super().__init__(context, **kwargs)
        unset = [
            name
            for name, field in self.fields.items()
            if name not in kwargs and field.default is not fields.UnspecifiedDefault
        ]
        if unset:
            self.obj_set_defaults(*unset)
