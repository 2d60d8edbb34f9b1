"""Tests of merge_entry_context: the server's EntryContext key semantics (DT, plain, overwrite)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from xsoar_local.incident import (
    ContextPathError,
    UnsupportedSelectorError,
    merge_entry_context,
    split_dt_key,
)

FORCE_KEY = "YodaSpeak.TheForce(val.Original && val.Original == obj.Original)"
DBOT_KEY = (
    "DBotScore(val.Indicator && val.Indicator == obj.Indicator && val.Vendor == obj.Vendor && val.Type == obj.Type)"
)


def force(original: str, translation: str, **extra: Any) -> dict[str, Any]:
    return {"Original": original, "Translation": translation, **extra}


def dbot(indicator: str, vendor: str, score: int) -> dict[str, Any]:
    return {"Indicator": indicator, "Type": "ip", "Vendor": vendor, "Score": score}


def merge_all(*entry_contexts: dict[str, Any]) -> dict[str, Any]:
    context: dict[str, Any] = {}
    for entry_context in entry_contexts:
        context = merge_entry_context(context, entry_context)
    return context


# ---- DT keys ----------------------------------------------------------------------------------


def test_dt_key_updates_the_matching_item_and_appends_a_new_one() -> None:
    """
    Given two translations stored under a DT key
    When the first phrase is translated again with a new translation
    Then that item is updated in place and the other is untouched, in their original order
    """
    context = merge_all(
        {FORCE_KEY: force("Hello there", "There, hello")},
        {FORCE_KEY: force("I am your father", "Your father, I am")},
        {FORCE_KEY: force("Hello there", "Hello there, hmm")},
    )
    assert context == {
        "YodaSpeak": {
            "TheForce": [force("Hello there", "Hello there, hmm"), force("I am your father", "Your father, I am")]
        }
    }, f"the matching item should be updated, not duplicated: {context}"


def test_dt_key_keeps_a_single_item_as_an_object() -> None:
    """
    Given a DT key written twice with the same key field
    When the context is read
    Then there is one object, not a list (the VirusTotal review: 'only 1 entry there and not a list')
    """
    context = merge_all({FORCE_KEY: force("Hello", "Hello, hmm")}, {FORCE_KEY: force("Hello", "Hello, yes")})
    assert context["YodaSpeak"]["TheForce"] == force("Hello", "Hello, yes"), f"expected one object: {context}"


def test_dt_update_is_a_shallow_merge_where_incoming_keys_win() -> None:
    """
    Given a stored item with fields the new entry does not carry
    When an entry with the same key field arrives
    Then fields missing from the entry survive and top-level fields it carries replace the old ones whole
    """
    stored = force("Hello", "Hello, hmm", Detected={"Lang": "en", "Confidence": 1}, Count=1)
    incoming = force("Hello", "Hello, yes", Detected={"Lang": "en"})
    context = merge_all({FORCE_KEY: stored}, {FORCE_KEY: incoming})
    expected = force("Hello", "Hello, yes", Detected={"Lang": "en"}, Count=1)
    assert context["YodaSpeak"]["TheForce"] == expected, f"shallow merge expected: {context}"


def test_dbotscore_multi_field_key_matches_on_every_field() -> None:
    """
    Given DBotScore entries (CSP wraps them in lists) for one IP from two vendors
    When one vendor rescores the IP
    Then only that vendor's score changes; the other vendor's stays a separate item
    """
    context = merge_all(
        {DBOT_KEY: [dbot("1.1.1.1", "VirusTotal", 1)]},
        {DBOT_KEY: [dbot("1.1.1.1", "AbuseIPDB", 2)]},
        {DBOT_KEY: [dbot("1.1.1.1", "VirusTotal", 3)]},
    )
    assert context["DBotScore"] == [dbot("1.1.1.1", "VirusTotal", 3), dbot("1.1.1.1", "AbuseIPDB", 2)], (
        f"each (Indicator, Vendor, Type) should be one item: {context['DBotScore']}"
    )


def test_dt_key_without_the_key_field_always_appends() -> None:
    """
    Given items lacking the key field (val.Original is undefined, hence falsy)
    When two identical ones are merged under a DT key
    Then neither matches and both are kept, as the selector never holds
    """
    item = {"Translation": "Lost, I am"}
    context = merge_all({FORCE_KEY: item}, {FORCE_KEY: item})
    assert context["YodaSpeak"]["TheForce"] == [item, item], f"nothing can match without Original: {context}"


def test_one_entry_with_two_equal_keys_collapses_into_one_item() -> None:
    """
    Given one entry whose list holds the same key field twice
    When it is merged into an empty context
    Then the second updates the first, leaving one object
    """
    context = merge_all({FORCE_KEY: [force("Hi", "old"), force("Hi", "new")]})
    assert context["YodaSpeak"]["TheForce"] == force("Hi", "new"), f"later item should update earlier: {context}"


def test_dt_key_updates_every_matching_item() -> None:
    """
    Given two stored items that both match a selector (stored by a plain key earlier)
    When an entry arrives under a DT key matching both
    Then both are updated
    """
    context = {"Ticket": [{"id": 1, "state": "new", "n": 1}, {"id": 1, "state": "new", "n": 2}]}
    merged = merge_entry_context(context, {"Ticket(val.id == obj.id)": {"id": 1, "state": "closed"}})
    assert merged["Ticket"] == [{"id": 1, "state": "closed", "n": 1}, {"id": 1, "state": "closed", "n": 2}], (
        f"every match should be updated: {merged}"
    )


def test_tutorial_style_nested_key_field() -> None:
    """
    Given the tutorial's prefix 'YodaSpeak' with key field 'Phrase.Original'
    When two phrases and a re-translation are merged
    Then the nested key field is what identifies an item
    """
    key = "YodaSpeak(val.Phrase.Original && val.Phrase.Original == obj.Phrase.Original)"
    context = merge_all(
        {key: {"Phrase": {"Original": "a", "Translation": "1"}}},
        {key: {"Phrase": {"Original": "b", "Translation": "2"}}},
        {key: {"Phrase": {"Original": "a", "Translation": "3"}}},
    )
    assert context["YodaSpeak"] == [
        {"Phrase": {"Original": "a", "Translation": "3"}},
        {"Phrase": {"Original": "b", "Translation": "2"}},
    ], f"nested key field should match: {context}"


# ---- overwrite and plain keys -----------------------------------------------------------------


def test_true_selector_overwrites() -> None:
    """
    Given a stored next-page token
    When CommandResults(replace_existing=True) emits 'A(true)'
    Then the stored value is replaced, not merged
    """
    context = merge_all({"YodaSpeak(true)": {"NextToken": "abc", "Old": 1}}, {"YodaSpeak(true)": {"NextToken": "d"}})
    assert context == {"YodaSpeak": {"NextToken": "d"}}, f"(true) should overwrite: {context}"


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        pytest.param([{"Phrase": "Hello"}], "Hello", id="absent-stores-as-given"),
        pytest.param([{"Phrase": ["Hello"]}], ["Hello"], id="absent-list-kept-as-list"),
        pytest.param([{"Phrase": "Hello"}, {"Phrase": "Bye"}], ["Hello", "Bye"], id="second-value-makes-a-list"),
        pytest.param([{"Phrase": "Hello"}, {"Phrase": "Hello"}], "Hello", id="duplicate-dropped-keeps-shape"),
        pytest.param(
            [{"Phrase": ["a", "b"]}, {"Phrase": ["b", "c", "c"]}], ["a", "b", "c"], id="list-concatenated-deduplicated"
        ),
        pytest.param([{"Phrase": {"x": 1}}, {"Phrase": {"x": 1}}], {"x": 1}, id="deep-equal-object-dropped"),
        pytest.param([{"Phrase": {"x": 1}}, {"Phrase": {"x": 2}}], [{"x": 1}, {"x": 2}], id="distinct-objects"),
        pytest.param([{"Phrase": 1}, {"Phrase": True}], [1, True], id="true-is-not-1"),
        pytest.param([{"Phrase": 1}, {"Phrase": 1.0}], 1, id="json-number-1-equals-1.0"),
        pytest.param([{"Phrase": {"n": 2}}, {"Phrase": {"n": 2.0}}], {"n": 2}, id="json-number-in-object-2-equals-2.0"),
        pytest.param([{"Phrase": "a"}, {"Phrase": []}], "a", id="empty-list-adds-nothing"),
        pytest.param([{"Phrase": "a"}, {"Phrase": None}], "a", id="none-is-skipped"),
    ],
)
def test_plain_key_appends_without_duplicates(entries: list[dict[str, Any]], expected: Any) -> None:
    """
    Given a sequence of entries writing a plain key
    When they are merged in order
    Then values are appended and deep-equal duplicates are dropped (PR #45952)
    """
    context = merge_all(*entries)
    assert context.get("Phrase") == expected, f"after {entries} expected {expected!r}, got {context.get('Phrase')!r}"


def test_none_value_on_an_absent_key_writes_nothing() -> None:
    """
    Given an entry whose value is None
    When it is merged
    Then no key (not even a parent object) appears
    """
    assert merge_all({"A.B": None, FORCE_KEY: None}) == {}, "None values should be skipped entirely"


def test_empty_list_under_a_dt_key_stores_nothing() -> None:
    """
    Given a DT key with an empty list (no results) and nothing stored
    When it is merged
    Then the key is not created as an empty value
    """
    context = merge_all({FORCE_KEY: []})
    assert "TheForce" not in context.get("YodaSpeak", {}), f"no items should store nothing: {context}"


def test_dotted_path_creates_parents_and_keeps_siblings() -> None:
    """
    Given a context with YodaSpeak.Other
    When YodaSpeak.TheForce is written
    Then it lands next to Other
    """
    context = merge_entry_context({"YodaSpeak": {"Other": 1}}, {FORCE_KEY: force("a", "b")})
    assert context == {"YodaSpeak": {"Other": 1, "TheForce": force("a", "b")}}, f"sibling lost: {context}"


def test_merge_does_not_mutate_its_inputs() -> None:
    """
    Given a context and an entry context
    When they are merged and the result is then modified
    Then neither input changed
    """
    context = {"YodaSpeak": {"TheForce": force("a", "b")}}
    entry = {FORCE_KEY: [force("a", "c"), force("d", "e")], "Plain": [{"x": 1}]}
    before = copy.deepcopy((context, entry))
    merged = merge_entry_context(context, entry)
    merged["YodaSpeak"]["TheForce"][0]["Translation"] = "mutated"
    merged["Plain"][0]["x"] = 2
    assert (context, entry) == before, "merge (or a later change to its result) mutated an input"


def test_none_entry_context_gives_an_equal_copy() -> None:
    """
    Given an entry without EntryContext
    When it is merged
    Then the context is unchanged but is a new object
    """
    context = {"A": 1}
    merged = merge_entry_context(context, None)
    assert merged == context, "no EntryContext should change nothing"
    assert merged is not context, "merge should return a new dict"


# ---- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("A(val.x * 3)", id="multiplication"),
        pytest.param("A(val.x.split(',') == obj.x)", id="unknown-method"),
        pytest.param("A(window.x)", id="unknown-name"),
        pytest.param("A()", id="empty"),
        pytest.param("A(val.x ==)", id="dangling-operator"),
    ],
)
def test_unsupported_selector_raises_naming_it(key: str) -> None:
    """
    Given a key whose selector is outside the supported subset
    When it is merged (even into an empty context)
    Then a ValueError names the selector
    """
    _path, selector = split_dt_key(key)
    with pytest.raises(UnsupportedSelectorError) as raised:
        merge_entry_context({}, {key: {"x": 1}})
    assert repr(selector) in str(raised.value), f"the error should name {selector!r}: {raised.value}"
    assert isinstance(raised.value, ValueError), "callers catch ValueError"


def test_writing_through_a_non_object_is_refused() -> None:
    """
    Given YodaSpeak stored as a list (two distinct tutorial-style items)
    When an entry writes YodaSpeak.TheForce
    Then a clear error names the clash instead of silently dropping the list
    """
    context = {"YodaSpeak": [{"Phrase": 1}, {"Phrase": 2}]}
    with pytest.raises(ContextPathError, match=r"'YodaSpeak' holds a list"):
        merge_entry_context(context, {FORCE_KEY: force("a", "b")})


@pytest.mark.parametrize("key", [pytest.param("A..B", id="empty-segment"), pytest.param("(true)", id="no-path")])
def test_malformed_paths_are_refused(key: str) -> None:
    """
    Given a key whose path is malformed
    When it is merged
    Then a ContextPathError explains it
    """
    with pytest.raises(ContextPathError):
        merge_entry_context({}, {key: 1})
