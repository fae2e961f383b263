"""``/metrics``: the process's Prometheus metrics in the text exposition format.

On the API listener it is one more API behind ``auth_token`` and the policy rule
``virtfleet:metrics`` (admins, or a token with the ``metrics_reader`` role); with
``[metrics] listen`` the same application is served on a listener of its own without
authentication, for scrapers holding no token (:func:`unauthenticated_listener`).
"""

from __future__ import annotations

from virtfleet.api.metrics.app import make_metrics_app, unauthenticated_listener

__all__ = ["make_metrics_app", "unauthenticated_listener"]
