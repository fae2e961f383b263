"""The rule of ``/metrics``: cloud admins, or a token carrying the ``metrics_reader``
role (give it to the scraper's user), never an ordinary project member."""

from __future__ import annotations

from oslo_policy import policy

from virtfleet.api.policy.personas import ADMIN

METRICS_READER = "role:metrics_reader"

RULES = [
    policy.DocumentedRuleDefault(
        name="virtfleet:metrics",
        check_str=f"{ADMIN} or {METRICS_READER}",
        description="Scrape the Prometheus metrics of a control server.",
        operations=[{"method": "GET", "path": "/metrics"}],
        scope_types=["project"],
    ),
]
