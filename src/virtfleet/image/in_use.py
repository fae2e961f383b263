"""Images in use: the data of an image a server was booted from (its disk's base, its
kernel or ramdisk) outlives the image record, as Nova's image cache keeps a base
until no instance uses it. Deleting such an image removes the record (the Image API
answers 404 for it, as Glance does) and keeps the file in place, where the guests'
disks and domains point; the last server to go releases it."""

from __future__ import annotations

from collections.abc import Iterable

from virtfleet.db import servers
from virtfleet.db.engine import Database
from virtfleet.db.servers import Server


def images_of(server: Server) -> set[str]:
    """The images whose data ``server``'s guest uses: its image, kernel and ramdisk."""
    used = {server.image_ref} if server.image_ref else set()
    properties = server.image.get("properties") or {}
    for key in ("kernel_id", "ramdisk_id"):
        value = properties.get(key)
        if isinstance(value, str) and value:
            used.add(value)
    return used


def in_use(db: Database, image_ids: Iterable[str]) -> set[str]:
    """Which of ``image_ids`` a server that is not deleted still uses."""
    wanted = set(image_ids)
    if not wanted:
        return set()
    used: set[str] = set()
    for server in servers.list_servers(db):
        used |= images_of(server) & wanted
    return used
