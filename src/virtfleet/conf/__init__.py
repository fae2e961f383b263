"""Configuration: one oslo.config file, options grouped as operators expect.

Each group lives in its own module with a ``register(conf)`` and a ``list_opts()``;
:func:`make_conf` builds a private :class:`~oslo_config.cfg.ConfigOpts` with all of them.
"""

from __future__ import annotations

from collections.abc import Sequence

from oslo_config import cfg

from virtfleet import errors
from virtfleet.conf import (
    api,
    check,
    compute,
    conductor,
    console,
    database,
    devices,
    identity,
    image,
    image_cache,
    libvirt,
    metadata,
    metrics,
    network,
    placement,
    quota,
    rpc,
    scheduler,
)

_GROUPS = (
    api,
    compute,
    conductor,
    console,
    database,
    devices,
    identity,
    image,
    image_cache,
    libvirt,
    metadata,
    metrics,
    network,
    placement,
    quota,
    rpc,
    scheduler,
)


def make_conf(
    config_files: Sequence[str] = (), args: Sequence[str] = (), **overrides: object
) -> cfg.ConfigOpts:
    """Return a new ConfigOpts with every virtfleet option registered and parsed.

    ``overrides`` are ``group__option=value`` pairs (``DEFAULT`` options by plain name),
    which is handy for tests and for command-line flags. ConfigError naming the file,
    line, option and expected form of the first bad value.
    """
    conf = _parse(config_files, args, overrides)
    problems = value_problems(conf, config_files)
    if problems:
        raise errors.ConfigError(problems[0])
    return conf


def check_files(config_files: Sequence[str]) -> list[str]:
    """Every problem of ``config_files`` read together: unknown sections and options,
    then every bad value (one line each, ``FILE:LINE: ...``)."""
    found = [str(finding) for finding in unknown_options(config_files)]
    try:
        conf = _parse(config_files, (), {})
    except errors.ConfigError as exc:
        return [*found, str(exc)]
    return found + value_problems(conf, config_files)


def _parse(
    config_files: Sequence[str], args: Sequence[str], overrides: dict[str, object]
) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    for group in _GROUPS:
        group.register(conf)
    try:
        conf(list(args), project="virtfleet", default_config_files=list(config_files))
        for key, value in overrides.items():
            group_name, _, name = key.rpartition("__")
            conf.set_override(name, value, group=group_name or None)
    except (cfg.Error, ValueError) as exc:
        raise errors.ConfigError(f"configuration: {exc or type(exc).__name__}") from None
    return conf


def value_problems(conf: cfg.ConfigOpts, config_files: Sequence[str]) -> list[str]:
    """Read every option once, so a bad value fails at start, naming file, line,
    option and the expected form; then the checks across options of each group."""
    problems = []
    for group_name, opts in list_opts():
        group = conf[group_name] if group_name else conf
        for opt in opts:
            try:
                getattr(group, opt.dest)
            except cfg.NoSuchOptError:
                continue  # listed for the sample; its library registers it when used
            except (cfg.Error, ValueError) as exc:
                section = group_name or "DEFAULT"
                setting = check.locate(config_files, section, opt.dest)
                if setting is None:
                    problem = str(exc)
                else:
                    problem = f"expected {check.expected_form(opt)}, got {setting.value!r}"
                where = _where(config_files, section, opt.dest)
                problems.append(f"{where}[{section}] {opt.dest}: {problem}")
    if problems:  # the checks across options read them again
        return problems
    for module in _GROUPS:
        group_check = getattr(module, "check", None)
        if group_check is None:
            continue
        try:
            group_check(conf)
        except check.OptionValueError as exc:
            problems.append(f"{_where(config_files, exc.section, exc.option)}{exc}")
    return problems


def _where(config_files: Sequence[str], section: str, option: str) -> str:
    """``file:line: `` of the setting in force, or ``configuration: ``."""
    found = check.locate(config_files, section, option)
    return f"{found.file}:{found.line}: " if found else "configuration: "


def unknown_options(config_files: Sequence[str]) -> list[check.Finding]:
    """Sections and options of ``config_files`` that no one registers (typos)."""
    return check.unknown_options(
        config_files, check.known_options(list_opts), devices.prefixed_groups()
    )


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    """Every option by group, for the sample config generator."""
    result: list[tuple[str | None, list[cfg.Opt]]] = []
    for group in _GROUPS:
        result.extend(group.list_opts())
    return result
