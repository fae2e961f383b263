"""What the dashboard needs: the database it reads, the configuration, and the
Compute API it sends the operator actions to (in-process, with the caller's identity)."""

from __future__ import annotations

from dataclasses import dataclass

from oslo_config import cfg

from virtfleet.api.auth import WSGIApp
from virtfleet.db.engine import Database


@dataclass(frozen=True)
class DashboardDeps:
    db: Database
    conf: cfg.ConfigOpts | None
    compute: WSGIApp  # the Compute API app (mounted at /compute)

    @property
    def down_after(self) -> float:
        return float(self.conf.compute.host_down_after) if self.conf is not None else 0.0

    @property
    def noauth(self) -> bool:
        return self.conf is None or self.conf.api.auth_strategy == "noauth"
