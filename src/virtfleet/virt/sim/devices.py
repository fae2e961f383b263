"""``SimNodeDevice``: the ``virNodeDevice`` look-alike of the simulated hypervisor."""

from __future__ import annotations

from virtfleet.virt.sim.hypervisor import HostView


class SimNodeDevice:
    """A ``virNodeDevice`` look-alike, by name; state lives in the hypervisor."""

    def __init__(self, connection: HostView, name: str) -> None:
        self._conn = connection
        self._name = name

    def __repr__(self) -> str:
        return f"SimNodeDevice({self._name!r})"

    def name(self) -> str:
        return self._name

    def XMLDesc(self, flags: int = 0) -> str:  # noqa: N802  # libvirt-python's name
        with self._conn.hypervisor_checked().locked():
            return self._conn.hypervisor.devices.xml(self._name)

    def listCaps(self) -> list[str]:  # noqa: N802  # libvirt-python's name
        with self._conn.hypervisor_checked().locked():
            return self._conn.hypervisor.devices.caps(self._name)

    def isActive(self) -> int:  # noqa: N802  # libvirt-python's name
        with self._conn.hypervisor_checked().locked():
            return 1 if self._conn.hypervisor.devices.is_active(self._name) else 0

    def create(self, flags: int = 0) -> int:
        with self._conn.hypervisor_checked().locked():
            self._conn.hypervisor.devices.start(self._name)
        return 0

    def destroy(self) -> int:
        hypervisor = self._conn.hypervisor_checked()
        with hypervisor.locked():
            hypervisor.devices.stop(self._name, hypervisor.running_definitions())
        return 0

    def undefine(self, flags: int = 0) -> int:
        with self._conn.hypervisor_checked().locked():
            self._conn.hypervisor.devices.undefine(self._name)
        return 0
