"""The RPC faces between control plane and agents, as typed client wrappers.

Agents serve topic :data:`COMPUTE_TOPIC` with server = host name; the control plane
serves :data:`CONDUCTOR_TOPIC` (server :data:`CONDUCTOR_SERVER`). Both wrappers only
name methods and arguments; the transport carries them.
"""

from __future__ import annotations

from typing import Any

from virtfleet.objects.host_report import HostReport
from virtfleet.objects.instance import InstanceSpec
from virtfleet.rpc import Transport

COMPUTE_TOPIC = "compute"
CONDUCTOR_TOPIC = "conductor"
CONDUCTOR_SERVER = "conductor"


class ComputeClient:
    """Calls to the agent of one host (used by the conductor)."""

    def __init__(self, transport: Transport, timeout: float | None = None) -> None:
        self._transport = transport
        self._timeout = timeout

    def _call(self, host: str, method: str, **kwargs: Any) -> Any:
        return self._transport.call(COMPUTE_TOPIC, host, method, timeout=self._timeout, **kwargs)

    def spawn(self, host: str, instance: InstanceSpec) -> None:
        self._call(host, "spawn", instance=instance)

    def destroy(self, host: str, instance_uuid: str) -> None:
        self._call(host, "destroy", instance_uuid=instance_uuid)

    def power_off(self, host: str, instance_uuid: str) -> None:
        self._call(host, "power_off", instance_uuid=instance_uuid)

    def power_on(self, host: str, instance_uuid: str) -> None:
        self._call(host, "power_on", instance_uuid=instance_uuid)

    def reboot(self, host: str, instance_uuid: str, hard: bool) -> None:
        self._call(host, "reboot", instance_uuid=instance_uuid, hard=hard)

    def get_power_state(self, host: str, instance_uuid: str) -> str:
        return str(self._call(host, "get_power_state", instance_uuid=instance_uuid))

    def get_domain_xml(self, host: str, instance_uuid: str) -> str:
        return str(self._call(host, "get_domain_xml", instance_uuid=instance_uuid))

    def get_console_output(self, host: str, instance_uuid: str, length: int | None) -> str:
        return str(
            self._call(host, "get_console_output", instance_uuid=instance_uuid, length=length)
        )

    def create_shared_storage_test_file(self, host: str) -> str:
        return str(self._call(host, "create_shared_storage_test_file"))

    def cleanup_shared_storage_test_file(self, host: str, name: str) -> None:
        self._call(host, "cleanup_shared_storage_test_file", name=name)


class ConductorClient:
    """Calls from an agent to the control plane."""

    def __init__(self, transport: Transport, timeout: float | None = None) -> None:
        self._transport = transport
        self._timeout = timeout

    def report_host(self, report: HostReport) -> dict[str, Any]:
        reply: dict[str, Any] = self._transport.call(
            CONDUCTOR_TOPIC, CONDUCTOR_SERVER, "report_host", timeout=self._timeout, report=report
        )
        return reply

    def orphan_domains(self, host: str, instance_uuids: list[str]) -> Any:
        """Which of ``instance_uuids`` (domains on ``host``) should not be there: a
        list of :class:`virtfleet.agent.orphans.Orphan` primitives."""
        return self._transport.call(
            CONDUCTOR_TOPIC,
            CONDUCTOR_SERVER,
            "orphan_domains",
            timeout=self._timeout,
            host=host,
            instance_uuids=instance_uuids,
        )

    def instance_power_state_changed(self, host: str, instance_uuid: str, state: str) -> None:
        self._transport.cast(
            CONDUCTOR_TOPIC,
            CONDUCTOR_SERVER,
            "instance_power_state_changed",
            host=host,
            instance_uuid=instance_uuid,
            state=state,
        )
