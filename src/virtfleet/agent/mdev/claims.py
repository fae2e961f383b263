"""The agent's view of mdev claims: the repository bound to one host.

Claims are persisted (:mod:`virtfleet.db.mdev_claims`), so an agent that restarts in
the middle of a migration still knows which of its mdevs are held. In embedded mode
the agent shares the control plane's database; an agent on its own keeps the table
in ``<data_dir>/mdev-claims.sqlite``.
"""

from __future__ import annotations

import datetime
import pathlib
from collections.abc import Callable, Mapping

from oslo_config import cfg

from virtfleet.db import mdev_claims
from virtfleet.db.base import Base
from virtfleet.db.engine import Database
from virtfleet.db.models.mdev_claims import MdevClaim as ClaimRow

CLAIMS_FILE = "mdev-claims.sqlite"


class MdevClaimStore:
    """Claims of the mdevs of ``host``."""

    def __init__(self, db: Database, host: str) -> None:
        self.db = db
        self.host = host

    @classmethod
    def local(cls, conf: cfg.ConfigOpts, host: str) -> MdevClaimStore:
        """A store in the agent's own data directory (created when missing)."""
        path = pathlib.Path(conf.data_dir).resolve()
        path.mkdir(parents=True, exist_ok=True)
        db = Database(f"sqlite:///{path / CLAIMS_FILE}")
        Base.metadata.create_all(db.engine, tables=[ClaimRow.__table__])  # type: ignore[list-item]  # a Table
        return cls(db, host)

    def claimed(self) -> set[str]:
        """Mdev uuids held by migrations: no spawn or other claim may take them."""
        return mdev_claims.claimed_uuids(self.db, self.host)

    def claim(
        self,
        instance_uuid: str,
        migration_uuid: str,
        target_mdevs: Mapping[str, str],
        source_mdev_types: Mapping[str, str],
    ) -> None:
        """Hold ``target_mdevs`` for the migration (Conflict when one is taken)."""
        mdev_claims.claim(
            self.db, self.host, instance_uuid, migration_uuid, target_mdevs, source_mdev_types
        )

    def for_migration(self, migration_uuid: str) -> dict[str, str]:
        """source mdev -> claimed destination mdev of one migration."""
        return {
            c.source_mdev_uuid: c.mdev_uuid
            for c in mdev_claims.for_migration(self.db, migration_uuid)
        }

    def release(self, migration_uuid: str) -> int:
        return mdev_claims.release(self.db, migration_uuid)

    def reap(
        self, migration_finished: Callable[[str], bool], max_age: datetime.timedelta
    ) -> list[mdev_claims.MdevClaim]:
        return mdev_claims.reap(self.db, migration_finished, max_age, self.host)

    def list(self) -> list[mdev_claims.MdevClaim]:
        return mdev_claims.list_claims(self.db, self.host)
