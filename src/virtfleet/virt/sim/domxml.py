"""Parse a domain XML the way libvirt does at ``defineXML`` time, for one host.

:func:`parse_domain` applies the checks real libvirt 9.0 applies when a domain is
*defined* (probed on qemu:///system) and returns a :class:`DomainDef`; checks real
libvirt makes only when a domain *starts* live in :mod:`virtfleet.virt.sim.startcheck`.
"""

from __future__ import annotations

import re
import uuid as uuid_module
from dataclasses import dataclass

import libvirt
from lxml import etree

from virtfleet.virt.sim import machines
from virtfleet.virt.sim.errors import libvirt_error
from virtfleet.virt.sim.profile import HostProfile

# Domain types libvirt knows; only kvm and qemu are QEMU's.
KNOWN_DOMAIN_TYPES = (
    "qemu",
    "kvm",
    "kqemu",
    "xen",
    "lxc",
    "uml",
    "openvz",
    "test",
    "vmware",
    "hyperv",
    "vbox",
    "phyp",
    "vz",
    "bhyve",
    "hvf",
)
# Machine type used when <type> names none (what QEMU/libvirt pick by default).
DEFAULT_MACHINE = {
    "x86_64": "pc",
    "i686": "pc",
    "aarch64": "virt",
    "armv7l": "virt",
    "armv6l": "virt",
    "ppc64le": "pseries",
    "ppc64": "pseries",
    "s390x": "s390-ccw-virtio",
    "riscv64": "virt",
    "riscv32": "virt",
    "mipsel": "malta",
    "mips": "malta",
    "mips64el": "malta",
    "mips64": "malta",
}
X86_ARCHES = ("x86_64", "i686")
# Arch names libvirt knows although no QEMU here emulates them: "No emulator found"
# rather than "Unknown architecture".
ARCHES_WITHOUT_QEMU = (
    "sparc",
    "sparc64",
    "parisc",
    "parisc64",
    "ppcle",
    "ppcemb",
    "s390",
    "unicore32",
    "loongarch64",
    "riscv32be",
    "riscv64be",
)
_UNITS = {
    "b": 1,
    "bytes": 1,
    "kb": 1000,
    "k": 1024,
    "kib": 1024,
    "mb": 1000**2,
    "m": 1024**2,
    "mib": 1024**2,
    "gb": 1000**3,
    "g": 1024**3,
    "gib": 1024**3,
    "tb": 1000**4,
    "t": 1024**4,
    "tib": 1024**4,
}
_CPUSET = re.compile(r"^\^?\d+(-\d+)?(,\^?\d+(-\d+)?)*$")


@dataclass(frozen=True)
class MaxPhysAddr:
    mode: str
    bits: int | None


@dataclass(frozen=True)
class DomainDef:
    """What the simulator needs to know about a defined domain."""

    name: str
    uuid: str
    domain_type: str
    arch: str
    machine: str
    memory_kib: int
    vcpus: int
    cpu_mode: str | None  # None: no <cpu> element
    maxphysaddr: MaxPhysAddr | None
    firmware: str | None  # <os firmware=...>, e.g. "efi"
    mdev_uuids: tuple[str, ...]
    pci_addresses: tuple[str, ...]
    pinned_cpus: frozenset[int]
    numa_nodes: frozenset[int]  # host NUMA nodes <numatune> binds memory to
    on_crash: str
    emulator: str
    xml: str  # the normalised inactive XML
    log_files: tuple[str, ...] = ()  # file-backed serial/console sources (opened at start)


VNC_BASE_PORT = 5900


def _unsupported(detail: str) -> libvirt.libvirtError:
    return libvirt_error(libvirt.VIR_ERR_CONFIG_UNSUPPORTED, detail)


def parse_xml(text: str, what: str) -> etree._Element:
    """Parse XML or raise ``VIR_ERR_XML_DETAIL`` like libvirt's libxml2 wrapper."""
    try:
        parser = etree.XMLParser(resolve_entities=False, remove_blank_text=True, no_network=True)
        return etree.fromstring(text.encode(), parser=parser)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or 1
        raise libvirt_error(
            libvirt.VIR_ERR_XML_DETAIL,
            f"({what}):{line}: {exc.msg}",
            libvirt.VIR_FROM_DOMAIN,
            prefix=False,
        ) from None


