"""Property-based tests of the merge: idempotence, purity and round trips, over generated JSON."""

from __future__ import annotations

import contextlib
import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from xsoar_local.incident import get_path, json_equal, merge_entry_context, set_path

FORCE_KEY = "YodaSpeak.TheForce(val.Original && val.Original == obj.Original)"

scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=4))
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=2), inner, max_size=3)),
    max_leaves=6,
)
# Translations always carry a truthy key field: an item whose Original is falsy never matches the
# selector, so (as on the server) it is appended again on every merge and idempotence does not hold.
translations = st.fixed_dictionaries(
    {"Original": st.sampled_from(["Hello there", "I am your father"]), "Translation": st.text(max_size=6)},
    optional={"Count": st.integers(0, 3), "Meta": st.dictionaries(st.sampled_from(["a", "b"]), scalars)},
)
entry_contexts = st.fixed_dictionaries(
    {},
    optional={
        # (true) comes first and holds an object, so YodaSpeak stays an object the other keys can write into.
        "YodaSpeak(true)": st.dictionaries(st.sampled_from(["Old", "TheForce"]), scalars, max_size=2),
        FORCE_KEY: st.one_of(translations, st.lists(translations, max_size=3)),
        "YodaSpeak.Plain": json_values,
        "Other": json_values,
    },
)


@given(st.lists(entry_contexts, max_size=2), entry_contexts)
def test_merging_the_same_entry_twice_equals_merging_it_once(history: list[dict[str, Any]], entry: Any) -> None:
    """
    Given any context built from earlier entries, and an entry
    When that entry is merged twice in a row
    Then the result equals merging it once (DT updates and plain-key dedup are idempotent)
    """
    context: dict[str, Any] = {}
    for earlier in history:
        context = merge_entry_context(context, earlier)
    once = merge_entry_context(context, entry)
    twice = merge_entry_context(once, entry)
    assert json_equal(once, twice), f"merging {entry} twice changed the context:\n{once}\n!=\n{twice}"


@given(st.dictionaries(st.sampled_from(["YodaSpeak", "Other"]), json_values, max_size=2), entry_contexts)
def test_merge_never_mutates_its_inputs(context: dict[str, Any], entry: dict[str, Any]) -> None:
    """
    Given any context and entry
    When they are merged
    Then neither input changed
    """
    before = copy.deepcopy((context, entry))
    # Writing YodaSpeak.Plain through a non-object YodaSpeak is refused; purity must hold either way.
    with contextlib.suppress(ValueError):
        merge_entry_context(context, entry)
    assert json_equal(list(before), [context, entry]), "merge mutated an input"


@given(st.lists(st.sampled_from(["A", "B", "C"]), min_size=1, max_size=4), json_values)
def test_set_then_get_returns_the_value(names: list[str], value: Any) -> None:
    """
    Given any dotted path of names and any JSON value that is not a list (reads map over lists)
    When the value is set and then read back
    Then the read gives the value
    """
    if isinstance(value, list):
        value = {"wrapped": value}
    path = ".".join(names)
    assert json_equal(get_path(set_path({}, path, value), path), value), f"set/get of {path} lost {value!r}"
