"""Placement's errors: the classes of :mod:`virtfleet.errors` with a stable ``code``.

The codes are the Placement API's ``errors[].code`` strings; once published they never
change. The HTTP layer maps the base class to a status and copies ``code`` into the body.
"""

from __future__ import annotations

from virtfleet import errors

DEFAULT = "placement.undefined_code"
CONCURRENT_UPDATE = "placement.concurrent_update"
DUPLICATE_NAME = "placement.duplicate_name"
INVENTORY_INUSE = "placement.inventory.inuse"
PROVIDER_IN_USE = "placement.resource_provider.inuse"
PROVIDER_CANNOT_DELETE_PARENT = "placement.resource_provider.cannot_delete_parent"
RESOURCE_PROVIDER_NOT_FOUND = "placement.resource_provider.not_found"
QUERYPARAM_BAD_VALUE = "placement.query.bad_value"
QUERYPARAM_MISSING_VALUE = "placement.query.missing_value"
ILLEGAL_DUPLICATE_QUERYPARAM = "placement.query.duplicate_key"


class InvalidInput(errors.InvalidInput):
    """HTTP 400."""

    def __init__(self, message: str, code: str = DEFAULT) -> None:
        super().__init__(message)
        self.code = code


class NotFound(errors.NotFound):
    """HTTP 404."""

    def __init__(self, message: str, code: str = DEFAULT) -> None:
        super().__init__(message)
        self.code = code


class Conflict(errors.Conflict):
    """HTTP 409."""

    def __init__(self, message: str, code: str = DEFAULT) -> None:
        super().__init__(message)
        self.code = code


class ConcurrentUpdate(errors.ConcurrentUpdate):
    """HTTP 409: a provider or consumer generation did not match; re-read and retry."""

    def __init__(self, message: str, code: str = CONCURRENT_UPDATE) -> None:
        super().__init__(message)
        self.code = code


class ProviderRaced(ConcurrentUpdate):
    """A provider changed between this transaction's read and its guarded write (another
    writer got in between). Nothing the caller sent was stale, so the write is run
    again as it is; it surfaces only after :data:`RACE_RETRIES` such losses."""


#: Attempts of one write that keeps losing provider races before the 409 surfaces.
RACE_RETRIES = 5


def provider_not_found(uuid: str) -> NotFound:
    return NotFound(f"No resource provider with uuid {uuid} found", RESOURCE_PROVIDER_NOT_FOUND)
