"""The exception hierarchy of virtfleet, drawn once.

    VirtfleetError                 base of everything we raise on purpose
    ├── ConfigError                a configuration or fleet file is wrong (names what)
    ├── InvalidInput               a request or property value is wrong (HTTP 400)
    ├── NotFound                   a named thing does not exist (HTTP 404)
    ├── TooLarge                   a request passes a configured size limit (HTTP 413)
    ├── Conflict                   state changed underneath, or a name is taken (HTTP 409)
    │   └── ConcurrentUpdate       a generation check failed; the caller may retry
    ├── NoValidHost                no host can take a request; carries the explanation
    ├── HypervisorError            the hypervisor refused or failed (carries its code)
    └── RPCError                   an RPC call failed or timed out

API layers translate these into each API's own error format; nothing below the API
layer knows about HTTP.
"""

from __future__ import annotations


class VirtfleetError(Exception):
    """Base class: the message is meant for an operator and names what is wrong."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(VirtfleetError):
    """A configuration file, option or fleet file is invalid."""


class InvalidInput(VirtfleetError):
    """A request body, parameter, extra spec or property value is invalid."""


class NotFound(VirtfleetError):
    """The named object does not exist."""


class TooLarge(VirtfleetError):
    """A request asks for more than a configured size limit allows."""


class OverQuota(VirtfleetError):
    """A request would take a project past a quota limit (HTTP ``status``: 403 in the
    Compute API, as Nova; 413 in the Image API, as Glance)."""

    def __init__(self, message: str, resources: tuple[str, ...] = (), status: int = 403) -> None:
        super().__init__(message)
        self.resources = resources
        self.status = status


class Unavailable(VirtfleetError):
    """A service the request needs (Keystone's limits, ...) cannot answer (HTTP 503)."""


class Conflict(VirtfleetError):
    """The request conflicts with the current state."""


class ConcurrentUpdate(Conflict):
    """Someone else changed the object first (generation mismatch); retry."""


class NoValidHost(VirtfleetError):
    """No host satisfies the request. ``reasons`` explains, per constraint."""

    def __init__(self, message: str, reasons: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.reasons = reasons or {}


class HypervisorError(VirtfleetError):
    """The hypervisor refused or failed an operation.

    ``code`` is the libvirt error code (``virErrorNumber``) when there is one; callers
    branch on it, never on the message text.
    """

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class ImageDataError(VirtfleetError):
    """An image's data could not be fetched from the Image API, or what arrived does
    not match the size and digests recorded at upload."""


class RPCError(VirtfleetError):
    """A remote call failed, timed out, or the remote side raised."""
