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
        cpu_features: [avx2, aes]  # default: a typical server CPU's (x86)
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

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from virtfleet.errors import ConfigError, NotFound
from virtfleet.virt.sim.fleet_fields import (
    FIELDS,
    Context,
    FieldError,
    check_host,
    count_range,
    show,
)
from virtfleet.virt.sim.profile import HostProfile

#: Most hosts one fleet file may describe (``count`` included), and its size in bytes.
MAX_FLEET_HOSTS = 10_000
MAX_FLEET_FILE_BYTES = 16 << 20

_TOP_LEVEL = ("version", "defaults", "hosts")

__all__ = ["Fleet", "HostProfile", "default_fleet", "load_fleet"]


@dataclass(frozen=True, eq=False)
class Fleet:
    """The hosts of one fleet file, in file order. Identity matters: simulated
    hypervisors are registered per Fleet object (see ``virt.sim.registry``)."""

    hosts: tuple[HostProfile, ...]
    source: str = "<text>"

    def host(self, name: str) -> HostProfile:
        try:
            return self._by_name[name]
        except KeyError:
            raise NotFound(f"fleet {self.source}: no host named {name!r}") from None

    @functools.cached_property
    def _by_name(self) -> dict[str, HostProfile]:
        return {host.name: host for host in self.hosts}

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
    if isinstance(path_or_text, Path) or _names_a_file(path_or_text):
        path = Path(path_or_text)
        try:
            if path.stat().st_size > MAX_FLEET_FILE_BYTES:
                raise ConfigError(
                    f"fleet file {path}: {path.stat().st_size} bytes; a fleet file may "
                    f"have at most {MAX_FLEET_FILE_BYTES}"
                )
            text = path.read_text()
        except OSError as exc:
            raise ConfigError(f"fleet file {path}: cannot read: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(f"fleet file {path}: not UTF-8 text: {exc.reason}") from None
        source = source or str(path)
        base_dir = path.resolve().parent
    else:
        text = str(path_or_text)
        source = source or "<text>"
    return _parse(text, source, base_dir)


def _names_a_file(text: str) -> bool:
    if "\n" in text:
        return False
    try:
        return Path(text).is_file()
    except (OSError, ValueError):  # too long a name, a NUL byte: YAML text
        return False


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
    except yaml.reader.ReaderError as exc:
        raise ConfigError(
            f"{prefix}: not YAML text: {exc.reason} (character #x{exc.character:04x} at "
            f"position {exc.position})"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{prefix}: YAML syntax error: {' '.join(str(exc).split())}") from exc
    except RecursionError:
        raise ConfigError(f"{prefix}: YAML nested too deeply") from None
    if not isinstance(document, dict):
        hint = " (no such file?)" if isinstance(document, str) else ""
        raise ConfigError(f"{prefix}: expected a mapping with 'hosts', got {show(document)}{hint}")
    _reject_unknown(prefix, document, _TOP_LEVEL, "top-level key")
    if document.get("version", 1) != 1:
        raise ConfigError(f"{prefix}: unsupported format version {document['version']!r}")
    defaults = document.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise ConfigError(f"{prefix}: 'defaults' must be a mapping, got {show(defaults)}")
    _reject_unknown(f"{prefix}: defaults", defaults, (*FIELDS, "count"), "field")
    entries = document.get("hosts")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{prefix}: 'hosts' must be a non-empty list, got {show(entries)}")
    hosts: list[HostProfile] = []
    for index, entry in enumerate(entries, start=1):
        hosts.extend(_host_entries(prefix, index, entry, defaults, base_dir))
        if len(hosts) > MAX_FLEET_HOSTS:
            raise ConfigError(
                f"{prefix}: host #{index}: the fleet passes {MAX_FLEET_HOSTS} hosts (with "
                f"'count'); a fleet file may describe at most {MAX_FLEET_HOSTS}"
            )
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
        raise ConfigError(f"{prefix}: host #{index}: expected a mapping, got {show(entry)}")
    name = entry.get("name")
    label = f"{prefix}: host {name!r}" if isinstance(name, str) else f"{prefix}: host #{index}"
    _reject_unknown(label, entry, (*FIELDS, "count"), "field")
    merged = {**defaults, **entry}
    if isinstance(defaults.get("config"), dict) and isinstance(entry.get("config"), dict):
        merged["config"] = _merge_config(defaults["config"], entry["config"])
    count = merged.pop("count", None)
    values: dict[str, Any] = {}
    for key, (parse, _) in FIELDS.items():
        try:
            values[key] = parse(merged.get(key), Context(merged, base_dir))
        except FieldError as exc:
            raise ConfigError(f"{label}: field {key!r}: {exc}") from None
    try:
        check_host(values)
        copies = count_range(count)
    except FieldError as exc:
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


def _reject_unknown(label: str, mapping: dict[Any, Any], known: tuple[str, ...], what: str) -> None:
    for key in mapping:
        if key not in known:
            raise ConfigError(f"{label}: unknown {what} {key!r}; known: {', '.join(known)}")
