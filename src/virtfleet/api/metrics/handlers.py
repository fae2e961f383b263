"""The scrape handler."""

from __future__ import annotations

from collections.abc import Sequence

import webob
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from virtfleet.api.wsgi import Request
from virtfleet.observability import metrics
from virtfleet.observability.metrics import TextSource


def scrape(sources: Sequence[TextSource], req: Request) -> webob.Response:
    """GET /metrics: the process's metrics and the scrape-time sources' gauges."""
    resp = webob.Response(body=metrics.render(sources))
    # the classic text format (what every Prometheus reads; the lines are written so)
    resp.headers["Content-Type"] = CONTENT_TYPE_PLAIN_0_0_4
    return resp
