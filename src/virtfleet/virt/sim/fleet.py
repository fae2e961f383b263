"""Fleet files: YAML descriptions of simulated hypervisor hosts.

Format (full reference in ``docs/fleet-file.md``)::

    version: 1                     # optional, format version (only 1 exists)
    defaults:                      # optional, merged into every host (host wins;
      virt_type: kvm               #   ``config`` is merged per group)
    hosts:
      - name: kvm                  # required; [A-Za-z0-9][A-Za-z0-9._-]*
        count: 3                   # optional: expands into kvm-1 .. kvm-3
        arch: x86_64               # native arch (aliases amd64, arm64 ... accepted)
        virt_type: kvm             # kvm | qemu
        emulators: [aarch64]       # arches QEMU runs under TCG
        libvirt_version: "9.0.0"
        qemu_version: "8.2.0"
        cpus: 32                   # host CPUs
        numa:                      # default: one cell with every CPU and all memory
          - {cpus: "0-15", memory_mb: 65536}
        memory_mb: 131072
        disk_gb: 2000
        maxphysaddr_bits: 46       # x86 hosts only; null = not reported
        cpu_mode: host-model       # host-model | host-passthrough | custom
        cpu_model: EPYC-Rome       # model in the capabilities XML
        cpu_vendor: AMD            # default: derived from the model
        gpus:
          - address: "0000:81:00.0"
            numa_node: 1
            mdev_types:
              nvidia-222: {available: 4, name: "GRID T4-2Q", device_api: vfio-pci}
        slices:
          - {name: s8, resource_class: CUSTOM_SLICE_8, template_file: slices/slice-8.xml.j2}
          - {name: s4a, resource_class: CUSTOM_SLICE_4, template: "...", conflict_parent: s8}
        config:                    # oslo.config overrides for this host's agent
          libvirt: {cpu_mode: host-passthrough}

Every error is a :class:`~virtfleet.errors.ConfigError` naming the file, the host and
the field. Unknown keys are errors, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from virtfleet import conf as virtfleet_conf
from virtfleet.errors import ConfigError, NotFound
from virtfleet.virt.sim import machines
from virtfleet.virt.sim.profile import (
    DEFAULT_LIBVIRT_VERSION,
    DEFAULT_QEMU_VERSION,
    Gpu,
    HostProfile,
    MdevType,
    NumaCell,
    SliceSpec,
    Version,
)

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
_VENDOR_BY_PREFIX = (("EPYC", "AMD"), ("Opteron", "AMD"), ("Dhyana", "Hygon"), ("cortex", "ARM"))
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_PCI_ADDRESS = re.compile(r"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$")
_RESOURCE_CLASS = re.compile(r"^CUSTOM_[A-Z0-9_]+$")
_MDEV_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_TOP_LEVEL = ("version", "defaults", "hosts")


__all__ = ["Fleet", "HostProfile", "default_fleet", "load_fleet"]


class _FieldError(Exception):
    """A value is wrong; the loader adds file, host and field to the message."""


@dataclass(frozen=True, eq=False)
class Fleet:
    """The hosts of one fleet file, in file order. Identity matters: simulated
    hypervisors are registered per Fleet object (see ``virt.sim.registry``)."""

    hosts: tuple[HostProfile, ...]
    source: str = "<text>"

    def host(self, name: str) -> HostProfile:
        for host in self.hosts:
            if host.name == name:
                return host
        raise NotFound(f"fleet {self.source}: no host named {name!r}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(host.name for host in self.hosts)

    def __iter__(self) -> Iterator[HostProfile]:
        return iter(self.hosts)

    def __len__(self) -> int:
        return len(self.hosts)


def load_fleet(path_or_text: str | Path, *, source: str | None = None) -> Fleet:
    """Parse and validate a fleet file (a path, or YAML text)."""
    base_dir: Path | None = None
    if isinstance(path_or_text, Path) or (
        "\n" not in path_or_text and Path(path_or_text).is_file()
    ):
        path = Path(path_or_text)
        try:
            text = path.read_text()
        except OSError as exc:
            raise ConfigError(f"fleet file {path}: cannot read: {exc.strerror}") from exc
        source = source or str(path)
        base_dir = path.resolve().parent
    else:
        text = str(path_or_text)
        source = source or "<text>"
    return _parse(text, source, base_dir)


def default_fleet() -> Fleet:
    """The packaged sample fleet (``virtfleet/data/sample-fleet.yaml``)."""
    sample = resources.files("virtfleet").joinpath("data/sample-fleet.yaml")
    with resources.as_file(sample) as path:
        return load_fleet(Path(path), source="sample-fleet.yaml")


def _parse(text: str, source: str, base_dir: Path | None) -> Fleet:
    prefix = f"fleet file {source}"
    try:
        document = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{prefix}: YAML syntax error{where}: {exc.problem}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{prefix}: YAML syntax error: {exc}") from exc
    if not isinstance(document, dict):
        hint = " (no such file?)" if isinstance(document, str) else ""
        raise ConfigError(f"{prefix}: expected a mapping with 'hosts', got {_show(document)}{hint}")
    _reject_unknown(prefix, document, _TOP_LEVEL, "top-level key")
    if document.get("version", 1) != 1:
        raise ConfigError(f"{prefix}: unsupported format version {document['version']!r}")
    defaults = document.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise ConfigError(f"{prefix}: 'defaults' must be a mapping, got {_show(defaults)}")
    _reject_unknown(f"{prefix}: defaults", defaults, (*_FIELDS, "count"), "field")
    entries = document.get("hosts")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{prefix}: 'hosts' must be a non-empty list, got {_show(entries)}")
    hosts: list[HostProfile] = []
    for index, entry in enumerate(entries, start=1):
        hosts.extend(_host_entries(prefix, index, entry, defaults, base_dir))
    seen: set[str] = set()
    for host in hosts:
        if host.name in seen:
            raise ConfigError(f"{prefix}: host {host.name!r}: duplicate host name")
        seen.add(host.name)
    return Fleet(hosts=tuple(hosts), source=source)


def _host_entries(
    prefix: str, index: int, entry: object, defaults: dict[str, Any], base_dir: Path | None
) -> list[HostProfile]:
    if not isinstance(entry, dict):
        raise ConfigError(f"{prefix}: host #{index}: expected a mapping, got {_show(entry)}")
    name = entry.get("name")
    label = f"{prefix}: host {name!r}" if isinstance(name, str) else f"{prefix}: host #{index}"
    _reject_unknown(label, entry, (*_FIELDS, "count"), "field")
    merged = {**defaults, **entry}
    if isinstance(defaults.get("config"), dict) and isinstance(entry.get("config"), dict):
        merged["config"] = _merge_config(defaults["config"], entry["config"])
    count = merged.pop("count", None)
    values: dict[str, Any] = {}
    for key, (parse, _) in _FIELDS.items():
        try:
            values[key] = parse(merged.get(key), _Context(merged, base_dir))
        except _FieldError as exc:
            raise ConfigError(f"{label}: field {key!r}: {exc}") from None
    try:
        _check_host(values)
        copies = _count(count)
    except _FieldError as exc:
        raise ConfigError(f"{label}: {exc}") from None
    if copies is None:
        return [HostProfile(**values)]
    return [HostProfile(**{**values, "name": f"{values['name']}-{n}"}) for n in copies]


def _merge_config(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for group, options in override.items():
        if isinstance(options, dict) and isinstance(base.get(group), dict):
            merged[group] = {**base[group], **options}
        else:
            merged[group] = options
    return merged


@dataclass(frozen=True)
class _Context:
    """What a field parser may look at besides its own value."""

    entry: Mapping[str, Any]
    base_dir: Path | None


# ---- field parsers: (value, context) -> typed value; raise _FieldError -----------------


def _name(value: object, _: _Context) -> str:
    if value is None:
        raise _FieldError("required")
    if not isinstance(value, str) or not _NAME.match(value):
        raise _FieldError(f"expected a host name ([A-Za-z0-9._-]), got {_show(value)}")
    return value


def _arch_name(value: object) -> str:
    if not isinstance(value, str):
        raise _FieldError(f"expected an architecture name, got {_show(value)}")
    arch = ARCH_ALIASES.get(value.lower(), value.lower())
    if arch not in machines.known_arches():
        known = ", ".join(sorted(machines.known_arches()))
        raise _FieldError(f"unknown architecture {value!r}; known: {known}")
    return arch


def _arch(value: object, _: _Context) -> str:
    if value is None:
        raise _FieldError("required")
    return _arch_name(value)


def _choice(options: tuple[str, ...], default: str) -> Callable[[object, _Context], str]:
    def parse(value: object, _: _Context) -> str:
        if value is None:
            return default
        if value not in options:
            raise _FieldError(f"expected one of {', '.join(options)}, got {_show(value)}")
        return str(value)

    return parse


def _emulators(value: object, _: _Context) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _FieldError(f"expected a list of architecture names, got {_show(value)}")
    return tuple(dict.fromkeys(_arch_name(item) for item in value))


def _version(default: Version) -> Callable[[object, _Context], Version]:
    def parse(value: object, _: _Context) -> Version:
        if value is None:
            return default
        try:
            if not isinstance(value, str):
                raise ValueError(value)
            return Version.parse(value)
        except ValueError:
            raise _FieldError(
                f"expected a version string like '9.0.0' (quote it), got {_show(value)}"
            ) from None

    return parse


def _positive(value: object, what: str = "a positive integer") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise _FieldError(f"expected {what}, got {_show(value)}")
    return value


def _positive_or(default: int) -> Callable[[object, _Context], int]:
    def parse(value: object, _: _Context) -> int:
        return default if value is None else _positive(value)

    return parse


def _cpus(value: object, context: _Context) -> int:
    if value is not None:
        return _positive(value)
    cells = context.entry.get("numa")
    if isinstance(cells, list):
        try:
            return sum(len(_cpuset(cell.get("cpus"))) for cell in cells if isinstance(cell, dict))
        except _FieldError:
            return 16
    return 16


def _memory_mb(value: object, context: _Context) -> int:
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
    elif isinstance(value, str) and re.fullmatch(r"\d+(-\d+)?(,\d+(-\d+)?)*", value):
        cpus = []
        for part in value.split(","):
            low, _, high = part.partition("-")
            cpus.extend(range(int(low), int(high or low) + 1))
    else:
        raise _FieldError(f"expected a CPU list like [0, 1] or '0-7', got {_show(value)}")
    if not cpus or len(set(cpus)) != len(cpus):
        raise _FieldError(f"CPU list {_show(value)} is empty or repeats a CPU")
    return tuple(sorted(cpus))


def _numa(value: object, context: _Context) -> tuple[NumaCell, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not value:
        raise _FieldError(f"expected a non-empty list of cells, got {_show(value)}")
    cells = []
    for index, cell in enumerate(value):
        if not isinstance(cell, dict):
            raise _FieldError(f"cell {index}: expected a mapping, got {_show(cell)}")
        unknown = set(cell) - {"cpus", "memory_mb"}
        if unknown:
            raise _FieldError(f"cell {index}: unknown key {sorted(unknown)[0]!r}")
        try:
            cpus = _cpuset(cell.get("cpus"))
            memory = _positive(cell.get("memory_mb"))
        except _FieldError as exc:
            raise _FieldError(f"cell {index}: {exc}") from None
        cells.append(NumaCell(id=index, cpus=cpus, memory_mb=memory))
    return tuple(cells)


def _bits(value: object, _: _Context) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 32 <= value <= 52:
        raise _FieldError(f"expected an integer from 32 to 52 or null, got {_show(value)}")
    return value


def _optional_str(value: object, _: _Context) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise _FieldError(f"expected a string, got {_show(value)}")
    return value


def _gpus(value: object, _: _Context) -> tuple[Gpu, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _FieldError(f"expected a list of GPUs, got {_show(value)}")
    gpus: list[Gpu] = []
    for index, item in enumerate(value):
        try:
            gpus.append(_gpu(item))
        except _FieldError as exc:
            raise _FieldError(f"gpu {index}: {exc}") from None
    addresses = [gpu.address for gpu in gpus]
    for address in addresses:
        if addresses.count(address) > 1:
            raise _FieldError(f"duplicate PCI address {address!r}")
    return tuple(gpus)


def _gpu(item: object) -> Gpu:
    if not isinstance(item, dict):
        raise _FieldError(f"expected a mapping, got {_show(item)}")
    unknown = set(item) - {"address", "mdev_types", "numa_node", "vendor", "product"}
    if unknown:
        raise _FieldError(f"unknown key {sorted(unknown)[0]!r}")
    address = item.get("address")
    if not isinstance(address, str) or not _PCI_ADDRESS.match(address):
        raise _FieldError(f"address: expected a PCI address like '0000:81:00.0', got {address!r}")
    numa_node = item.get("numa_node", 0)
    if isinstance(numa_node, bool) or not isinstance(numa_node, int) or numa_node < 0:
        raise _FieldError(f"numa_node: expected a cell number, got {_show(numa_node)}")
    types = item.get("mdev_types") or {}
    if not isinstance(types, dict):
        raise _FieldError(f"mdev_types: expected a mapping of type names, got {_show(types)}")
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
        raise _FieldError(f"mdev type name: expected a name like 'nvidia-222', got {type_id!r}")
    where = f"mdev type {type_id!r}"
    if not isinstance(spec, dict):
        raise _FieldError(f"{where}: expected a mapping, got {_show(spec)}")
    unknown = set(spec) - {"available", "name", "device_api"}
    if unknown:
        raise _FieldError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    try:
        available = _positive(spec.get("available"), "a positive integer 'available'")
    except _FieldError as exc:
        raise _FieldError(f"{where}: {exc}") from None
    return MdevType(
        type_id=type_id,
        name=str(spec.get("name", type_id)),
        available=available,
        device_api=str(spec.get("device_api", "vfio-pci")),
    )


def _slices(value: object, context: _Context) -> tuple[SliceSpec, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _FieldError(f"expected a list of slices, got {_show(value)}")
    slices = [_slice(index, item, context) for index, item in enumerate(value)]
    names = [spec.name for spec in slices]
    for spec in slices:
        if names.count(spec.name) > 1:
            raise _FieldError(f"duplicate slice name {spec.name!r}")
        if spec.conflict_parent is not None and spec.conflict_parent not in names:
            raise _FieldError(
                f"slice {spec.name!r}: unknown conflict_parent {spec.conflict_parent!r}"
            )
    parents = {spec.name: spec.conflict_parent for spec in slices}
    for spec in slices:
        seen = {spec.name}
        parent = spec.conflict_parent
        while parent is not None:
            if parent in seen:
                raise _FieldError(f"slice {spec.name!r}: conflict_parent chain has a cycle")
            seen.add(parent)
            parent = parents[parent]
    return tuple(slices)


def _slice(index: int, item: object, context: _Context) -> SliceSpec:
    if not isinstance(item, dict):
        raise _FieldError(f"slice {index}: expected a mapping, got {_show(item)}")
    label = f"slice {item.get('name', index)!r}" if "name" in item else f"slice {index}"
    unknown = set(item) - {"name", "resource_class", "template", "template_file", "conflict_parent"}
    if unknown:
        raise _FieldError(f"{label}: unknown key {sorted(unknown)[0]!r}")
    name = item.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise _FieldError(f"{label}: name: expected a slice name, got {_show(name)}")
    resource_class = item.get("resource_class")
    if not isinstance(resource_class, str) or not _RESOURCE_CLASS.match(resource_class):
        raise _FieldError(
            f"{label}: resource_class: expected CUSTOM_[A-Z0-9_]+, got {_show(resource_class)}"
        )
    template, template_file = item.get("template"), item.get("template_file")
    if (template is None) == (template_file is None):
        raise _FieldError(f"{label}: give exactly one of 'template' and 'template_file'")
    if template is not None and not isinstance(template, str):
        raise _FieldError(f"{label}: template: expected Jinja2 text, got {_show(template)}")
    if template_file is not None:
        template_file = _template_path(label, template_file, context.base_dir)
    parent = item.get("conflict_parent")
    if parent is not None and not isinstance(parent, str):
        raise _FieldError(f"{label}: conflict_parent: expected a slice name, got {_show(parent)}")
    return SliceSpec(name, resource_class, template, template_file, parent)


def _template_path(label: str, value: object, base_dir: Path | None) -> str:
    if not isinstance(value, str) or not value:
        raise _FieldError(f"{label}: template_file: expected a path, got {_show(value)}")
    path = Path(value)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if not path.is_file():
        raise _FieldError(f"{label}: template_file {str(path)!r} does not exist")
    return str(path)


def _config(value: object, _: _Context) -> dict[str, dict[str, Any]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _FieldError(f"expected a mapping of option groups, got {_show(value)}")
    known: dict[str, set[str]] = {}
    for group, opts in virtfleet_conf.list_opts():
        known.setdefault(group or "DEFAULT", set()).update(opt.dest for opt in opts)
    result: dict[str, dict[str, Any]] = {}
    for group, options in value.items():
        if group not in known:
            raise _FieldError(f"unknown option group {group!r}; known: {', '.join(sorted(known))}")
        if not isinstance(options, dict):
            raise _FieldError(f"group {group!r}: expected a mapping, got {_show(options)}")
        for option in options:
            if option not in known[group]:
                raise _FieldError(f"unknown option [{group}] {option}")
        result[group] = dict(options)
    return result


def _count(value: object) -> range | None:
    if value is None:
        return None
    try:
        return range(1, _positive(value) + 1)
    except _FieldError as exc:
        raise _FieldError(f"field 'count': {exc}") from None


# field name -> (parser, documentation). Order matters: HostProfile(**values).
_FIELDS: dict[str, tuple[Callable[[object, _Context], Any], str]] = {
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
    "gpus": (_gpus, "PCI GPUs"),
    "slices": (_slices, "slice specs"),
    "config": (_config, "agent config overrides"),
}


def _check_host(values: dict[str, Any]) -> None:
    """Cross-field checks, after every field parsed."""
    arch: str = values["arch"]
    if values["maxphysaddr_bits"] is not None and arch not in X86_ARCHES:
        raise _FieldError(
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
            raise _FieldError(
                f"field 'numa': cells must cover CPUs 0-{cpus - 1} exactly once, "
                f"they cover {_ranges(numbered)}"
            )
        if sum(cell.memory_mb for cell in cells) != memory:
            raise _FieldError(
                f"field 'numa': cell memory adds up to "
                f"{sum(cell.memory_mb for cell in cells)} MiB, memory_mb is {memory}"
            )
    for gpu in values["gpus"]:
        if gpu.numa_node >= len(values["numa"]):
            raise _FieldError(
                f"field 'gpus': gpu {gpu.address!r}: numa_node {gpu.numa_node} does not exist"
            )
    if values["cpu_model"] is None:
        values["cpu_model"] = DEFAULT_CPU_MODEL.get(arch)
    if values["cpu_vendor"] is None and values["cpu_model"]:
        values["cpu_vendor"] = next(
            (v for p, v in _VENDOR_BY_PREFIX if values["cpu_model"].startswith(p)),
            "Intel" if arch in X86_ARCHES else None,
        )


def _ranges(cpus: list[int]) -> str:
    return ",".join(str(cpu) for cpu in cpus) or "nothing"


def _reject_unknown(label: str, mapping: dict[Any, Any], known: tuple[str, ...], what: str) -> None:
    for key in mapping:
        if key not in known:
            raise ConfigError(f"{label}: unknown {what} {key!r}; known: {', '.join(known)}")


def _show(value: object) -> str:
    """A value as the operator wrote it, for messages."""
    if isinstance(value, str):
        return repr(value)
    if value is None:
        return "nothing"
    if isinstance(value, (list, dict)):
        return f"a {type(value).__name__}"
    return repr(value)
