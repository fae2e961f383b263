"""Which images a project sees and may change, as Glance decides it.

- ``public``: everyone sees it and lists it;
- ``community``: everyone sees it, but only its owner lists it unless asking for
  ``visibility=community``;
- ``shared``: the owning project, and the projects it is shared with (its members):
  a member sees it whatever its member status, and lists it once it has accepted it
  (``member_status`` asks for others: ``pending``, ``rejected`` or ``all``);
- ``private``: the owning project only (members of a private image see nothing);
- an admin sees and changes every image; only the owner (or an admin) changes one.

An image without an owner (made without a project, in the unauthenticated test mode)
is everyone's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from virtfleet.db.images import Image


@dataclass(frozen=True)
class Viewer:
    """The project asking, and whether it is an admin."""

    project_id: str
    is_admin: bool = False
    #: Image id -> this project's member status, for the images shared with it.
    memberships: Mapping[str, str] = field(default_factory=dict)

    def owns(self, image: Image) -> bool:
        return self.is_admin or image.owner is None or image.owner == self.project_id

    def member_status(self, image: Image) -> str | None:
        """This project's member status of a shared image (None: not a member)."""
        if image.visibility != "shared" or image.owner == self.project_id:
            return None
        return self.memberships.get(image.id)

    def sees(self, image: Image) -> bool:
        """May ``GET /v2/images/{id}`` show it (else it is a 404)."""
        return (
            self.owns(image)
            or image.visibility in ("public", "community")
            or self.member_status(image) is not None
        )

    def lists(
        self, image: Image, requested_visibility: str | None, member_status: str = "accepted"
    ) -> bool:
        """Does ``GET /v2/images`` (with its ``visibility`` and ``member_status``
        filters) include it."""
        if requested_visibility == "community" or image.visibility == "public":
            return self.sees(image)
        if image.visibility == "community":  # listed to its owner only
            return image.owner is None or image.owner == self.project_id
        status = self.member_status(image)
        if status is not None:
            return member_status in ("all", status)
        return self.owns(image)
