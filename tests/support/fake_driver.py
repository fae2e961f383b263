"""A small in-test driver: records calls, keeps power states, fires lifecycle events.

Used until (and besides) the simulated hypervisor, to test the agent's own logic."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from virtfleet import errors
from virtfleet.virt.types import GuestSpec, HostInfo, NumaCell


def host_info(**changes: object) -> HostInfo:
    base = HostInfo(
        hostname="kvm-1.example",
        arch="x86_64",
        vcpus=16,
        memory_mb=32768,
        disk_gb=200,
        numa_cells=(NumaCell(0, tuple(range(16)), 32768),),
        libvirt_version=9_000_000,
        qemu_version=8_002_000,
        hypervisor_type="QEMU",
        cpu_model="EPYC-Rome",
        cpu_vendor="AMD",
        virt_type="kvm",
        cpu_mode="host-model",
        cpu_models=(),
        maxphysaddr_bits=46,
        native_arches=("x86_64", "i686"),
        emulated_arches=("aarch64",),
        kvm_arches=("x86_64", "i686"),
        machine_types={"x86_64": ("pc", "q35"), "aarch64": ("virt",)},
        emulators={"x86_64": "/usr/bin/qemu-system-x86_64"},
        uefi_arches=(),
        traits=frozenset({"HW_ARCH_X86_64", "COMPUTE_ARCH_X86_64", "COMPUTE_ARCH_AARCH64"}),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


class FakeDriver:
    def __init__(self, info: HostInfo | None = None) -> None:
        self.info = info or host_info()
        self.states: dict[str, str] = {}
        self.specs: dict[str, GuestSpec] = {}
        self.calls: list[tuple[str, str]] = []
        self.shutdown_timeouts: list[tuple[str, float]] = []
        self.callbacks: list[Callable[[str, str], None]] = []
        self.discoveries = 0
        self.console = "line1\nline2\nline3\n"
        self.fail_spawn: errors.HypervisorError | None = None

    def discover(self) -> HostInfo:
        self.discoveries += 1
        return self.info

    def ensure_connected(self) -> bool:
        return False  # never loses its connection

    def spawn(self, spec: GuestSpec) -> None:
        self.calls.append(("spawn", spec.instance_uuid))
        if self.fail_spawn is not None:
            raise self.fail_spawn
        self.specs[spec.instance_uuid] = spec
        self.states[spec.instance_uuid] = "running"

    def _known(self, uuid: str) -> None:
        if uuid not in self.states:
            raise errors.NotFound(f"no domain with uuid {uuid}")

    def destroy(
        self, instance_uuid: str, remove_files: bool = True, shutdown_timeout: float = 0
    ) -> None:
        self.calls.append(("destroy", instance_uuid))
        self.shutdown_timeouts.append(("destroy", shutdown_timeout))
        self.states.pop(instance_uuid, None)

    def power_off(self, instance_uuid: str, shutdown_timeout: float = 0) -> None:
        self._known(instance_uuid)
        self.calls.append(("power_off", instance_uuid))
        self.shutdown_timeouts.append(("power_off", shutdown_timeout))
        self.states[instance_uuid] = "shutoff"

    def power_on(self, instance_uuid: str) -> None:
        self._known(instance_uuid)
        self.calls.append(("power_on", instance_uuid))
        self.states[instance_uuid] = "running"

    def reboot(self, instance_uuid: str, hard: bool = True, shutdown_timeout: float = 0) -> None:
        self._known(instance_uuid)
        self.shutdown_timeouts.append(("reboot", shutdown_timeout))
        self.calls.append(("reboot-hard" if hard else "reboot-soft", instance_uuid))
        self.states[instance_uuid] = "running"

    def get_power_state(self, instance_uuid: str) -> str:
        self._known(instance_uuid)
        return self.states[instance_uuid]

    def get_domain_xml(self, instance_uuid: str) -> str:
        self._known(instance_uuid)
        return f"<domain><uuid>{instance_uuid}</uuid></domain>"

    def get_console_output(self, instance_uuid: str) -> str:
        self._known(instance_uuid)
        return self.console

    def list_instance_uuids(self) -> list[str]:
        return sorted(self.states)

    def register_lifecycle_callback(self, callback: Callable[[str, str], None]) -> None:
        self.callbacks.append(callback)

    def crash(self, instance_uuid: str) -> None:
        """The guest dies on its own: state changes and an event fires."""
        self.states[instance_uuid] = "crashed"
        for callback in self.callbacks:
            callback(instance_uuid, "crashed")
