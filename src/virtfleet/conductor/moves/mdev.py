"""Moving guests with mediated devices: the conductor's rules and the destination's
mdev claim.

- An agent pinned by ``[upgrade_levels] compute`` to an object version older than the
  first :class:`LibvirtLiveMigrateData` that carries mdevs (1.1) is refused as a
  destination for a guest with mdevs (the object could not carry them to it).
- The destination's mdev claim is taken during the destination choice, so a host that
  cannot claim is a refusal and the next candidate is tried.
"""

from __future__ import annotations

import contextlib

from oslo_config import cfg
from oslo_versionedobjects import exception as ovo_exc

from virtfleet import errors
from virtfleet.conductor.moves.services import Services
from virtfleet.objects.migrate_data import LibvirtLiveMigrateData
from virtfleet.scheduler.manager import Selection

MDEV_VERSION = (1, 1)


def version_tuple(text: str) -> tuple[int, ...] | None:
    """``"1.0"`` -> (1, 0); a release name or junk -> None."""
    try:
        return tuple(int(part) for part in text.split("."))
    except ValueError:
        return None


def pinned_refusal(conf: cfg.ConfigOpts, data: LibvirtLiveMigrateData) -> str | None:
    """Why ``data.dest_host`` may not receive this guest under the configured pin,
    or None. Only guests with mdevs are concerned."""
    pin = conf.upgrade_levels.compute
    if not pin or not data.has_mdevs:
        return None
    version = version_tuple(pin)
    if version is not None and version >= MDEV_VERSION:
        return None
    try:  # what the pinned peer would receive
        data.obj_to_primitive(target_version=pin if version is not None else "1.0")
    except ovo_exc.ObjectActionError as exc:
        reason = str(exc)
    else:  # pragma: no cover - 1.0 always refuses mdevs
        reason = "the object carries no mdevs at that version"
    return (
        f"host {data.dest_host} is pinned to compute object version {pin} "
        f"([upgrade_levels] compute), which cannot live-migrate a guest with mediated "
        f"devices: {reason}"
    )


def claim(
    svc: Services, data: LibvirtLiveMigrateData, selection: Selection
) -> LibvirtLiveMigrateData:
    """A guest with mdevs: refuse a destination pinned below mdev support, else have it
    claim same-type mdevs now (InvalidInput or the agent's error refuses the host)."""
    if not data.has_mdevs:
        return data
    refusal = pinned_refusal(svc.conf, data)
    if refusal:
        raise errors.InvalidInput(refusal)
    return svc.agents.claim_live_migration_mdevs(
        data.dest_host,
        data,
        allocations={rp: dict(r) for rp, r in selection.allocation_request.items()},
    )


def release(svc: Services, data: LibvirtLiveMigrateData) -> None:
    """Give back the destination's mdev claim of this migration (best effort)."""
    if data.has_mdevs:
        with contextlib.suppress(errors.VirtfleetError):
            svc.agents.release_live_migration_mdevs(data.dest_host, data)
