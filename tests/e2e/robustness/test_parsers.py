"""The operator-facing parsers, fuzzed: fleet files, ``slice_spec`` lines and
virtfleet.conf files. Every input either parses or is refused with one
:class:`~virtfleet.errors.ConfigError` line naming what is wrong, within a second;
never another exception, a traceback or a hang."""

from __future__ import annotations

import json
import pathlib
import tempfile
import time
from collections.abc import Callable
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st
from tests.e2e.robustness.checks import FUZZ
from tests.e2e.robustness.strategies import VALUES

from support.ci import time_bound
from virtfleet import conf as vconf
from virtfleet import errors
from virtfleet.virt.libvirt.slices import parse_specs
from virtfleet.virt.libvirt.slices.render import render, sample_context
from virtfleet.virt.sim.fleet import load_fleet
from virtfleet.virt.sim.fleet_fields import FIELDS

TIME_BOUND = time_bound(1.0)
BIG = st.sampled_from([2**31, 10**11, 10**30, 8193, 100_000, -1, 0, 1.5, "1e11", "0-99999"])


def answered(parse: Callable[[], Any]) -> None:
    """``parse()`` returns or raises one ConfigError line, within the time bound."""
    start = time.monotonic()
    try:
        parse()
    except errors.ConfigError as exc:
        message = str(exc)
        assert message.strip() and "\n" not in message and "Traceback" not in message, message
    took = time.monotonic() - start
    assert took < TIME_BOUND, f"{took:.2f} s"


HOST_FIELDS = {
    **{name: VALUES | BIG for name in FIELDS},
    "name": st.sampled_from(["h", "h1", "bad name", ""]) | st.text(max_size=70),
    "arch": st.sampled_from(["x86_64", "aarch64", "amd64", "vax"]),
    "count": st.integers(min_value=-2, max_value=3) | BIG,
    "numa": st.lists(
        st.fixed_dictionaries({"cpus": st.text(max_size=8) | BIG, "memory_mb": VALUES | BIG}),
        max_size=3,
    ),
    "config": st.dictionaries(
        st.sampled_from(["DEFAULT", "libvirt", "api", "database", "nova"]),
        st.dictionaries(
            st.sampled_from(["data_dir", "cpu_mode", "listen", "connection", "x"]), VALUES
        ),
        max_size=2,
    ),
}
HOSTS = st.lists(st.fixed_dictionaries({}, optional=HOST_FIELDS), min_size=0, max_size=3)
FLEETS = st.fixed_dictionaries(
    {"hosts": HOSTS | VALUES},
    optional={
        "defaults": st.fixed_dictionaries({}, optional=HOST_FIELDS) | VALUES,
        "version": st.sampled_from([1, 2, "1"]),
    },
)


@FUZZ
@given(document=FLEETS)
def test_fleet_files(document: dict[str, Any]) -> None:
    answered(lambda: load_fleet(yaml.safe_dump(document), source="fuzz.yaml"))


@FUZZ
@given(text=st.text(max_size=200))
def test_fleet_file_text(text: str) -> None:
    answered(lambda: load_fleet(text + "\n", source="fuzz.yaml"))


SPEC_FIELDS = {
    "name": st.sampled_from(["s", "s-1", "", "bad name"]) | VALUES,
    "resource_class": st.sampled_from(["CUSTOM_S", "VCPU", "custom_s"]) | VALUES,
    "template": st.sampled_from(
        [
            "<domain/>",
            "<domain>{{ name }}</domain>",
            "{% for i in range(100000) %}{% for j in range(100) %}{% endfor %}{% endfor %}",
            "<domain>{{ 'x' * 10**9 }}</domain>",
            "{{ undefined_thing }}",
            "{% if %}",
            "<notdomain/>",
        ]
    )
    | st.text(max_size=40),
    "template_file": st.sampled_from(["/", "/nonexistent", "", "."]) | VALUES,
    "conflict_parent": st.sampled_from(["s", "other"]) | VALUES,
}


@FUZZ
@given(
    entries=st.lists(st.fixed_dictionaries({}, optional=SPEC_FIELDS), max_size=3),
    raw=st.lists(st.text(max_size=30), max_size=2),
)
def test_slice_spec_lines(entries: list[dict[str, Any]], raw: list[str]) -> None:
    lines = [json.dumps(entry) for entry in entries] + raw

    def parse_and_render() -> None:
        for entry in parse_specs(lines):
            render(
                f"slice_spec {entry.name!r}",
                entry.template_text,
                sample_context(entry.name, entry.resource_class),
            )

    answered(parse_and_render)


SECTIONS = st.sampled_from(["DEFAULT", "api", "libvirt", "database", "scheduler", "nope", ""])
OPTIONS = st.sampled_from(
    ["listen", "workers_threads", "virt_type", "connection", "max_attempts", "data_dir", "typo"]
)
INI_VALUES = (
    st.sampled_from(["", "1", "-1", "99999999999999999999", "host:notaport", "kvm", "true"])
    | st.sampled_from(["sqlite:////nonexistent/x.db", "nonsense", "[::1]:80", "0.0.0.0:8774"])
    | st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=12)
)
INI_LINES = st.one_of(
    SECTIONS.map(lambda s: f"[{s}]"),
    st.tuples(OPTIONS, INI_VALUES).map(lambda kv: f"{kv[0]} = {kv[1]}"),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=20),
)


@FUZZ
@given(lines=st.lists(INI_LINES, max_size=8))
def test_config_files(lines: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "virtfleet.conf"
        path.write_text("\n".join(lines) + "\n")
        answered(lambda: vconf.make_conf(config_files=[str(path)]))
        start = time.monotonic()
        problems = vconf.check_files([str(path)])
        assert time.monotonic() - start < TIME_BOUND
        for problem in problems:
            assert problem.startswith(str(path)) or problem.startswith("configuration: ")
            assert "\n" not in problem
