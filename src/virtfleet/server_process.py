"""`virtfleet server`: the control plane and its HTTP listener as one daemon.

Agents run elsewhere (:mod:`virtfleet.agent_process`) and reach it over the broker of
``[DEFAULT] transport_url``; state lives in ``[database] connection`` (a SQLite file in
the data directory by default; PostgreSQL when several servers share it), so a restarted
server carries on where it stopped.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from oslo_config import cfg

from virtfleet import errors
from virtfleet.api.auth import is_noauth
from virtfleet.api.listener import HttpListener
from virtfleet.broker import check_transport_url, open_transport
from virtfleet.control_plane import ControlPlane, start_metadata_listener, start_metrics_listener

LOG = logging.getLogger(__name__)


def check_keystone_settings(conf: cfg.ConfigOpts) -> None:
    """``ConfigError`` when the APIs are to validate tokens but ``[keystone_authtoken]``
    does not say how (every request would fail instead of the start)."""
    if is_noauth(conf) or conf.keystone_authtoken.auth_type:
        return
    raise errors.ConfigError(
        "[keystone_authtoken] auth_type is not set: `virtfleet server` validates every "
        "request's token against a Keystone; configure [keystone_authtoken] (see "
        "docs/identity.md) or, for tests only, [api] auth_strategy = noauth"
    )


class ServerProcess:
    """A control plane serving RPC on the broker and the APIs over HTTP."""

    def __init__(self, conf: cfg.ConfigOpts, config_files: Sequence[str] = ()) -> None:
        self.conf = conf
        self.config_files = tuple(config_files)
        self.control: ControlPlane | None = None
        self._http: HttpListener | None = None
        self._metadata_http: HttpListener | None = None
        self._metrics_http: HttpListener | None = None

    @property
    def endpoint(self) -> str:
        assert self._http is not None
        return self._http.endpoint

    def start(self) -> None:
        """Check the broker, open the database (upgrading it), serve RPC, then HTTP.
        Raises ``ConfigError``/``RPCError``/``OSError`` naming the problem; whatever
        started is stopped again."""
        check_transport_url(self.conf.transport_url)
        transport = open_transport(self.conf.transport_url, self.conf)
        try:
            check_keystone_settings(self.conf)
            self.control = ControlPlane(self.conf, transport)
        except BaseException:
            transport.close()
            raise
        try:
            self.control.start()
            self._http = HttpListener(self.control.app, self.conf.api)
            self._http.start()
            self._metadata_http = start_metadata_listener(self.control)
            self._metrics_http = start_metrics_listener(self.control)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop HTTP, then the workflows and RPC (idempotent)."""
        if self._metrics_http is not None:
            self._metrics_http.stop()
            self._metrics_http = None
        if self._metadata_http is not None:
            self._metadata_http.stop()
            self._metadata_http = None
        if self._http is not None:
            self._http.stop()
            self._http = None
        if self.control is not None:
            control, self.control = self.control, None
            control.stop()
            control.transport.close()
