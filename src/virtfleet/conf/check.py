"""Checking virtfleet.conf files as a whole: every section and option known, every
value valid, each finding pointing at its file and line.

oslo.config ignores sections and options nobody registered, so a typo (``listn =``)
silently leaves the default in force. :func:`unknown_options` reads the files
line by line (the INI dialect oslo.config reads) and reports what no virtfleet group,
nor a library virtfleet configures through the same file (oslo.messaging, and the
identity libraries when installed), registers; :func:`check_files` adds the value
errors of :func:`virtfleet.conf.make_conf`. ``virtfleet config check`` prints both.
"""

from __future__ import annotations

import difflib
import importlib
import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from oslo_config import cfg

#: Libraries whose options live in virtfleet.conf too: ``module:function`` returning
#: oslo.config's ``[(group, [opts])]`` (a library not installed is skipped).
LIBRARY_OPTS = (
    "oslo_messaging.opts:list_opts",
    "oslo_log._options:list_opts",
    "keystonemiddleware.opts:list_auth_token_opts",
    "oslo_policy.opts:list_opts",
    "oslo_limit.opts:list_opts",
)
_SECTION = re.compile(r"^\[(?P<name>[^\]]*)\]\s*$")
_OPTION = re.compile(r"^(?P<name>[^=:\s][^=:]*?)\s*[=:](?P<value>.*)$")


class OptionValueError(ValueError):
    """A value that fails a check beyond its type (raised by a group's ``check``)."""

    def __init__(self, section: str, option: str, problem: str) -> None:
        super().__init__(f"[{section}] {option}: {problem}")
        self.section = section
        self.option = option


@dataclass(frozen=True)
class Finding:
    """One problem in a configuration file."""

    file: str
    line: int  # 0: not tied to a line
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class Setting:
    """Where a file sets an option."""

    file: str
    line: int
    section: str
    option: str
    value: str
    section_line: int = 0  # where the section's header is (0: before any)


def settings(path: str) -> Iterator[Setting]:
    """Every ``option = value`` of an INI file, with its section and line number
    (continuation lines and comments skipped)."""
    section, section_line = "", 0
    for number, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith(("#", ";")):
            continue
        if raw[0].isspace():  # a continuation of the previous value
            continue
        header = _SECTION.match(raw.strip())
        if header:
            section, section_line = header["name"].strip(), number
            continue
        option = _OPTION.match(raw)
        if option:
            name, value = option["name"].strip(), option["value"].strip()
            yield Setting(path, number, section, name, value, section_line)


def known_options(
    virtfleet_opts: Callable[[], list[tuple[str | None, list[cfg.Opt]]]],
) -> dict[str, set[str]]:
    """Section name -> option names (and deprecated names) registered anywhere."""
    known: dict[str, set[str]] = {}
    groups = list(virtfleet_opts())
    for spec in LIBRARY_OPTS:
        module_name, _, function = spec.partition(":")
        try:
            with warnings.catch_warnings():  # e.g. eventlet's deprecation, on import
                warnings.simplefilter("ignore")
                groups.extend(getattr(importlib.import_module(module_name), function)())
        except (ImportError, AttributeError):
            continue
    for group, opts in groups:
        name = group if isinstance(group, str) or group is None else group.name
        names = known.setdefault(name or "DEFAULT", set())
        for opt in opts:
            names.update({opt.dest, opt.name, opt.name.replace("-", "_")})
            names.update(d.name for d in opt.deprecated_opts if d.name)
    return known


def unknown_options(
    files: Iterable[str],
    known: dict[str, set[str]],
    prefixed: dict[str, list[cfg.Opt]] | None = None,
) -> list[Finding]:
    """A finding for each section and option of ``files`` that nothing registers,
    with the closest known name when there is one. ``prefixed``: groups whose names
    are a prefix plus a value (``[mdev_<type>]``), prefix -> their options."""
    findings: list[Finding] = []
    known = dict(known)
    for path in files:
        reported_sections: set[str] = set()
        for setting in settings(path):
            if setting.section not in known:
                for prefix, opts in (prefixed or {}).items():
                    if setting.section.startswith(prefix) and len(setting.section) > len(prefix):
                        known[setting.section] = {opt.dest for opt in opts}
            if setting.section not in known:
                if setting.section not in reported_sections:
                    reported_sections.add(setting.section)
                    line = setting.section_line or setting.line
                    findings.append(Finding(path, line, _unknown_section(setting.section, known)))
                continue
            if setting.option not in known[setting.section]:
                hint = _closest(setting.option, known[setting.section])
                findings.append(
                    Finding(
                        path,
                        setting.line,
                        f"unknown option {setting.option!r} in [{setting.section}]{hint}; "
                        "it is ignored",
                    )
                )
    return findings


def _unknown_section(section: str, known: dict[str, set[str]]) -> str:
    label = f"[{section}]" if section else "an option before any [section]"
    return f"unknown section {label}{_closest(section, known)}; its options are ignored"


def _closest(name: str, candidates: Iterable[str]) -> str:
    match = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.75)
    return f" (did you mean {match[0]!r}?)" if match else ""


def locate(files: Sequence[str], section: str, option: str) -> Setting | None:
    """Where ``[section] option`` is set last (the value in force)."""
    found = None
    for path in files:
        try:
            for setting in settings(path):
                if setting.section == section and setting.option == option:
                    found = setting
        except (OSError, UnicodeDecodeError):
            continue
    return found


def expected_form(opt: cfg.Opt) -> str:
    """What a value of ``opt`` looks like, for messages."""
    kind = opt.type
    low, high = getattr(kind, "min", None), getattr(kind, "max", None)
    bounds = ""
    if low is not None and high is not None:
        bounds = f" from {low} to {high}"
    elif low is not None:
        bounds = f" of at least {low}"
    elif high is not None:
        bounds = f" of at most {high}"
    if isinstance(opt, cfg.BoolOpt):
        return "true or false"
    if isinstance(opt, cfg.IntOpt):
        return f"an integer{bounds}"
    if isinstance(opt, cfg.FloatOpt):
        return f"a number{bounds}"
    choices = getattr(kind, "choices", None)
    if choices:
        return "one of " + ", ".join(repr(c) for c in choices)
    if isinstance(opt, cfg.ListOpt):
        return "a comma-separated list"
    return "text"
