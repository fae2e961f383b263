"""Which images a project sees and may change, as Glance decides it.

- ``public``: everyone sees it and lists it;
- ``community``: everyone sees it, but only its owner lists it unless asking for
  ``visibility=community``;
- ``shared`` and ``private``: the owning project only (image members are not
  supported, so nobody else is ever a member);
- an admin sees and changes every image; only the owner (or an admin) changes one.

An image without an owner (made without a project, in the unauthenticated test mode)
is everyone's.
"""

from __future__ import annotations

from dataclasses import dataclass

from virtfleet.db.images import Image


@dataclass(frozen=True)
class Viewer:
    """The project asking, and whether it is an admin."""

    project_id: str
    is_admin: bool = False

    def owns(self, image: Image) -> bool:
        return self.is_admin or image.owner is None or image.owner == self.project_id

    def sees(self, image: Image) -> bool:
        """May ``GET /v2/images/{id}`` show it (else it is a 404)."""
        return self.owns(image) or image.visibility in ("public", "community")

    def lists(self, image: Image, requested_visibility: str | None) -> bool:
        """Does ``GET /v2/images`` (with its ``visibility`` filter) include it."""
        if requested_visibility == "community" or image.visibility == "public":
            return self.sees(image)
        if image.visibility == "community":  # listed to its owner only
            return image.owner is None or image.owner == self.project_id
        return self.owns(image)
