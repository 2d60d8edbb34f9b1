"""The rule-based English -> Yoda translator: the reference pairs, ordinary sentences, and its edges."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from standins.funtranslations.translator import translate, translate_sentence


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Master Obiwan has lost a planet.", "Lost a planet,  master obiwan has.", id="vendor-example"),
        pytest.param("my name is gautam", "gautam, my name is", id="app-readme-example"),
        # The answer the tutorial's own test playbook (demisto/content) checks for, from the live service.
        pytest.param(
            "Test playbooks are used to test integration functionality",
            "Used to test integration functionality,  test playbooks are",
            id="tutorial-test-playbook",
        ),
    ],
)
def test_reference_pairs_come_out_exactly(text: str, expected: str) -> None:
    """Given a real input/output pair from the reference
    When it is translated
    Then the output matches the real service character for character."""
    assert translate(text) == expected, f"{text!r} gave {translate(text)!r}, the real service gives {expected!r}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("I have the high ground!", "The high ground,  I have!", id="pronoun-have"),
        pytest.param(
            "You must unlearn what you have learned.", "Unlearn what you have learned,  you must.", id="modal"
        ),
        pytest.param("You are not ready.", "Ready, you are not.", id="copula-with-negation"),
        pytest.param("I'm ready.", "Ready, I am.", id="contraction-am"),
        pytest.param(
            "You don't know the power of the dark side!",
            "Know the power of the dark side,  you do not!",
            id="contraction-not",
        ),
        pytest.param("I can't believe it.", "Believe it,  I can not.", id="irregular-cant"),
        pytest.param("There is no try.", "No try,  there is.", id="there-is"),
        pytest.param("I think you must go.", "You must go,  I think.", id="pronoun-main-verb"),
        pytest.param("I really love you", "You, I really love", id="adverb-travels-with-verb"),
        pytest.param(
            "The prequel movies are more entertaining than the new Disney movies",
            "More entertaining than the new disney movies,  the prequel movies are",
            id="long-subject-lowercased",
        ),
        pytest.param("Luke will face the DNA test.", "Face the dna test,  luke will.", id="acronym-lowercased"),
    ],
)
def test_ordinary_sentences_come_out_in_yoda_order(text: str, expected: str) -> None:
    """Given an ordinary English sentence
    When it is translated
    Then the predicate moves to the front in the service's style."""
    assert translate(text) == expected, f"{text!r} gave {translate(text)!r}, expected {expected!r}"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Where is Luke?", id="question"),
        pytest.param("Hello", id="single-word"),
        pytest.param("Do or do not.", id="starts-with-verb"),
        pytest.param("Luke, you must go.", id="comma-in-subject"),
        pytest.param("It rains.", id="no-predicate"),
        pytest.param("Judge me by my size, do you?", id="imperative"),
        pytest.param("We the people are here.", id="pronoun-without-verb"),
        pytest.param("Because we can.", id="clause-opener"),
    ],
)
def test_sentences_it_cannot_reorder_come_back_unchanged(text: str) -> None:
    """Given a sentence without a recognisable subject and verb
    When it is translated
    Then it comes back exactly as given."""
    assert translate(text) == text, f"{text!r} should be returned unchanged, got {translate(text)!r}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "Master Obiwan has lost a planet. I have the high ground!",
            "Lost a planet,  master obiwan has.The high ground,  I have!",
            id="space-between-sentences-dropped",
        ),
        pytest.param(
            "Where is Luke?  You must unlearn what you have learned.",
            "Where is Luke?Unlearn what you have learned,  you must.",
            id="unchanged-then-reordered",
        ),
        pytest.param(
            "Master Obiwan has lost a planet.\nmy name is gautam",
            "Lost a planet,  master obiwan has.\ngautam, my name is",
            id="line-break-kept",
        ),
        pytest.param("  I have the high ground!  ", "The high ground,  I have!", id="outer-whitespace-trimmed"),
    ],
)
def test_several_sentences_are_translated_one_by_one(text: str, expected: str) -> None:
    """Given text with several sentences
    When it is translated
    Then each sentence is translated and they are joined the way the real service joins them."""
    assert translate(text) == expected, f"{text!r} gave {translate(text)!r}, expected {expected!r}"


@pytest.mark.parametrize(
    "text",
    [pytest.param("", id="empty"), pytest.param("   ", id="spaces"), pytest.param("\n\t \n", id="line-breaks")],
)
def test_blank_text_translates_to_nothing(text: str) -> None:
    """Given empty or whitespace-only text
    When it is translated
    Then the result is empty (the HTTP layer answers 400 before ever calling the translator)."""
    assert translate(text) == "", f"blank text {text!r} should give '', got {translate(text)!r}"


def test_sentence_translation_keeps_the_terminal_punctuation() -> None:
    """Given a sentence ending in an exclamation and a closing quote
    When it is translated alone
    Then the punctuation stays at the very end."""
    assert translate_sentence('You must go!"') == 'Go, you must!"', "terminal punctuation should stay at the end"


_VOCABULARY = ["I", "you", "Luke", "the", "Force", "is", "must", "has", "strong", "not", "with", "dark", "Yoda", "go"]


def _words(text: str) -> list[str]:
    return sorted(word.lower() for word in re.findall(r"[A-Za-z]+", text))


@given(
    words=st.lists(st.sampled_from(_VOCABULARY), min_size=1, max_size=10),
    terminal=st.sampled_from(["", ".", "!", "?"]),
)
def test_translation_only_reorders_and_lowercases_words(words: list[str], terminal: str) -> None:
    """Given any sentence built from a small vocabulary rich in verbs
    When it is translated twice
    Then both results are identical and hold exactly the same words, only reordered and re-cased."""
    text = " ".join(words) + terminal
    first, second = translate(text), translate(text)
    assert first == second, f"translation of {text!r} is not deterministic: {first!r} vs {second!r}"
    assert _words(first) == _words(text), f"{text!r} -> {first!r} lost or invented words"
    assert first.endswith(terminal), f"{text!r} -> {first!r} lost its terminal punctuation {terminal!r}"


@given(st.text(max_size=200))
def test_any_text_translates_deterministically(text: str) -> None:
    """Given arbitrary text
    When it is translated twice
    Then nothing raises and the results are identical (the integration caches by text)."""
    assert translate(text) == translate(text), f"translation of {text!r} is not deterministic"