def parse_domain(xml: str, host: HostProfile) -> DomainDef:
    """Validate ``xml`` for ``host`` as libvirt's defineXML does; normalise it."""
    root = parse_xml(xml, "domain_definition")
    if root.tag != "domain":
        raise libvirt_error(
            libvirt.VIR_ERR_XML_ERROR,
            f"expecting root element of 'domain', not '{root.tag}'",
            libvirt.VIR_FROM_XML,
        )
    name = (root.findtext("name") or "").strip()
    if not name:
        raise libvirt_error(
            libvirt.VIR_ERR_NO_NAME,
            "missing name information",
            libvirt.VIR_FROM_DOMAIN,
            prefix=False,
        )
    memory_kib = _memory_kib(root)
    uuid = _uuid(root)
    vcpus = _vcpus(root)
    domain_type = root.get("type", "")
    if domain_type not in KNOWN_DOMAIN_TYPES:
        raise _unsupported(f"invalid domain type {domain_type}")
    os_type = root.find("os/type")
    arch = (os_type.get("arch") if os_type is not None else None) or host.arch
    if arch not in machines.known_arches() and arch not in ARCHES_WITHOUT_QEMU:
        raise _unsupported(f"Unknown architecture {arch}")
    if arch not in host.guest_arches:
        raise _unsupported(f"No emulator found for arch '{arch}'")
    info = machines.arch_info(arch, host.qemu_version[:2])
    if domain_type not in ("qemu", "kvm") or (domain_type == "kvm" and arch not in host.kvm_arches):
        raise _unsupported(f"Emulator '{info.emulator}' does not support virt type '{domain_type}'")
    requested = os_type.get("machine") if os_type is not None else None
    requested = requested or DEFAULT_MACHINE.get(arch) or info.machines[0].name
    machine = info.machine(requested)
    if machine is None:
        raise _unsupported(
            f"Emulator '{info.emulator}' does not support machine type '{requested}'"
        )
    _require_pci_bus(root, info.canonical_name(requested))
    os_element = root.find("os")
    firmware = os_element.get("firmware") if os_element is not None else None
    if firmware == "efi" and arch in X86_ARCHES and root.find("features/acpi") is None:
        raise _unsupported("UEFI requires ACPI on this architecture")
    cpu = root.find("cpu")
    cpu_mode = None if cpu is None else cpu.get("mode", "custom")
    maxphysaddr = _maxphysaddr(cpu, arch, host)
    if vcpus > machine.max_cpus:
        raise _unsupported(
            f"Maximum CPUs greater than specified machine type limit {machine.max_cpus}"
        )
    _normalise(root, uuid, memory_kib, info.canonical_name(requested), arch, info.emulator)
    return DomainDef(
        name=name,
        uuid=uuid,
        domain_type=domain_type,
        arch=arch,
        machine=info.canonical_name(requested),
        memory_kib=memory_kib,
        vcpus=vcpus,
        cpu_mode=cpu_mode,
        maxphysaddr=maxphysaddr,
        firmware=firmware,
        mdev_uuids=_mdev_uuids(root),
        pci_addresses=_pci_addresses(root),
        pinned_cpus=_pinned_cpus(root),
        numa_nodes=_numa_nodes(root),
        on_crash=(root.findtext("on_crash") or "destroy").strip(),
        emulator=info.emulator,
        xml=etree.tostring(root, encoding="unicode", pretty_print=True),
        log_files=_log_files(root),
    )


NO_PCI_MACHINES = frozenset({"isapc", "mipssim"})
"""Machines without a PCI bus (libvirt 9 refuses PCI devices on them at define)."""

PCI_DEVICES = (
    "devices/memballoon[@model='virtio']",
    "devices/disk/target[@bus='virtio']",
    "devices/rng[@model='virtio']",
    "devices/video",
    "devices/hostdev",
    "devices/interface",
)


def _require_pci_bus(root: etree._Element, machine: str) -> None:
    """libvirt places virtio/video/hostdev/NIC devices on PCI; a machine without PCI
    makes it refuse the definition."""
    if machine in NO_PCI_MACHINES and any(root.find(path) is not None for path in PCI_DEVICES):
        raise libvirt_error(
            libvirt.VIR_ERR_XML_ERROR, "No PCI buses available", libvirt.VIR_FROM_DOMAIN
        )


