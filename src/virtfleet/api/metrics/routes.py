"""The route table of ``/metrics``."""

from __future__ import annotations

from virtfleet.api.metrics.handlers import scrape
from virtfleet.api.wsgi import Route

RULE = "virtfleet:metrics"

ROUTES = [
    Route("GET", "/", scrape, RULE),
]
