"""Keeping hosts' data planes current: after a change that hosts realise (a port
bound, moved, released or deleted; a rule added or removed; a subnet changed), every
host with bound ports gets its ports again (``compute.refresh_ports``, a cast), so
security groups (remote groups included), DHCP entries and VXLAN peers follow. Changes
that come close together are sent once."""

from __future__ import annotations

import logging
import threading

from virtfleet import errors
from virtfleet.agent.rpcapi import ComputeClient
from virtfleet.network.server_ports import ServerPorts

LOG = logging.getLogger(__name__)


class PortRefresher:
    def __init__(self, networks: ServerPorts, compute: ComputeClient, delay: float = 0.05):
        self._networks = networks
        self._compute = compute
        self._delay = delay
        self._wanted = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def changed(self) -> None:
        self._wanted.set()

    def start(self) -> None:
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name="port-refresh", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wanted.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wanted.wait()
            if self._stopping.wait(self._delay):
                return
            self._wanted.clear()
            self.refresh_all()

    def refresh_all(self) -> None:
        """Send every host with bound ports its ports now."""
        try:
            hosts = self._networks.bound_hosts()
        except Exception:
            LOG.exception("cannot list the hosts with ports")
            return
        for host in hosts:
            try:
                self._compute.refresh_ports(host, self._networks.host_vifs(host))
            except errors.VirtfleetError as exc:
                LOG.warning("host %s: ports not refreshed: %s", host, exc)
