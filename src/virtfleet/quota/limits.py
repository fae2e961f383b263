"""Enforcing and reporting the Compute and Image unified limits of one control plane.

A check is made in two steps, so that racing requests cannot pass a limit together:
:meth:`Quotas.boot_check` (and the image ones) first read the limits from Keystone
through an oslo.limit enforcer (no lock held); the returned :class:`Check` then runs
inside the database write transaction that creates the server or image (writers take
turns), where it counts the usage on that transaction's connection and lets oslo.limit
compare. A second request waits for the first one's row and counts it.

Compute resources without a limit in Keystone follow ``[quota]
unified_limits_resource_strategy`` (as Nova); an Image resource without one is not
limited. Key pairs (``server_key_pairs``) are counted per user against the registered
limit alone (a project's own limit does not apply), as Nova enforces them.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from oslo_config import cfg
from oslo_limit import exception as limit_exception
from sqlalchemy import Connection

from virtfleet import errors
from virtfleet.db import images
from virtfleet.db.engine import Database
from virtfleet.identity.limits import KEYSTONE_ERRORS, KeystoneView, UnifiedLimits, unavailable
from virtfleet.quota.resources import (
    KEY_PAIRS,
    REPORTED,
    boot_deltas,
    server_resources,
    upsize_deltas,
)
from virtfleet.quota.usage import compute_usage, key_pair_usage

LOG = logging.getLogger(__name__)

UNLIMITED = -1
MIB = 1 << 20
IMAGE_COUNT = "image_count_total"
IMAGE_SIZE = "image_size_total"  # MiB, as Glance
#: Counts usage: (transaction's connection, project or user, resource names) -> usage.
Counter = Callable[[Connection, str, Collection[str]], dict[str, int]]
#: Nova's 403 for one key pair too many.
KEY_PAIRS_EXCEEDED = "Quota exceeded, too many key pairs."


@dataclass(frozen=True)
class Usage:
    """One resource's limit (-1: unlimited) and the project's usage of it."""

    limit: int
    in_use: int


def nova_message(over: limit_exception.ProjectOverLimit) -> str:
    """Nova's 403 wording, one sentence per resource over its limit."""
    return "; ".join(
        f"Quota exceeded for {info.resource_name}: Requested {info.delta}, but already "
        f"used {info.current_usage} of {info.limit} {info.resource_name}"
        for info in over.over_limit_info_list
    )


def glance_message(over: limit_exception.ProjectOverLimit) -> str:
    """Glance's 413 wording (oslo.limit's own), naming each resource's limit and usage."""
    return "; ".join(str(info) for info in over.over_limit_info_list)


class Check:
    """One request's quota check, run inside the write transaction that admits it:
    ``project_id``'s limits (None: the registered limits alone) against the usage
    ``count`` finds for ``scope`` (the project, unless given)."""

    def __init__(
        self,
        limits: UnifiedLimits,
        view: KeystoneView,
        service_type: str,
        project_id: str | None,
        deltas: Mapping[str, int],
        count: Counter,
        message: Callable[[limit_exception.ProjectOverLimit], str],
        status: int,
        scope: str | None = None,
    ) -> None:
        self.project_id = project_id
        self.scope = scope if scope is not None else project_id
        assert self.scope is not None, "usage counted for nobody"
        self.deltas = dict(deltas)
        self._count = count
        self._message = message
        self._status = status
        self._enforcer = limits.enforcer(service_type, view)
        try:  # read the limits now, before the write lock (the view keeps them)
            self._enforcer.get_project_limits(project_id, sorted(self.deltas))
        except KEYSTONE_ERRORS as exc:
            raise unavailable(exc) from None

    def __call__(self, conn: Connection) -> None:
        """OverQuota naming resource, usage and limit when the deltas do not fit."""

        def usage(_limits_of: str | None, names: Collection[str]) -> dict[str, int]:
            assert self.scope is not None
            return self._count(conn, self.scope, names)

        try:
            UnifiedLimits.enforce(self._enforcer, self.project_id, self.deltas, usage)
        except limit_exception.ProjectOverLimit as over:
            names = tuple(i.resource_name for i in over.over_limit_info_list)
            raise errors.OverQuota(self._message(over), names, self._status) from None


def _image_counter(exclude: str | None = None) -> Counter:
    """Image usage: the project's images, and their data in MiB (``exclude``: an
    image whose data is not counted, the one whose upload asks for more)."""

    def count(conn: Connection, project_id: str, names: Collection[str]) -> dict[str, int]:
        found = images.project_usage(conn, project_id, exclude)
        usage = {IMAGE_COUNT: found.count, IMAGE_SIZE: math.ceil(found.bytes / MIB)}
        return {name: usage.get(name, 0) for name in names}

    return count


