"""The scheduler: a boot request -> placement query -> filters -> weighers -> claim.

Public surface (everything else is an implementation module):

- :class:`RequestSpec`, :class:`FlavorSpec` (``resource_request``) and :func:`build_query`
  (``prefilters``);
- :class:`Scheduler` with ``select_destinations``, ``schedule_and_claim``, ``claim``,
  ``unclaim`` and ``explain``; :class:`Selection` (``manager``);
- :class:`Explanation` and :class:`Exclusion` (``explain``);
- the stage registries :data:`PREFILTERS`, :data:`FILTERS`, :data:`WEIGHERS` and the
  filter verdict :class:`Status`.
"""

from __future__ import annotations

from virtfleet.scheduler.explain import Exclusion, Explanation
from virtfleet.scheduler.filters import FILTERS, Status
from virtfleet.scheduler.manager import Scheduler, Selection
from virtfleet.scheduler.prefilters import PREFILTERS, build_query
from virtfleet.scheduler.resource_request import FlavorSpec, RequestSpec
from virtfleet.scheduler.weighers import WEIGHERS

__all__ = [
    "FILTERS",
    "PREFILTERS",
    "WEIGHERS",
    "Exclusion",
    "Explanation",
    "FlavorSpec",
    "RequestSpec",
    "Scheduler",
    "Selection",
    "Status",
    "build_query",
]
