"""Bounds on image data: the size cap of one image, and the storage quotas of its
owner (``[image] project_storage_quota`` in bytes, and Keystone's ``image_size_total``
in MiB, as Glance), held by reservations so that concurrent uploads cannot pass them.

An upload reserves the bytes it is about to store on its image's row (``reserved``)
before it stores them, in a write transaction that first counts what the owner's other
images hold (stored data, or their own reservations) and runs the quota checks:
writers take turns, so two uploads of one project can never both fit into the same
remaining space. It reserves a step (16 MiB) ahead of the data, so most chunks cost no
write; near a limit it reserves exactly what has arrived. The reservation ends with
the upload (the stored size counts from then on).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Connection

from virtfleet import errors
from virtfleet.db import images
from virtfleet.db.engine import Database

#: How far ahead of the data an upload reserves.
RESERVE_STEP = 16 << 20


class ImageQuotas(Protocol):
    """The Keystone image limits (implemented by :class:`virtfleet.quota.limits.Quotas`):
    each returns a check to run in the admitting transaction, or None (no limit)."""

    def image_create_check(self, owner: str) -> Callable[[Connection], None] | None: ...

    def image_data_check(
        self, owner: str, image_id: str, size: int
    ) -> Callable[[Connection], None] | None: ...


@dataclass(frozen=True)
class UploadLimits:
    """``[image] image_size_cap`` and ``project_storage_quota`` (0: none), in bytes."""

    size_cap: int = 1 << 40
    project_quota: int = 0

    def check_cap(self, image_id: str, size: int) -> None:
        if size > self.size_cap:
            raise errors.TooLarge(
                f"Image {image_id}: {size} bytes of data is more than the image "
                f"size cap of {self.size_cap} bytes ([image] image_size_cap)."
            )


class UploadReservation:
    """The bytes one upload of ``image`` may store, reserved as its data arrives."""

    def __init__(
        self,
        db: Database,
        image: images.Image,
        limits: UploadLimits,
        quotas: ImageQuotas | None,
    ) -> None:
        self.db = db
        self.image = image
        self.limits = limits
        self.quotas = quotas
        self.held = 0
        # Nothing to reserve against: no owner, or no quota of any kind.
        self._free = image.owner is None or (not limits.project_quota and quotas is None)

    def need(self, size: int) -> None:
        """Make sure ``size`` bytes are held (TooLarge / OverQuota naming the limit)."""
        self.limits.check_cap(self.image.id, size)
        if self._free or size <= self.held:
            return
        ahead = min(size + RESERVE_STEP, self.limits.size_cap)
        try:
            self._reserve(ahead)
        except (errors.TooLarge, errors.OverQuota):
            if ahead == size:
                raise
            self._reserve(size)

    def bounded(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """``chunks``, each reserved before it is passed on."""
        total = 0
        for chunk in chunks:
            total += len(chunk)
            self.need(total)
            yield chunk

    def _reserve(self, amount: int) -> None:
        owner = self.image.owner
        assert owner is not None
        check = (
            self.quotas.image_data_check(owner, self.image.id, amount)
            if self.quotas is not None
            else None
        )

        def admit(conn: Connection) -> None:
            quota = self.limits.project_quota
            if quota:
                used = images.project_usage(conn, owner, exclude=self.image.id).bytes
                if used + amount > quota:
                    raise errors.TooLarge(
                        f"Image {self.image.id}: storing {amount} bytes would bring project "
                        f"{owner}'s image data to {used + amount} bytes; its storage quota "
                        f"is {quota} bytes ([image] project_storage_quota; {used} in use or "
                        "reserved by uploads in progress)."
                    )
            if check is not None:
                check(conn)

        images.reserve(self.db, self.image.id, amount, admit)
        self.held = amount
