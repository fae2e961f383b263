"""The ``name`` filter of ``GET /servers``: a regular expression, matched in linear time.

Nova takes the filter as a regular expression. Python's ``re`` backtracks, so a crafted
pattern such as ``(a+)+$`` costs time exponential in the length of each server name
and holds an API thread for seconds. RE2 (Google's engine) guarantees time linear in
the name; it has no backreferences or lookarounds, as a database's REGEXP often has
not. The pattern is also bounded in length and in the memory its automaton may use.
"""

from __future__ import annotations

from collections.abc import Callable

import re2

from virtfleet.api.wsgi import HTTPError

MAX_PATTERN_CHARS = 255  # as long as a server name may be
MAX_PATTERN_MEMORY = 1 << 20


def name_matcher(pattern: str) -> Callable[[str], bool]:
    """A predicate that is True for names ``pattern`` matches anywhere (``re.search``);
    400 naming the filter when it is too long or not an RE2 expression."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise HTTPError(
            400,
            f"Invalid name filter: {len(pattern)} characters; a name filter may have at "
            f"most {MAX_PATTERN_CHARS}.",
        )
    options = re2.Options()
    options.max_mem = MAX_PATTERN_MEMORY
    options.log_errors = False
    try:
        compiled = re2.compile(pattern, options)
    except re2.error as exc:
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise HTTPError(
            400,
            f"Invalid name filter {pattern!r}: {detail}. Expected a regular expression "
            "(RE2 syntax: no backreferences or lookarounds).",
        ) from None
    return lambda name: compiled.search(name) is not None
