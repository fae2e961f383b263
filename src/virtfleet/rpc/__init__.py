"""RPC between the server and its agents, behind one small interface.

:class:`Transport` is the seam: ``local://`` dispatches in-process (embedded mode) but
still serialises every argument and result to JSON primitives exactly as the wire would;
``rabbit://`` and ``fake://`` go through oslo.messaging. Topics: agents serve
``compute`` (server = host name); the control plane serves ``conductor``.
"""

from __future__ import annotations

from virtfleet.rpc.connect import get_transport
from virtfleet.rpc.transport import Transport

__all__ = ["Transport", "get_transport"]
