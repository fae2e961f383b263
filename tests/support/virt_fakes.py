"""An in-test fake of the libvirt connection subset the driver uses, built from the
reference capabilities captured on a real host, with injectable failures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import libvirt

from virtfleet.virt.libvirt import config

REFERENCE = Path("/work/shared/libvirt/reference")
CAPS_XML = REFERENCE / "qemu-system-capabilities.xml"


def libvirt_error(code: int, message: str) -> libvirt.libvirtError:
    """A libvirtError with ``code``, independent of libvirt's thread-local last error."""
    error: libvirt.libvirtError = libvirt.libvirtError.__new__(libvirt.libvirtError)
    Exception.__init__(error, message)
    error.err = (
        code,
        libvirt.VIR_FROM_QEMU,
        message,
        libvirt.VIR_ERR_ERROR,
        message,
        None,
        None,
        -1,
        -1,
    )
    return error


def capabilities_xml(host_arch: str = "x86_64") -> str:
    """The reference capabilities, optionally claiming another host arch (kvm follows)."""
    text = CAPS_XML.read_text()
    if host_arch == "x86_64":
        return text
    text = text.replace("<arch>x86_64</arch>", f"<arch>{host_arch}</arch>", 1)
    text = text.replace("      <domain type='kvm'/>\n", "")
    marker = f"<arch name='{host_arch}'>"
    start = text.index(marker)
    end = text.index("</arch>", start)
    return text[:end] + "  <domain type='kvm'/>\n    " + text[end:]


def domain_capabilities_xml(arch: str) -> str | None:
    found = sorted(REFERENCE.glob(f"domcapabilities-{arch}-*.xml"))
    return found[0].read_text() if found else None


class FakeDomain:
    def __init__(self, conn: CoreConnection, xml: str) -> None:
        self.conn = conn
        self.xml = xml
        parsed = config.Domain.parse(xml)
        self._name = parsed.name or ""
        self._uuid = parsed.uuid or ""
        self.active = False
        self.state_code = libvirt.VIR_DOMAIN_SHUTOFF
        self.resets = 0

    def name(self) -> str:
        return self._name

    def UUIDString(self) -> str:
        return self._uuid

    def XMLDesc(self, flags: int = 0) -> str:
        return self.xml

    def isActive(self) -> bool:
        return self.active

    def state(self) -> list[int]:
        return [self.state_code, 0]

    def create(self) -> int:
        self.conn.maybe_fail("create")
        if self.active:
            raise libvirt_error(libvirt.VIR_ERR_OPERATION_INVALID, "domain is already running")
        self.active, self.state_code = True, libvirt.VIR_DOMAIN_RUNNING
        self.conn.emit(self, libvirt.VIR_DOMAIN_EVENT_STARTED)
        return 0

    def destroy(self) -> int:
        self.conn.maybe_fail("destroy")
        if not self.active:
            raise libvirt_error(libvirt.VIR_ERR_OPERATION_INVALID, "domain is not running")
        self.active, self.state_code = False, libvirt.VIR_DOMAIN_SHUTOFF
        self.conn.emit(self, libvirt.VIR_DOMAIN_EVENT_STOPPED)
        return 0

    def shutdown(self) -> int:
        """A guest of the fakes honours ACPI: it powers off at once."""
        self.conn.maybe_fail("shutdown")
        return self.destroy()

    def reset(self, flags: int = 0) -> int:
        self.conn.maybe_fail("reset")
        self.resets += 1
        return 0

    def undefineFlags(self, flags: int = 0) -> int:
        self.conn.maybe_fail("undefineFlags")
        self.conn.domains.pop(self._uuid, None)
        return 0

    def undefine(self) -> int:
        self.conn.domains.pop(self._uuid, None)
        return 0


class CoreConnection:
    """Enough of virConnect for discovery and the driver; ``fail`` injects errors.

    The subclasses add ``getDomainCapabilities`` (real libvirt has it) and
    ``getSimDiskGB`` (the simulator has it) in the combinations the tests need.
    """

    def __init__(
        self,
        host_arch: str = "x86_64",
        lib_version: int = 9_000_000,
        qemu_version: int = 7_002_022,
    ) -> None:
        self.caps = capabilities_xml(host_arch)
        self.lib_version = lib_version
        self.qemu_version = qemu_version
        self.domains: dict[str, FakeDomain] = {}
        self.fail: dict[str, int] = {}  # method name -> libvirt error code
        self.callbacks: list[Callable[..., None]] = []
        self.domcaps_calls: list[tuple[Any, ...]] = []

    def maybe_fail(self, method: str) -> None:
        if method in self.fail:
            raise libvirt_error(self.fail[method], f"injected failure of {method}")

    def emit(self, domain: FakeDomain, event: int) -> None:
        for callback in self.callbacks:
            callback(self, domain, event, 0, None)

    def getCapabilities(self) -> str:
        return self.caps

    def getInfo(self) -> list[Any]:
        return ["x86_64", 5210, 2, 2596, 1, 1, 2, 1]

    def getType(self) -> str:
        return "QEMU"

    def getLibVersion(self) -> int:
        return self.lib_version

    def getVersion(self) -> int:
        return self.qemu_version

    def getHostname(self) -> str:
        return "fakehost"

    def defineXML(self, xml: str) -> FakeDomain:
        self.maybe_fail("defineXML")
        domain = FakeDomain(self, xml)
        self.domains[domain.UUIDString()] = domain
        return domain

    def lookupByUUIDString(self, uuid: str) -> FakeDomain:
        self.maybe_fail("lookupByUUIDString")
        if uuid not in self.domains:
            raise libvirt_error(libvirt.VIR_ERR_NO_DOMAIN, f"no domain with uuid {uuid}")
        return self.domains[uuid]

    def listAllDomains(self, flags: int = 0) -> list[FakeDomain]:
        return list(self.domains.values())

    def domainEventRegisterAny(
        self, dom: Any, event_id: int, cb: Callable[..., None], opaque: Any
    ) -> int:
        assert event_id == libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE
        self.callbacks.append(cb)
        return len(self.callbacks)


class BareConnection(CoreConnection):
    """Like the simulator: a simulated disk, no domain capabilities."""

    def getSimDiskGB(self) -> int:
        return 500


class RealLikeConnection(CoreConnection):
    """Like real libvirt: domain capabilities from the reference files, no simulated disk."""

    def getDomainCapabilities(
        self, emulator: str, arch: str, machine: str | None, virttype: str, flags: int = 0
    ) -> str:
        self.domcaps_calls.append((emulator, arch, machine, virttype))
        xml = domain_capabilities_xml(arch)
        if xml is None:
            raise libvirt_error(libvirt.VIR_ERR_NO_SUPPORT, f"no domcaps for {arch}")
        return xml


class FakeConnection(RealLikeConnection):
    """Domain capabilities and a simulated 500 GiB disk."""

    def getSimDiskGB(self) -> int:
        return 500
