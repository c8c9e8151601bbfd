"""Shared test fixtures of the masking tests: fixed keys, scopes and hypothesis settings."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from masking import KeyRing, MaskScope

KEYS = KeyRing(bytes(range(32)))
OTHER_KEYS = KeyRing(bytes(range(1, 33)))
SCOPE = MaskScope("mz-assistance", "Person.mobile")

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
"""Modest runs: the whole of tests/masking stays within a few seconds."""

ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.text(),
    st.binary(),
    st.dates(),
    st.datetimes(),
    st.lists(st.integers() | st.text(), max_size=3),
    st.tuples(st.floats(), st.floats()),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.builds(object),
)
"""Values of every type a column might hold, or a schema mismatch might bring."""
