"""Can KVM run a guest on this host? Asked once per connection, at agent start.

A host can offer the kvm domain type (``/dev/kvm`` exists, libvirt lists it) and
still be unable to run a guest: under some outer hypervisors nested KVM makes QEMU
abort at the first vCPU reset ("failed to set MSR 0x10a"), so the first boot would
fail. The probe starts a tiny paused transient domain of the host's architecture
under kvm, with the CPU mode guests get, and destroys it at once (a few seconds).
"""

from __future__ import annotations

import contextlib
import uuid
from xml.sax.saxutils import escape, quoteattr

import libvirt

from virtfleet.virt.hypervisor import Connection

PROBE_PREFIX = "virtfleet-kvm-probe-"


def probe_xml(guest_arch: str, emulator: str, machine: str | None, cpu_mode: str) -> str:
    """A transient kvm domain with no disk and 16 MiB, never run past its reset."""
    machine_attr = f" machine={quoteattr(machine)}" if machine else ""
    host_cpu = cpu_mode in ("host-model", "host-passthrough")
    cpu = f"<cpu mode={quoteattr(cpu_mode)}/>" if host_cpu else ""
    return (
        "<domain type='kvm'>"
        f"<name>{PROBE_PREFIX}{uuid.uuid4().hex[:12]}</name>"
        "<memory unit='MiB'>16</memory><vcpu>1</vcpu>"
        f"<os><type arch={quoteattr(guest_arch)}{machine_attr}>hvm</type></os>{cpu}"
        f"<devices><emulator>{escape(emulator)}</emulator></devices>"
        "</domain>"
    )


def kvm_problem(conn: Connection, xml: str) -> str | None:
    """Why KVM cannot start the probe domain ``xml`` (None: it can)."""
    try:
        domain = conn.createXML(xml, libvirt.VIR_DOMAIN_START_PAUSED)
    except libvirt.libvirtError as exc:
        return _summary(exc.get_error_message() or str(exc))
    with contextlib.suppress(libvirt.libvirtError):  # a transient domain already gone
        domain.destroy()
    return None


def _summary(message: str) -> str:
    """QEMU's own error line when libvirt quotes it, else libvirt's message."""
    for line in message.splitlines():
        if "error:" in line and "qemu" in line:
            return line.rsplit("error:", 1)[1].strip()
    return message.strip().splitlines()[0] if message.strip() else "unknown error"
