"""The typed RPC clients time every call by topic, method and outcome, and count casts."""

from __future__ import annotations

from virtfleet import errors
from virtfleet.agent.rpcapi import COMPUTE_TOPIC, ComputeClient
from virtfleet.objects.vif import GuestVif
from virtfleet.observability import metrics
from virtfleet.rpc import get_transport


class _Agent:
    def power_off(self, instance_uuid: str, **options: object) -> None:
        pass

    def destroy(self, instance_uuid: str, **options: object) -> None:
        raise errors.NotFound(f"no guest {instance_uuid}")

    def refresh_ports(self, vifs: list[GuestVif]) -> None:
        pass


def _calls(method: str, outcome: str) -> float:
    value = metrics.REGISTRY.get_sample_value(
        "virtfleet_rpc_call_duration_seconds_count",
        {"topic": COMPUTE_TOPIC, "method": method, "outcome": outcome},
    )
    return value or 0.0


def _casts(method: str) -> float:
    value = metrics.REGISTRY.get_sample_value(
        "virtfleet_rpc_casts_total", {"topic": COMPUTE_TOPIC, "method": method}
    )
    return value or 0.0


def test_calls_are_timed_by_outcome_and_casts_counted() -> None:
    transport = get_transport("local://")
    try:
        transport.serve(COMPUTE_TOPIC, "h1", _Agent())
        client = ComputeClient(transport)
        before = (_calls("power_off", "ok"), _calls("destroy", "NotFound"), _casts("refresh_ports"))
        client.power_off("h1", "u1")
        client.power_off("h1", "u2")
        try:
            client.destroy("h1", "u3")
        except errors.NotFound:
            pass
        else:
            raise AssertionError("destroy should have raised NotFound")
        client.refresh_ports("h1", [])
        assert _calls("power_off", "ok") == before[0] + 2
        assert _calls("destroy", "NotFound") == before[1] + 1
        assert _casts("refresh_ports") == before[2] + 1
    finally:
        transport.close()
