"""Field parsers of the fleet file format, one per host field (see ``fleet``).

Each parser takes the raw YAML value and a :class:`Context` and returns the typed value
or raises :class:`FieldError` with a message the loader prefixes with file, host and
field. :data:`FIELDS` is the table the loader walks; :func:`check_host` does the checks
that span several fields.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from virtfleet import conf as virtfleet_conf
from virtfleet.virt.libvirt.slices.spec import MAX_SLICES, template_file_problem
from virtfleet.virt.sim import machines
from virtfleet.virt.sim.profile import (
    DEFAULT_LIBVIRT_VERSION,
    DEFAULT_QEMU_VERSION,
    Gpu,
    MdevType,
    SliceSpec,
    Version,
)
from virtfleet.virt.types import NumaCell

ARCH_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "amd64": "x86_64",
        "x64": "x86_64",
        "arm64": "aarch64",
        "i386": "i686",
        "i486": "i686",
        "i586": "i686",
        "ppc64el": "ppc64le",
        "armhf": "armv7l",
    }
)
VIRT_TYPES = ("kvm", "qemu")
CPU_MODES = ("host-model", "host-passthrough", "custom")
X86_ARCHES = ("x86_64", "i686")
DEFAULT_CPU_MODEL: Mapping[str, str] = MappingProxyType(
    {"x86_64": "EPYC-Rome", "i686": "EPYC-Rome", "aarch64": "cortex-a72", "s390x": "gen15a"}
)
# Host CPU features reported when the fleet file names none (a typical server CPU).
DEFAULT_CPU_FEATURES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "x86_64": (
            "vme",
            "ssse3",
            "sse4.1",
            "sse4.2",
            "x2apic",
            "aes",
            "xsave",
            "avx",
            "f16c",
            "rdrand",
            "avx2",
            "bmi1",
            "bmi2",
            "sha-ni",
            "pdpe1gb",
            "rdtscp",
            "invtsc",
        ),
    }
)
_CPU_FEATURE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_VENDOR_BY_PREFIX = (("EPYC", "AMD"), ("Opteron", "AMD"), ("Dhyana", "Hygon"), ("cortex", "ARM"))
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_PCI_ADDRESS = re.compile(r"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$")
_RESOURCE_CLASS = re.compile(r"^CUSTOM_[A-Z0-9_]+$")
_CPUSET = re.compile(r"\d{1,5}(-\d{1,5})?(,\d{1,5}(-\d{1,5})?)*")
_MDEV_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


# Bounds on what one fleet file may ask for (docs/limits.md): generous for real
# hardware, small enough that no value can make start-up hang or run out of memory.
MAX_HOST_CPUS = 8192
MAX_AMOUNT = 2**31 - 1  # placement's limit on an inventory amount (MiB, GiB)
MAX_NUMA_CELLS = 1024
MAX_GPUS = 256
MAX_MDEVS_PER_TYPE = 4096
MAX_COUNT = 10_000
MAX_NAME_CHARS = 63
# Options a host's ``config:`` may not set: embedded agents share them with the
# control plane (or virtfleet sets them per host itself).
SHARED_OPTIONS = {
    "DEFAULT": ("data_dir", "host", "transport_url"),
    "database": ("connection",),
    "api": ("*",),
    "libvirt": ("connection_uri",),
}


class FieldError(Exception):
    """A value is wrong; the loader adds file, host and field to the message."""


@dataclass(frozen=True)
class Context:
    """What a field parser may look at besides its own value."""

    entry: Mapping[str, Any]
    base_dir: Path | None


# ---- field parsers: (value, context) -> typed value; raise FieldError -----------------


def _name(value: object, _: Context) -> str:
    if value is None:
        raise FieldError("required")
    if not isinstance(value, str) or not _NAME.match(value) or len(value) > MAX_NAME_CHARS:
        raise FieldError(
            f"expected a host name ([A-Za-z0-9._-], at most {MAX_NAME_CHARS} characters), "
            f"got {show(value)}"
        )
    return value


def _arch_name(value: object) -> str:
    if not isinstance(value, str):
        raise FieldError(f"expected an architecture name, got {show(value)}")
    arch = ARCH_ALIASES.get(value.lower(), value.lower())
    if arch not in machines.known_arches():
        known = ", ".join(sorted(machines.known_arches()))
        raise FieldError(f"unknown architecture {value!r}; known: {known}")
    return arch


def _arch(value: object, _: Context) -> str:
    if value is None:
        raise FieldError("required")
    return _arch_name(value)


def _choice(options: tuple[str, ...], default: str) -> Callable[[object, Context], str]:
    def parse(value: object, _: Context) -> str:
        if value is None:
            return default
        if value not in options:
            raise FieldError(f"expected one of {', '.join(options)}, got {show(value)}")
        return str(value)

    return parse


def _emulators(value: object, _: Context) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise FieldError(f"expected a list of architecture names, got {show(value)}")
    return tuple(dict.fromkeys(_arch_name(item) for item in value))


def _version(default: Version) -> Callable[[object, Context], Version]:
    def parse(value: object, _: Context) -> Version:
        if value is None:
            return default
        try:
            if not isinstance(value, str):
                raise ValueError(value)
            return Version.parse(value)
        except ValueError:
            raise FieldError(
                f"expected a version string like '9.0.0' (quote it), got {show(value)}"
            ) from None

    return parse


def _positive(value: object, what: str = "a positive integer", maximum: int = MAX_AMOUNT) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= maximum:
        raise FieldError(f"expected {what} from 1 to {maximum}, got {show(value)}")
    return value


def _positive_or(default: int) -> Callable[[object, Context], int]:
    def parse(value: object, _: Context) -> int:
        return default if value is None else _positive(value)

    return parse


def _migration_seconds(value: object, _: Context) -> float:
    if value is None:
        return 0.2
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 3600:
        raise FieldError(f"expected seconds from 0 to 3600, got {show(value)}")
    return float(value)


def _cpus(value: object, context: Context) -> int:
    if value is not None:
        return _positive(value, maximum=MAX_HOST_CPUS)
    cells = context.entry.get("numa")
    if isinstance(cells, list):
        try:
            return sum(len(_cpuset(cell.get("cpus"))) for cell in cells if isinstance(cell, dict))
        except FieldError:
            return 16
    return 16


def _memory_mb(value: object, context: Context) -> int:
    if value is not None:
        return _positive(value)
    cells = context.entry.get("numa")
    if isinstance(cells, list):
        total = sum(
            cell.get("memory_mb", 0)
            for cell in cells
            if isinstance(cell, dict) and isinstance(cell.get("memory_mb"), int)
        )
        return total or 65536
    return 65536


def _cpuset(value: object) -> tuple[int, ...]:
    """A list of CPU numbers or a libvirt cpuset string such as ``"0-7,16-23"``."""
    if isinstance(value, list) and all(
        isinstance(cpu, int) and not isinstance(cpu, bool) and cpu >= 0 for cpu in value
    ):
        cpus = list(value)
        if any(cpu >= MAX_HOST_CPUS for cpu in cpus):
            raise FieldError(f"CPU numbers must be below {MAX_HOST_CPUS}, got {show(value)}")
    elif isinstance(value, str) and re.fullmatch(
        r"\d{1,5}(-\d{1,5})?(,\d{1,5}(-\d{1,5})?)*", value
    ):
        cpus = []
        for part in value.split(","):
            low, _, high = part.partition("-")
            if int(high or low) >= MAX_HOST_CPUS:
                raise FieldError(f"CPU {high or low} in {show(value)} is not below {MAX_HOST_CPUS}")
            cpus.extend(range(int(low), int(high or low) + 1))
            if len(cpus) > MAX_HOST_CPUS:
                raise FieldError(f"CPU list {show(value)} has more than {MAX_HOST_CPUS} CPUs")
    else:
        raise FieldError(f"expected a CPU list like [0, 1] or '0-7', got {show(value)}")
    if not cpus or len(set(cpus)) != len(cpus):
        raise FieldError(f"CPU list {show(value)} is empty or repeats a CPU")
    return tuple(sorted(cpus))


def _numa(value: object, context: Context) -> tuple[NumaCell, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not value:
        raise FieldError(f"expected a non-empty list of cells, got {show(value)}")
    if len(value) > MAX_NUMA_CELLS:
        raise FieldError(f"{len(value)} cells; a host may have at most {MAX_NUMA_CELLS}")
    cells = []
    for index, cell in enumerate(value):
        if not isinstance(cell, dict):
            raise FieldError(f"cell {index}: expected a mapping, got {show(cell)}")
        unknown = set(cell) - {"cpus", "memory_mb"}
        if unknown:
            raise FieldError(f"cell {index}: unknown key {sorted(unknown)[0]!r}")
        try:
            cpus = _cpuset(cell.get("cpus"))
            memory = _positive(cell.get("memory_mb"))
        except FieldError as exc:
            raise FieldError(f"cell {index}: {exc}") from None
        cells.append(NumaCell(id=index, cpus=cpus, memory_mb=memory))
    return tuple(cells)


def _bits(value: object, _: Context) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 32 <= value <= 52:
        raise FieldError(f"expected an integer from 32 to 52 or null, got {show(value)}")
    return value


def _optional_str(value: object, _: Context) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise FieldError(f"expected a string, got {show(value)}")
    return value


def _cpu_features(value: object, _: Context) -> tuple[str, ...] | None:
    if value is None:
        return None  # the arch's default, filled in by check_host
    if not isinstance(value, list) or not all(
        isinstance(item, str) and _CPU_FEATURE.match(item) for item in value
    ):
        raise FieldError(f"expected a list of CPU feature names like 'avx2', got {show(value)}")
    return tuple(dict.fromkeys(value))


def _gpus(value: object, _: Context) -> tuple[Gpu, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise FieldError(f"expected a list of GPUs, got {show(value)}")
    if len(value) > MAX_GPUS:
        raise FieldError(f"{len(value)} GPUs; a host may have at most {MAX_GPUS}")
    gpus: list[Gpu] = []
    for index, item in enumerate(value):
        try:
            gpus.append(_gpu(item))
        except FieldError as exc:
            raise FieldError(f"gpu {index}: {exc}") from None
    addresses = [gpu.address for gpu in gpus]
    for address in addresses:
        if addresses.count(address) > 1:
            raise FieldError(f"duplicate PCI address {address!r}")
    return tuple(gpus)


def _gpu(item: object) -> Gpu:
    if not isinstance(item, dict):
        raise FieldError(f"expected a mapping, got {show(item)}")
    unknown = set(item) - {"address", "mdev_types", "numa_node", "vendor", "product"}
    if unknown:
        raise FieldError(f"unknown key {sorted(unknown)[0]!r}")
    address = item.get("address")
    if not isinstance(address, str) or not _PCI_ADDRESS.match(address):
        raise FieldError(f"address: expected a PCI address like '0000:81:00.0', got {address!r}")
    numa_node = item.get("numa_node", 0)
    if (
        isinstance(numa_node, bool)
        or not isinstance(numa_node, int)
        or not 0 <= numa_node < MAX_NUMA_CELLS
    ):
        raise FieldError(f"numa_node: expected a cell number, got {show(numa_node)}")
    types = item.get("mdev_types") or {}
    if not isinstance(types, dict):
        raise FieldError(f"mdev_types: expected a mapping of type names, got {show(types)}")
    mdev_types = tuple(_mdev_type(type_id, spec) for type_id, spec in types.items())
    return Gpu(
        address=address,
        mdev_types=mdev_types,
        numa_node=numa_node,
        vendor=str(item.get("vendor", Gpu.vendor)),
        product=str(item.get("product", Gpu.product)),
    )


def _mdev_type(type_id: object, spec: object) -> MdevType:
    if not isinstance(type_id, str) or not _MDEV_TYPE.match(type_id):
        raise FieldError(f"mdev type name: expected a name like 'nvidia-222', got {type_id!r}")
    where = f"mdev type {type_id!r}"
    if not isinstance(spec, dict):
        raise FieldError(f"{where}: expected a mapping, got {show(spec)}")
    unknown = set(spec) - {"available", "name", "device_api"}
    if unknown:
        raise FieldError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    try:
        available = _positive(
            spec.get("available"), "a positive integer 'available'", MAX_MDEVS_PER_TYPE
        )
    except FieldError as exc:
        raise FieldError(f"{where}: {exc}") from None
    return MdevType(
        type_id=type_id,
        name=str(spec.get("name", type_id)),
        available=available,
        device_api=str(spec.get("device_api", "vfio-pci")),
    )


def _slices(value: object, context: Context) -> tuple[SliceSpec, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise FieldError(f"expected a list of slices, got {show(value)}")
    if len(value) > MAX_SLICES:
        raise FieldError(f"{len(value)} slices; a host may have at most {MAX_SLICES}")
    slices = [_slice(index, item, context) for index, item in enumerate(value)]
    names = [spec.name for spec in slices]
    for spec in slices:
        if names.count(spec.name) > 1:
            raise FieldError(f"duplicate slice name {spec.name!r}")
        if spec.conflict_parent is not None and spec.conflict_parent not in names:
            raise FieldError(
                f"slice {spec.name!r}: unknown conflict_parent {spec.conflict_parent!r}"
            )
    parents = {spec.name: spec.conflict_parent for spec in slices}
    for spec in slices:
        seen = {spec.name}
        parent = spec.conflict_parent
        while parent is not None:
            if parent in seen:
                raise FieldError(f"slice {spec.name!r}: conflict_parent chain has a cycle")
            seen.add(parent)
            parent = parents[parent]
    return tuple(slices)


def _slice(index: int, item: object, context: Context) -> SliceSpec:
    if not isinstance(item, dict):
        raise FieldError(f"slice {index}: expected a mapping, got {show(item)}")
    label = f"slice {item.get('name', index)!r}" if "name" in item else f"slice {index}"
    unknown = set(item) - {"name", "resource_class", "template", "template_file", "conflict_parent"}
    if unknown:
        raise FieldError(f"{label}: unknown key {sorted(unknown)[0]!r}")
    name = item.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise FieldError(f"{label}: name: expected a slice name, got {show(name)}")
    resource_class = item.get("resource_class")
    if not isinstance(resource_class, str) or not _RESOURCE_CLASS.match(resource_class):
        raise FieldError(
            f"{label}: resource_class: expected CUSTOM_[A-Z0-9_]+, got {show(resource_class)}"
        )
    template, template_file = item.get("template"), item.get("template_file")
    if (template is None) == (template_file is None):
        raise FieldError(f"{label}: give exactly one of 'template' and 'template_file'")
    if template is not None and not isinstance(template, str):
        raise FieldError(f"{label}: template: expected Jinja2 text, got {show(template)}")
    if template_file is not None:
        template_file = _template_path(label, template_file, context.base_dir)
    parent = item.get("conflict_parent")
    if parent is not None and not isinstance(parent, str):
        raise FieldError(f"{label}: conflict_parent: expected a slice name, got {show(parent)}")
    return SliceSpec(name, resource_class, template, template_file, parent)


def _template_path(label: str, value: object, base_dir: Path | None) -> str:
    if not isinstance(value, str) or not value:
        raise FieldError(f"{label}: template_file: expected a path, got {show(value)}")
    path = Path(value)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    problem = template_file_problem(path)
    if problem is not None:
        raise FieldError(f"{label}: template_file {str(path)!r} {problem}")
    return str(path)


def _config(value: object, _: Context) -> dict[str, dict[str, Any]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FieldError(f"expected a mapping of option groups, got {show(value)}")
    known: dict[str, set[str]] = {}
    for group, opts in virtfleet_conf.list_opts():
        known.setdefault(group or "DEFAULT", set()).update(opt.dest for opt in opts)
    result: dict[str, dict[str, Any]] = {}
    for group, options in value.items():
        if group not in known:
            raise FieldError(f"unknown option group {group!r}; known: {', '.join(sorted(known))}")
        if not isinstance(options, dict):
            raise FieldError(f"group {group!r}: expected a mapping, got {show(options)}")
        for option in options:
            if option not in known[group]:
                raise FieldError(f"unknown option [{group}] {option}")
            shared = SHARED_OPTIONS.get(group, ())
            if option in shared or "*" in shared:
                raise FieldError(
                    f"option [{group}] {option} cannot be set per host: the embedded "
                    "control plane and its agents share it (set it in virtfleet.conf "
                    "or on the command line instead)"
                )
        result[group] = dict(options)
    return result


def count_range(value: object) -> range | None:
    if value is None:
        return None
    try:
        return range(1, _positive(value, maximum=MAX_COUNT) + 1)
    except FieldError as exc:
        raise FieldError(f"field 'count': {exc}") from None


GUEST_ACPI = ("honour", "ignore")

# field name -> (parser, documentation). Order matters: HostProfile(**values).
FIELDS: dict[str, tuple[Callable[[object, Context], Any], str]] = {
    "name": (_name, "host name"),
    "arch": (_arch, "native host arch"),
    "virt_type": (_choice(VIRT_TYPES, "kvm"), "kvm or qemu"),
    "emulators": (_emulators, "arches QEMU runs under TCG"),
    "libvirt_version": (_version(DEFAULT_LIBVIRT_VERSION), "libvirt version"),
    "qemu_version": (_version(DEFAULT_QEMU_VERSION), "QEMU version"),
    "cpus": (_cpus, "host CPUs"),
    "numa": (_numa, "NUMA cells"),
    "memory_mb": (_memory_mb, "host memory"),
    "disk_gb": (_positive_or(1000), "local disk"),
    "maxphysaddr_bits": (_bits, "host physical address bits"),
    "cpu_mode": (_choice(CPU_MODES, "host-model"), "configured guest CPU mode"),
    "cpu_model": (_optional_str, "host CPU model"),
    "cpu_vendor": (_optional_str, "host CPU vendor"),
    "cpu_features": (_cpu_features, "host CPU features"),
    "gpus": (_gpus, "PCI GPUs"),
    "slices": (_slices, "slice specs"),
    "guest_acpi": (_choice(GUEST_ACPI, "honour"), "guests honour or ignore the ACPI button"),
    "config": (_config, "agent config overrides"),
    "migration_seconds": (_migration_seconds, "seconds a live migration from here takes"),
}


def check_host(values: dict[str, Any]) -> None:
    """Cross-field checks, after every field parsed."""
    arch: str = values["arch"]
    if values["maxphysaddr_bits"] is not None and arch not in X86_ARCHES:
        raise FieldError(
            f"field 'maxphysaddr_bits': only x86 hosts report physical address bits, "
            f"this host is {arch}"
        )
    cells: tuple[NumaCell, ...] = values["numa"]
    cpus, memory = values["cpus"], values["memory_mb"]
    if not cells:
        values["numa"] = (NumaCell(0, tuple(range(cpus)), memory),)
    else:
        numbered = sorted(cpu for cell in cells for cpu in cell.cpus)
        if numbered != list(range(cpus)):
            raise FieldError(
                f"field 'numa': cells must cover CPUs 0-{cpus - 1} exactly once, "
                f"they cover {_ranges(numbered)}"
            )
        if sum(cell.memory_mb for cell in cells) != memory:
            raise FieldError(
                f"field 'numa': cell memory adds up to "
                f"{sum(cell.memory_mb for cell in cells)} MiB, memory_mb is {memory}"
            )
    for gpu in values["gpus"]:
        if gpu.numa_node >= len(values["numa"]):
            raise FieldError(
                f"field 'gpus': gpu {gpu.address!r}: numa_node {gpu.numa_node} does not exist"
            )
    if values["cpu_features"] is None:
        values["cpu_features"] = DEFAULT_CPU_FEATURES.get(arch, ())
    if values["cpu_model"] is None:
        values["cpu_model"] = DEFAULT_CPU_MODEL.get(arch)
    if values["cpu_vendor"] is None and values["cpu_model"]:
        values["cpu_vendor"] = next(
            (v for p, v in _VENDOR_BY_PREFIX if values["cpu_model"].startswith(p)),
            "Intel" if arch in X86_ARCHES else None,
        )


def _ranges(cpus: list[int]) -> str:
    return ",".join(str(cpu) for cpu in cpus) or "nothing"


def show(value: object) -> str:
    """A value as the operator wrote it, for messages."""
    if isinstance(value, str):
        return repr(value) if len(value) <= 60 else f"{value[:40]!r}... ({len(value)} characters)"
    if value is None:
        return "nothing"
    if isinstance(value, (list, dict)):
        return f"a {type(value).__name__}"
    return repr(value)
