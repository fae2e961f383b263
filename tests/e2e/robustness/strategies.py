"""Hypothesis strategies for bad input: wrong types, edge numbers, odd strings."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

EDGE_INTEGERS = st.sampled_from(
    [0, -1, 1, 2**31 - 1, 2**31, 2**53 + 1, 2**63 - 1, -(2**63), 10**30, -(10**30)]
)
ODD_STRINGS = st.sampled_from(
    ["", " ", "\x00", "é", "💥", "a" * 300, "-1", "1e3", "0x10", "NaN", "inf", "None", "null"]
)
SCALARS: st.SearchStrategy[Any] = (
    st.none()
    | st.booleans()
    | EDGE_INTEGERS
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | ODD_STRINGS
    | st.text(max_size=12)
)
#: Any JSON value a client might send where one field is expected.
VALUES: st.SearchStrategy[Any] = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
#: Query parameter values (strings; the URL encoding is the client's).
QUERY_VALUES = (
    ODD_STRINGS
    | EDGE_INTEGERS.map(str)
    | st.text(max_size=16)
    | st.sampled_from(["in:", "!", "!in:", "VCPU:1", "VCPU:-1", "VCPU:x", "gte:2020", "lt:x"])
)


def fields_of(known: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """A body built from ``known`` fields (each good or arbitrary), some left out, now
    and then an unknown one."""
    mixed = {name: good | VALUES for name, good in known.items()}
    return st.fixed_dictionaries({}, optional=mixed).flatmap(
        lambda body: st.dictionaries(st.text(max_size=8), VALUES, max_size=1).map(
            lambda extra: {**extra, **body}
        )
    )