def _log_files(root: etree._Element) -> tuple[str, ...]:
    """Paths of ``<serial|console type='file'><source path=...>`` and of character
    devices' ``<log file=...>`` (no duplicates)."""
    sources = [
        source.get("path")
        for tag in ("serial", "console")
        for source in root.iterfind(f"devices/{tag}[@type='file']/source")
    ]
    logs = [
        log.get("file")
        for tag in ("serial", "console")
        for log in root.iterfind(f"devices/{tag}/log")
    ]
    return tuple(dict.fromkeys(p for p in sources + logs if p))


def _memory_kib(root: etree._Element) -> int:
    element = root.find("memory")
    if element is None:
        raise libvirt_error(
            libvirt.VIR_ERR_XML_ERROR,
            "Memory size must be specified via <memory> or in the <numa> configuration",
            libvirt.VIR_FROM_DOMAIN,
        )
    return _scaled_kib(element, "./memory[1]")


def _scaled_kib(element: etree._Element, where: str) -> int:
    text = (element.text or "").strip()
    unit = element.get("unit", "KiB").lower()
    if not text.isdigit() or unit not in _UNITS:
        raise libvirt_error(
            libvirt.VIR_ERR_XML_ERROR,
            f"Invalid value '{text}' for element or attribute '{where}'",
            libvirt.VIR_FROM_XML,
        )
    return -(-int(text) * _UNITS[unit] // 1024)


def _uuid(root: etree._Element) -> str:
    text = root.findtext("uuid")
    if text is None:
        return str(uuid_module.uuid4())
    try:
        return str(uuid_module.UUID(text.strip()))
    except ValueError:
        raise libvirt_error(
            libvirt.VIR_ERR_INTERNAL_ERROR, "malformed uuid element", libvirt.VIR_FROM_DOMAIN
        ) from None


def _vcpus(root: etree._Element) -> int:
    element = root.find("vcpu")
    if element is None:
        return 1
    text = (element.text or "").strip()
    if not text.isdigit() or int(text) == 0:
        raise libvirt_error(
            libvirt.VIR_ERR_XML_ERROR,
            f"Invalid value '{text}' for element or attribute './vcpu[1]'",
            libvirt.VIR_FROM_XML,
        )
    cpuset = element.get("cpuset")
    if cpuset is not None and not _CPUSET.match(cpuset):
        raise libvirt_error(
            libvirt.VIR_ERR_INVALID_ARG,
            f"Failed to parse bitmap '{cpuset}'",
            libvirt.VIR_FROM_NONE,
        )
    return int(text)


def _maxphysaddr(cpu: etree._Element | None, arch: str, host: HostProfile) -> MaxPhysAddr | None:
    element = None if cpu is None else cpu.find("maxphysaddr")
    if element is None:
        return None
    if host.libvirt_version < (8, 7, 0):
        raise _unsupported(
            f"CPU maximum physical address bits need libvirt >= 8.7.0, this host has "
            f"{host.libvirt_version} (older libvirt would silently drop <maxphysaddr>)"
        )
    mode = element.get("mode")
    bits_text = element.get("bits")
    if mode not in ("emulate", "passthrough"):
        raise libvirt_error(
            libvirt.VIR_ERR_XML_ERROR,
            f"Invalid value '{mode}' for element or attribute './cpu[1]/maxphysaddr[1]/@mode'",
            libvirt.VIR_FROM_XML,
        )
    if bits_text is not None and not bits_text.isdigit():
        raise libvirt_error(
            libvirt.VIR_ERR_XML_ERROR,
            f"Invalid value '{bits_text}' for element or attribute './cpu[1]/maxphysaddr[1]/@bits'",
            libvirt.VIR_FROM_XML,
        )
    if arch not in X86_ARCHES:
        raise _unsupported(
            f"CPU maximum physical address bits specification is not supported for "
            f"'{arch}' architecture"
        )
    if mode == "passthrough" and bits_text is not None:
        raise _unsupported(
            "CPU maximum physical address bits number specification cannot be used "
            "with mode='passthrough'"
        )
    if mode == "emulate" and bits_text is None:
        raise _unsupported(
            "if using CPU maximum physical address mode='emulate', bits= must be specified too"
        )
    return MaxPhysAddr(mode, int(bits_text) if bits_text is not None else None)


def _mdev_uuids(root: etree._Element) -> tuple[str, ...]:
    result = []
    for hostdev in root.iterfind("devices/hostdev[@type='mdev']"):
        address = hostdev.find("source/address")
        text = address.get("uuid") if address is not None else None
        try:
            result.append(str(uuid_module.UUID(text or "")))
        except ValueError:
            raise libvirt_error(
                libvirt.VIR_ERR_XML_ERROR,
                f"Missing or invalid 'uuid' attribute in mdev source address: {text!r}",
                libvirt.VIR_FROM_DOMAIN,
            ) from None
    return tuple(result)


def _pci_addresses(root: etree._Element) -> tuple[str, ...]:
    result = []
    for hostdev in root.iterfind("devices/hostdev[@type='pci']"):
        address = hostdev.find("source/address")
        if address is None:
            raise libvirt_error(
                libvirt.VIR_ERR_XML_ERROR,
                "PCI host devices must use 'pci' address type",
                libvirt.VIR_FROM_DOMAIN,
            )
        try:
            parts = [int(address.get(key, "0"), 0) for key in ("domain", "bus", "slot", "function")]
        except ValueError:
            raise libvirt_error(
                libvirt.VIR_ERR_XML_ERROR,
                "Cannot parse PCI <address> attributes",
                libvirt.VIR_FROM_DOMAIN,
            ) from None
        result.append("{:04x}:{:02x}:{:02x}.{:x}".format(*parts))
    return tuple(result)


def _pinned_cpus(root: etree._Element) -> frozenset[int]:
    vcpu = root.find("vcpu")
    sets = [vcpu.get("cpuset") if vcpu is not None else None]
    sets += [pin.get("cpuset") for pin in root.iterfind("cputune/vcpupin")]
    sets += [pin.get("cpuset") for pin in root.iterfind("cputune/emulatorpin")]
    return _bitmaps(sets)


def _numa_nodes(root: etree._Element) -> frozenset[int]:
    sets = [node.get("nodeset") for node in root.iterfind("numatune/memory")]
    sets += [node.get("nodeset") for node in root.iterfind("numatune/memnode")]
    return _bitmaps(sets)


def _bitmaps(sets: list[str | None]) -> frozenset[int]:
    """The union of libvirt bitmap strings (``0-3,^2,8``); None entries are skipped."""
    cpus: set[int] = set()
    for text in sets:
        if text is None:
            continue
        if not _CPUSET.match(text):
            raise libvirt_error(
                libvirt.VIR_ERR_INVALID_ARG,
                f"Failed to parse bitmap '{text}'",
                libvirt.VIR_FROM_NONE,
            )
        for part in text.split(","):
            if part.startswith("^"):
                cpus.discard(int(part[1:]))
                continue
            low, _, high = part.partition("-")
            cpus.update(range(int(low), int(high or low) + 1))
    return frozenset(cpus)


def _normalise(
    root: etree._Element, uuid: str, memory_kib: int, machine: str, arch: str, emulator: str
) -> None:
    """Fill in what libvirt fills in: uuid, KiB memory, canonical machine, emulator;
    drop a live ``id`` (XML taken from a running domain)."""
    if "id" in root.attrib:
        del root.attrib["id"]
    if root.find("uuid") is None:
        element = etree.Element("uuid")
        element.text = uuid
        root.find("name").addnext(element)  # type: ignore[union-attr]  # name checked
    else:
        root.find("uuid").text = uuid  # type: ignore[union-attr]  # just found
    memory = root.find("memory")
    assert memory is not None
    memory.text, memory.attrib["unit"] = str(memory_kib), "KiB"
    os_element = root.find("os")
    if os_element is None:
        os_element = etree.SubElement(root, "os")
    os_type = os_element.find("type")
    if os_type is None:
        os_type = etree.SubElement(os_element, "type")
        os_type.text = "hvm"
    os_type.set("arch", arch)
    os_type.set("machine", machine)
    devices = root.find("devices")
    if devices is None:
        devices = etree.SubElement(root, "devices")
    if devices.find("emulator") is None:
        element = etree.Element("emulator")
        element.text = emulator
        devices.insert(0, element)


def live_xml(definition: DomainDef, domain_id: int) -> str:
    """The running form of a domain's XML: the inactive one plus its ``id`` and, as
    libvirt fills them in, the port of an autoport VNC server (5900 + id)."""
    root = etree.fromstring(definition.xml.encode())
    root.set("id", str(domain_id))
    for graphics in root.iterfind("devices/graphics[@type='vnc']"):
        if graphics.get("autoport") == "yes":
            graphics.set("port", str(VNC_BASE_PORT + domain_id))
    return etree.tostring(root, encoding="unicode", pretty_print=True)
