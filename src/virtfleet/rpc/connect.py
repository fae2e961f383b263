"""The transport a URL names: ``local://`` in-process, anything else oslo.messaging."""

from __future__ import annotations

from oslo_config import cfg

from virtfleet.rpc.oslo import OsloTransport
from virtfleet.rpc.transport import LocalTransport, Transport


def get_transport(url: str, conf: cfg.ConfigOpts | None = None) -> Transport:
    """The transport for ``url``: ``local://`` in-process, anything else oslo.messaging."""
    if url.startswith("local:"):
        return LocalTransport()
    return OsloTransport(url, conf)
