"""RPC transports: in-process and oslo.messaging, with the same behaviour."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from oslo_versionedobjects import fields

from virtfleet import errors
from virtfleet.objects import base
from virtfleet.observability import request_id
from virtfleet.rpc import Transport, get_transport


@base.register
class _Probe(base.VirtfleetObject):  # type: ignore[misc]
    VERSION = "1.0"
    fields = {"name": fields.StringField(), "count": fields.IntegerField()}


class Endpoint:
    def __init__(self) -> None:
        self.casts: list[str] = []
        self.cast_done = threading.Event()

    def add(self, a: int, b: int) -> int:
        return a + b

    def echo_object(self, probe: _Probe) -> _Probe:
        assert isinstance(probe, _Probe)
        return _Probe(name=probe.name.upper(), count=probe.count + 1)

    def refuse(self) -> None:
        raise errors.HypervisorError("no such machine type", code=67)

    def crash(self) -> None:
        raise KeyError("internal detail")

    def note(self, text: str) -> None:
        self.casts.append(text)
        self.cast_done.set()

    def whose_request(self) -> str:
        return request_id.current() or "none"

    def note_request(self) -> None:
        self.casts.append(request_id.current() or "none")
        self.cast_done.set()


@pytest.fixture(params=["local://", "fake://"])
def transport(request: pytest.FixtureRequest) -> Iterator[Transport]:
    t = get_transport(request.param)
    yield t
    t.close()


def test_call_returns_result(transport: Transport) -> None:
    transport.serve("compute", "host-1", Endpoint())
    assert transport.call("compute", "host-1", "add", a=2, b=3) == 5


def test_versioned_objects_cross_as_objects(transport: Transport) -> None:
    transport.serve("compute", "host-1", Endpoint())
    result: Any = transport.call(
        "compute", "host-1", "echo_object", probe=_Probe(name="x", count=1)
    )
    assert isinstance(result, _Probe)
    assert (result.name, result.count) == ("X", 2)


def test_remote_virtfleet_errors_keep_class_and_code(transport: Transport) -> None:
    transport.serve("compute", "host-1", Endpoint())
    with pytest.raises(errors.HypervisorError) as info:
        transport.call("compute", "host-1", "refuse")
    assert info.value.code == 67
    assert "no such machine type" in str(info.value)


def test_unexpected_remote_errors_become_rpc_errors(transport: Transport) -> None:
    transport.serve("compute", "host-1", Endpoint())
    with pytest.raises(errors.RPCError, match="KeyError"):
        transport.call("compute", "host-1", "crash")


def test_cast_is_delivered(transport: Transport) -> None:
    endpoint = Endpoint()
    transport.serve("compute", "host-1", endpoint)
    transport.cast("compute", "host-1", "note", text="hello")
    assert endpoint.cast_done.wait(10)
    assert endpoint.casts == ["hello"]


def test_local_unknown_server_or_method_is_rpc_error() -> None:
    transport = get_transport("local://")
    with pytest.raises(errors.RPCError, match="no agent is serving"):
        transport.call("compute", "ghost", "add", a=1, b=2)
    transport.serve("compute", "host-1", Endpoint())
    with pytest.raises(errors.RPCError, match="no method"):
        transport.call("compute", "host-1", "_private")
    transport.stop_serving("compute", "host-1")
    with pytest.raises(errors.RPCError):
        transport.call("compute", "host-1", "add", a=1, b=2)
    transport.close()


def test_local_arguments_are_copied_as_on_the_wire() -> None:
    transport = get_transport("local://")
    seen: list[Any] = []

    class Keeper:
        def keep(self, value: Any) -> None:
            seen.append(value)

    transport.serve("t", "s", Keeper())
    original = {"a": [1, 2]}
    transport.call("t", "s", "keep", value=original)
    assert seen == [original]
    assert seen[0] is not original
    transport.close()


class _ForeignClient:
    """An oslo.messaging client whose server is not a virtfleet endpoint."""

    def call(self, ctxt: dict[str, object], method: str, **kwargs: object) -> object:
        return ["not", "an", "ok-or-error", "reply"]


def test_oslo_reply_that_is_neither_ok_nor_error_is_rpc_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from virtfleet.rpc.oslo import OsloTransport

    transport = OsloTransport("fake://")
    monkeypatch.setattr(transport, "_client", lambda *args: _ForeignClient())
    try:
        with pytest.raises(errors.RPCError, match=r"compute\.host-1\.add: malformed reply"):
            transport.call("compute", "host-1", "add", a=1, b=2)
    finally:
        transport.close()


def test_the_callers_request_id_reaches_the_endpoint(transport: Transport) -> None:
    """Calls and casts carry the bound request id (oslo.messaging: in its context),
    so the other side's log lines show the request they work for."""
    endpoint = Endpoint()
    transport.serve("compute", "host-1", endpoint)
    assert transport.call("compute", "host-1", "whose_request") == "none"
    mine = request_id.new()
    with request_id.bound(mine):
        assert transport.call("compute", "host-1", "whose_request") == mine
        transport.cast("compute", "host-1", "note_request")
    assert endpoint.cast_done.wait(10)
    assert endpoint.casts == [mine]
    assert request_id.current() is None
