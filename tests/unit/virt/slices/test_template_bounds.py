"""Slice templates render inside the sandbox with a time limit and an output size
limit, and a slice_spec line cannot exhaust the parser: each case is refused within a
second with one line naming the slice and the bound (issue 21)."""

from __future__ import annotations

import json
import pathlib
import time

import pytest

from support.ci import time_bound
from virtfleet import errors
from virtfleet.virt.libvirt.slices import parse_specs
from virtfleet.virt.libvirt.slices.bounded import MAX_OUTPUT_CHARS
from virtfleet.virt.libvirt.slices.render import render, sample_context

CONTEXT = sample_context("s", "CUSTOM_S")
LABEL = "slice_spec 's'"


@pytest.mark.parametrize(
    ("template", "named"),
    [
        (
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}"
            "{% endfor %}<domain/>",
            "rendering took more than 0.5 s",
        ),
        (
            "{% macro spin() %}{% for i in range(100000) %}{% endfor %}{% endmacro %}"
            "{% for i in range(100000) %}{{ spin() }}{% endfor %}<domain/>",
            "rendering took more than 0.5 s",
        ),
        (
            "<domain>{% for i in range(100000) %}{{ 'x' * 4000 }}{% endfor %}</domain>",
            f"output passed {MAX_OUTPUT_CHARS} characters",
        ),
        ("<domain>{{ 'x' * 10000000000 }}</domain>", "'*' would make 10000000000 items"),
        ("<domain>{{ ([1] * 100000000) | length }}</domain>", "'*' would make 100000000"),
        ("<domain>{{ 2 ** 100000000 }}</domain>", "exponent 100000000 is too large"),
        ("<domain>{{ '%0999999999d' % 1 }}</domain>", "format string '%0999999999d'"),
        ("<domain>{{ '%0999999999d' | format(1) }}</domain>", "format string"),
        ("<domain>{{ '{:>999999999}'.format(1) }}</domain>", "format string '{:>999999999}'"),
        ("<domain>{{ 'x' | center(1000000000) }}</domain>", "filter 'center' was given"),
        ("<domain>{{ 'x'.ljust(1000000000) }}</domain>", "ljust() was given 1000000000"),
    ],
    ids=lambda v: v[:40] if isinstance(v, str) else None,
)
def test_unbounded_template_is_stopped_within_a_second(template: str, named: str) -> None:
    start = time.monotonic()
    with pytest.raises(errors.ConfigError) as excinfo:
        render(LABEL, template, CONTEXT)
    took = time.monotonic() - start
    message = str(excinfo.value)
    assert message.startswith(f"{LABEL}: template does not render: ")
    assert named in message and "\n" not in message
    assert took < time_bound(1.0), f"{took:.2f} s"


def test_bounded_template_still_renders() -> None:
    template = (
        "<domain><name>{{ name }}</name><vcpu>{{ flavor.vcpus * 2 }}</vcpu>"
        "{% for i in range(4) %}<x n='{{ '%02d' % i }}'/>{% endfor %}"
        "<y>{{ 'ab' | center(6) }}{{ 2 ** 10 }}</y></domain>"
    )
    root = render(LABEL, template, CONTEXT)
    assert root.findtext("vcpu") == "2" and root.findtext("y") == "  ab  1024"


def test_the_sandbox_stays() -> None:
    with pytest.raises(errors.ConfigError, match="unsafe"):
        render(LABEL, "<domain>{{ ''.__class__.__mro__ }}</domain>", CONTEXT)


def test_render_time_limit_leaves_no_trace_function() -> None:
    import sys

    before = sys.gettrace()
    with pytest.raises(errors.ConfigError):
        render(LABEL, "{% for i in range(100000) %}{{ 'x' * 40 }}{% endfor %}", CONTEXT)
    assert sys.gettrace() is before


def spec(**fields: object) -> str:
    return json.dumps({"name": "s", "resource_class": "CUSTOM_S", **fields})


def test_deeply_nested_slice_spec_is_one_line() -> None:
    """Regression: a RecursionError traceback."""
    line = "[" * 100_000 + "]" * 100_000
    start = time.monotonic()
    with pytest.raises(errors.ConfigError) as excinfo:
        parse_specs([line])
    assert str(excinfo.value).startswith("slice_spec entry 1: not a JSON object: nested too")
    assert time.monotonic() - start < time_bound(1.0)


def test_template_file_that_is_a_directory_says_so(tmp_path: pathlib.Path) -> None:
    """Regression: it was reported as 'does not exist'."""
    with pytest.raises(errors.ConfigError) as excinfo:
        parse_specs([spec(template_file=str(tmp_path))])
    assert str(excinfo.value) == (
        f"slice_spec 's': template_file {str(tmp_path)!r} is a directory; expected a Jinja2 "
        "template file"
    )


def test_oversized_slice_spec_entries_are_refused(tmp_path: pathlib.Path) -> None:
    with pytest.raises(errors.ConfigError, match=r"entry 1: .* characters; an entry may have"):
        parse_specs([spec(template="x" * (2 << 20))])
    big = tmp_path / "big.xml.j2"
    big.write_text("x" * (2 << 20))
    with pytest.raises(errors.ConfigError, match="bytes; a template may have at most"):
        parse_specs([spec(template_file=str(big))])
    with pytest.raises(errors.ConfigError, match="a host may have at most 1024 slices"):
        parse_specs([spec()] * 1025)