class Quotas:
    """The quota checks of one control plane (``limits`` None: no quotas)."""

    def __init__(self, conf: cfg.ConfigOpts, db: Database, limits: UnifiedLimits | None) -> None:
        self.conf = conf
        self.db = db
        self.limits = limits

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts, db: Database) -> Quotas:
        """Unified limits when ``[quota] driver`` says so and ``[oslo_limit]`` names
        credentials; no quotas otherwise (with a warning when they were asked for)."""
        if conf.quota.driver != "unified_limits":
            return cls(conf, db, None)
        if not UnifiedLimits.configured(conf):
            LOG.warning(
                "quotas are NOT enforced: [quota] driver is unified_limits but [oslo_limit] "
                "has no auth_type (Keystone credentials to read the limits with)"
            )
            return cls(conf, db, None)
        return cls(conf, db, UnifiedLimits(conf, conf.quota.limits_cache_seconds))

    @property
    def enforced(self) -> bool:
        return self.limits is not None

    # -- Compute -------------------------------------------------------------------

    def _compute_limited(self, names: Collection[str], defined: Mapping[str, int]) -> set[str]:
        """The names that have a limit: defined in Keystone (not -1, unlimited), or
        0 by the strategy."""
        listed = set(self.conf.quota.unified_limits_resource_list)
        require = self.conf.quota.unified_limits_resource_strategy == "require"
        return {n for n in names if (defined[n] >= 0 if n in defined else (n in listed) == require)}

    def boot_check(
        self, project_id: str, flavor: Mapping[str, Any], count: int = 1
    ) -> Check | None:
        """The check of booting ``count`` servers of ``flavor`` (None: nothing limited)."""
        return self._compute_check(project_id, boot_deltas(flavor, count))

    def resize_check(
        self, project_id: str, old_flavor: Mapping[str, Any], new_flavor: Mapping[str, Any]
    ) -> Check | None:
        """The check of resizing one server from ``old_flavor`` to ``new_flavor``: what
        the new flavor asks for beyond the old one (None: it asks for no more)."""
        return self._compute_check(project_id, upsize_deltas(old_flavor, new_flavor))

    def unshelve_check(self, project_id: str, flavor: Mapping[str, Any]) -> Check | None:
        """The check of unshelving an offloaded server of ``flavor``: its resources
        count again (the server itself never stopped counting)."""
        return self._compute_check(project_id, server_resources(flavor))

    def _compute_check(self, project_id: str, deltas: Mapping[str, int]) -> Check | None:
        if self.limits is None or not deltas:
            return None
        view = self.limits.view()
        defined = self.limits.defined_limits("compute", project_id, view)
        limited = self._compute_limited(deltas, defined)
        if not limited:
            return None
        return Check(
            self.limits,
            view,
            "compute",
            project_id,
            {n: d for n, d in deltas.items() if n in limited},
            compute_usage,
            nova_message,
            403,
        )

    def compute_report(self, project_id: str | None) -> dict[str, Usage]:
        """servers, class:VCPU, class:MEMORY_MB, class:DISK_GB and every other resource
        Keystone limits: the project's limit and usage (``None``: the registered
        limits, the defaults, with no usage)."""
        defined = self.limits.defined_limits("compute", project_id) if self.limits else {}
        names = [*REPORTED, *sorted(set(defined) - set(REPORTED))]
        limited = self._compute_limited(names, defined) if self.limits else set()
        usage = dict.fromkeys(names, 0)
        if project_id is not None:
            with self.db.read() as conn:
                usage = compute_usage(conn, project_id, names)
        return {
            n: Usage(max(defined.get(n, 0), 0) if n in limited else UNLIMITED, usage[n])
            for n in names
        }

    def key_pair_check(self, user_id: str) -> Check | None:
        """The check of one more key pair for ``user_id`` (None: not limited)."""
        if self.limits is None:
            return None
        view = self.limits.view()
        defined = self.limits.defined_limits("compute", None, view)
        if not self._compute_limited([KEY_PAIRS], defined):
            return None
        return Check(
            self.limits,
            view,
            "compute",
            None,
            {KEY_PAIRS: 1},
            key_pair_usage,
            lambda _over: KEY_PAIRS_EXCEEDED,
            403,
            scope=user_id,
        )

    def key_pair_report(self, user_id: str | None) -> Usage:
        """The key pair limit (the registered one) and ``user_id``'s key pairs (none
        counted for None)."""
        limit = UNLIMITED
        if self.limits is not None:
            defined = self.limits.defined_limits("compute", None)
            if self._compute_limited([KEY_PAIRS], defined):
                limit = max(defined.get(KEY_PAIRS, 0), 0)
        in_use = 0
        if user_id is not None:
            with self.db.read() as conn:
                in_use = key_pair_usage(conn, user_id, [KEY_PAIRS])[KEY_PAIRS]
        return Usage(limit, in_use)

    # -- Image ---------------------------------------------------------------------

    def _image_check(
        self, owner: str, deltas: Mapping[str, int], exclude: str | None = None
    ) -> Check | None:
        if self.limits is None:
            return None
        view = self.limits.view()
        defined = self.limits.defined_limits("image", owner, view)
        limited = {n: d for n, d in deltas.items() if defined.get(n, UNLIMITED) >= 0}
        if not limited:
            return None
        counter = _image_counter(exclude)
        return Check(self.limits, view, "image", owner, limited, counter, glance_message, 413)

    def image_create_check(self, owner: str) -> Check | None:
        """The check of one more image for ``owner`` (``image_count_total``)."""
        return self._image_check(owner, {IMAGE_COUNT: 1})

    def image_data_check(self, owner: str, image_id: str, size: int) -> Check | None:
        """The check of image ``image_id`` holding ``size`` bytes of data, with the
        owner's other images (``image_size_total``, in MiB as Glance counts it)."""
        return self._image_check(owner, {IMAGE_SIZE: math.ceil(size / MIB)}, image_id)

    def image_report(self, owner: str) -> dict[str, Usage]:
        defined = self.limits.defined_limits("image", owner) if self.limits else {}
        names = (IMAGE_COUNT, IMAGE_SIZE)
        with self.db.read() as conn:
            usage = _image_counter()(conn, owner, names)
        return {n: Usage(defined.get(n, UNLIMITED), usage[n]) for n in names}
