"""Table models, one module per area (placement, compute, image).

Import :func:`metadata` to get the complete schema; each area's module registers its
tables on :class:`virtfleet.db.base.Base`.
"""

from __future__ import annotations

from sqlalchemy import MetaData


def metadata() -> MetaData:
    """The full metadata: importing each model module registers its tables."""
    from virtfleet.db.base import Base
    from virtfleet.db.models import (  # noqa: F401
        compute,
        console_tokens,
        control_servers,
        hosts,
        image,
        image_data,
        keypairs,
        mdev_claims,
        migrations,
        network,
        placement,
        scheduling,
    )

    return Base.metadata
