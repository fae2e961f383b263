"""Open a hypervisor connection: real libvirt, or a simulated host of a fleet.

``open_connection("qemu:///system")`` returns ``libvirt.open(uri)``;
``open_connection("sim://kvm-1", fleet)`` returns a
:class:`~virtfleet.virt.sim.connection.SimConnection` to host ``kvm-1`` of ``fleet``
(one process-wide copy of the packaged sample fleet when ``fleet`` is None, so such
connections share their hosts too). Both speak the same libvirt-python
API subset (CONTRIBUTING.md, "Hypervisor connections").
"""

from __future__ import annotations

import functools
from urllib.parse import urlparse

import libvirt

from virtfleet.errors import HypervisorError, NotFound
from virtfleet.virt.hypervisor import Connection
from virtfleet.virt.sim.connection import SimConnection
from virtfleet.virt.sim.fleet import Fleet, default_fleet
from virtfleet.virt.sim.registry import hypervisor_for

SIM_SCHEME = "sim"


def is_simulated(uri: str) -> bool:
    """True for ``sim://HOST`` URIs."""
    return urlparse(uri).scheme == SIM_SCHEME


def sim_host_name(uri: str) -> str:
    """The host of a ``sim://HOST`` URI ("" when it names none)."""
    parsed = urlparse(uri)
    return parsed.netloc or parsed.path.strip("/")


@functools.cache
def shared_sample_fleet() -> Fleet:
    """The sample fleet ``sim://`` URIs use when no fleet is given (one per process)."""
    return default_fleet()


def _drop_libvirt_error(_ctx: object, _err: object) -> None:
    """libvirt-python prints every error to stderr; callers get them as exceptions."""


def open_connection(uri: str, fleet: Fleet | None = None) -> Connection:
    """A connection for ``uri``; raises ``HypervisorError`` (with the libvirt code) or
    ``NotFound`` (a ``sim://`` host not in the fleet)."""
    if is_simulated(uri):
        name = sim_host_name(uri)
        if not name:
            raise NotFound(f"{uri}: a simulated host URI is sim://HOST")
        return SimConnection(hypervisor_for(fleet or shared_sample_fleet(), name), f"sim://{name}")
    libvirt.registerErrorHandler(_drop_libvirt_error, None)
    try:
        conn: Connection = libvirt.open(uri)  # libvirt-python is untyped: its virConnect
    except libvirt.libvirtError as exc:
        raise HypervisorError(
            f"cannot connect to {uri}: {exc.get_error_message() or exc}",
            code=exc.get_error_code(),
        ) from exc
    return conn
