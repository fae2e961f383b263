"""The rescue image a rescue may boot, checked before anything changes.

The image must be one the caller sees, with data (Nova: a 400 naming it otherwise).
Its architecture is resolved by the one guest-request resolver
(:func:`~virtfleet.api.compute.boot_checks.guest_request`, ``hw_emulation_architecture``
else ``hw_architecture`` else Glance's ``architecture``) and must run as this
server's guest: a rescue boots the image in the server's own domain, so its CPU is
the server's guest architecture (the guest request's, else its host's own). A guest
CPU runs its own architecture and those it runs natively (an x86_64 guest boots an
i686 rescue system); any other is a 400 naming both. An image naming no
architecture is taken as the server's.

An image with ``hw_rescue_device`` or ``hw_rescue_bus`` asks for Nova's stable device
rescue (:func:`rescue_device`): the device and bus must exist on the server's guest
(its architecture and machine type, :mod:`virtfleet.virt.rescue_devices`), else a 400
naming the property, its value and what the guest allows. As in Nova, the properties
decide it at every microversion (2.87 only adds volume-backed servers, which
virtfleet does not have).
"""

from __future__ import annotations

from virtfleet import errors
from virtfleet.api.compute import access
from virtfleet.api.compute.boot_checks import guest_request, server_flavor
from virtfleet.api.compute.deps import ComputeDeps
from virtfleet.api.wsgi import HTTPError, Request
from virtfleet.db import hosts, servers
from virtfleet.db.images import Image
from virtfleet.objects.guest_request import GuestRequest
from virtfleet.objects.guest_resolution import (
    EMULATION_ARCH_PROPERTY,
    GLANCE_ARCH_PROPERTY,
    NATIVE_ARCH_PROPERTY,
)
from virtfleet.objects.rescue_device import RescueDevice
from virtfleet.virt import arch as virt_arch
from virtfleet.virt import rescue_devices


def usable_image(deps: ComputeDeps, req: Request, image_id: str, named: bool) -> Image:
    """The rescue image (400 naming it when the caller cannot see it or it has no
    data); ``named``: it came as ``rescue_image_ref`` (else the server's own)."""
    where = "rescue_image_ref" if named else "the server's own image, used without rescue_image_ref"
    try:
        image = access.visible_image(req, deps.db, image_id)
    except HTTPError:
        raise HTTPError(400, f"Rescue image {image_id} could not be found ({where}).") from None
    if image.status != "active":
        raise HTTPError(
            400, f"Rescue image {image_id} has no data (status {image.status}) ({where})."
        )
    return image


def rescue_guest(image: Image, server: servers.Server) -> GuestRequest:
    """The rescue image's guest request with the server's flavor (400 naming the
    image property the resolver refuses)."""
    try:
        return guest_request(server_flavor(server), image)
    except errors.InvalidInput as exc:
        raise HTTPError(400, f"Cannot rescue with image {image.id}: {exc.message}") from None


def server_guest_arch(deps: ComputeDeps, server: servers.Server) -> str | None:
    """The server's guest architecture: its guest request's, else its host's own
    (None when neither is known)."""
    if server.guest_request.arch is not None:
        return server.guest_request.arch
    if server.host is None:
        return None
    try:
        host = hosts.get_host_by_name(deps.db, server.host)
    except errors.NotFound:
        return None
    found = (host.cpu_info or {}).get("arch")
    return virt_arch.canonicalize(str(found)) if found else None


def check_arch(
    image: Image, rescue: GuestRequest, server: servers.Server, guest_arch: str | None
) -> None:
    """400 when the rescue image's architecture cannot run as the server's guest."""
    if rescue.arch is None or guest_arch is None:
        return
    if virt_arch.runs_natively(guest_arch, rescue.arch):
        return
    raise HTTPError(
        400,
        f"Rescue image {image.id} is for architecture {rescue.arch} "
        f"({_arch_property(image, rescue)}), but server {server.uuid}'s guest is {guest_arch}: "
        "a rescue boots the image in the server's own guest, so it must run on that "
        "architecture.",
    )


def _arch_property(image: Image, rescue: GuestRequest) -> str:
    """The image property the rescue image's architecture came from."""
    if rescue.emulated:
        return f"{EMULATION_ARCH_PROPERTY}={image.properties.get(EMULATION_ARCH_PROPERTY)}"
    for name in (NATIVE_ARCH_PROPERTY, GLANCE_ARCH_PROPERTY):
        if image.properties.get(name):
            return f"{name}={image.properties[name]}"
    return NATIVE_ARCH_PROPERTY


def rescue_device(
    image: Image, server: servers.Server, guest_arch: str | None
) -> RescueDevice | None:
    """The stable rescue device the image asks for on this server's guest (None: the
    older layout, rescue disk first); 400 naming the property when the guest lacks
    it, 409 when the guest's architecture is not known yet."""
    if not rescue_devices.wanted(image.properties):
        return None
    if guest_arch is None:
        raise HTTPError(
            409,
            f"Cannot rescue {server.uuid} with image {image.id} as a rescue device: the "
            "server's guest architecture is not known (its host has not reported it).",
        )
    try:
        return rescue_devices.resolve(
            image.properties, guest_arch, server.guest_request.machine_type
        )
    except errors.InvalidInput as exc:
        raise HTTPError(
            400, f"Cannot rescue {server.uuid} with image {image.id}: {exc.message}"
        ) from None
