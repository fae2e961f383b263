"""A Jinja2 sandbox with bounds on time and size, for operator-written slice templates.

The sandbox (:class:`~jinja2.sandbox.ImmutableSandboxedEnvironment`) keeps a template
from reaching Python internals, but not from working forever or filling memory:
nested loops over ``range(100000)``, ``'x' * 10**10`` or ``'%0999999999d' % 1``.
This environment adds:

- a time limit: while a template renders, a trace function on the rendering thread
  checks the clock on every line of template code and stops it past the deadline;
- a size limit on the output (counted while it is produced) and on anything one
  operation can produce: ``*``, ``**`` and ``%`` are checked before they run, and so
  are numbers given to filters and methods (``center(10**9)``) and widths in format
  strings.

Every violation raises :class:`TemplateBoundError` naming the bound.
"""

from __future__ import annotations

import contextlib
import functools
import re
import sys
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

from jinja2.sandbox import ImmutableSandboxedEnvironment

#: Most characters a rendered template (a libvirt domain, a few KiB) may have.
MAX_OUTPUT_CHARS = 1 << 20
#: Most seconds a template may take to render (real ones take about a millisecond).
MAX_RENDER_SECONDS = 0.5
#: The largest exponent ``**`` accepts.
MAX_EXPONENT = 64

_BIG_WIDTH = re.compile(r"\d{7,}")  # a width or precision of a million or more


class TemplateBoundError(Exception):
    """A template passed its time or size bound."""


def _sized(value: Any) -> int | None:
    return len(value) if isinstance(value, (str, bytes, list, tuple)) else None


def _check_numbers(what: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and value > MAX_OUTPUT_CHARS:
            raise TemplateBoundError(
                f"{what} was given {value}; numbers given to filters and methods may be "
                f"at most {MAX_OUTPUT_CHARS} (the output size limit)"
            )


def _check_format(text: Any) -> None:
    if isinstance(text, str) and _BIG_WIDTH.search(text):
        raise TemplateBoundError(
            f"format string {text[:40]!r} asks for a width or precision of a million or "
            "more characters"
        )


def _check_binop(operator: str, left: Any, right: Any) -> None:
    if operator == "*":
        for sequence, times in ((left, right), (right, left)):
            size = _sized(sequence)
            if size is not None and isinstance(times, int) and size * times > MAX_OUTPUT_CHARS:
                raise TemplateBoundError(
                    f"'*' would make {size * times} items; the output may have at most "
                    f"{MAX_OUTPUT_CHARS}"
                )
    elif operator == "**":
        if isinstance(right, (int, float)) and abs(right) > MAX_EXPONENT:
            raise TemplateBoundError(f"exponent {right} is too large (at most {MAX_EXPONENT})")
    elif operator == "%":
        _check_format(left)


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox with size checks on the operations that can grow."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.filters = {name: _bounded_filter(name, f) for name, f in self.filters.items()}

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _check_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        _check_numbers(f"{getattr(__obj, '__name__', 'a method')}()", args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            _check_format(value.__self__)
        return wrapped


def _bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)  # keeps jinja's pass_context/pass_eval_context marks
    def bounded(*args: Any, **kwargs: Any) -> Any:
        _check_numbers(f"filter {name!r}", args, kwargs)
        if name == "format" and args:
            _check_format(args[0])
        return function(*args, **kwargs)

    return bounded


def render_bounded(chunks: Iterator[str]) -> str:
    """Join the output of ``Template.generate()``, within the time and size bounds."""
    parts: list[str] = []
    size = 0
    with _deadline(MAX_RENDER_SECONDS):
        for chunk in chunks:
            size += len(chunk)
            if size > MAX_OUTPUT_CHARS:
                raise TemplateBoundError(
                    f"output passed {MAX_OUTPUT_CHARS} characters (the output size limit)"
                )
            parts.append(chunk)
    return "".join(parts)


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Stop template code (frames compiled from ``<template>``) after ``seconds``."""
    end = time.monotonic() + seconds

    def on_line(frame: FrameType, event: str, arg: Any) -> Any:
        if time.monotonic() > end:
            raise TemplateBoundError(
                f"rendering took more than {seconds:g} s (the render time limit)"
            )
        return on_line

    def on_call(frame: FrameType, event: str, arg: Any) -> Any:
        return on_line if frame.f_code.co_filename == "<template>" else None

    previous = sys.gettrace()
    sys.settrace(on_call)
    try:
        yield
    finally:
        sys.settrace(previous)
