"""Rule-based English -> Yoda translation in the style of the FunTranslations service.

The service moves the predicate in front of the subject and its verb ("Master Obiwan has
lost a planet." -> "Lost a planet,  master obiwan has."). Its quirks are kept on purpose,
because the integration and its tests should see what the real service returns:

- the moved words are lower-cased ("Obiwan" -> "obiwan"), except the pronoun "I";
- after the inserted comma come two spaces, except when a single word moved ("my name is
  gautam" -> "gautam, my name is"); the real answers seen so far differ exactly so, including
  "Used to test integration functionality,  test playbooks are" (a copula, still two spaces);
- the first letter is capitalised only when the sentence started with a capital;
- the space between sentences is dropped ("places.Ultrasonic"), a line break is kept.

Sentences without a recognisable subject and verb come back unchanged. Everything here is
a pure function of the input text: the integration caches translations by text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MODALS = frozenset({"must", "will", "would", "can", "could", "shall", "should", "may", "might"})
_AUXILIARIES = frozenset({"has", "have", "had", "do", "does", "did"})
_COPULAS = frozenset({"is", "am", "are", "was", "were"})
_PIVOTS = _MODALS | _AUXILIARIES | _COPULAS
_NEGATIONS = frozenset({"not", "never"})
_SUBJECT_PRONOUNS = frozenset({"i", "you", "we", "they", "he", "she", "it"})
# A sentence opening with one of these is a question, a clause or an interjection, not "subject verb ...".
_OPENERS = frozenset(
    {
        "what", "where", "when", "why", "how", "who", "whom", "whose", "which", "if", "because", "although",
        "though", "while", "and", "but", "or", "so", "yes", "no", "please", "let", "hello", "hi",
    }
)  # fmt: skip
# Words that cannot be the main verb right after a pronoun subject ("We the people ...").
_NOT_VERBS = frozenset({"the", "a", "an", "and", "or", "but", "too", "also", "alone", "all", "both"})
_MAX_SUBJECT_WORDS = 5

_SENTENCE = re.compile(r"(\s*)([^.!?]+[.!?]*[\"')\]]*|[.!?]+[\"')\]]*)")
_TERMINAL = re.compile(r"[.!?]+[\"')\]]*$")
_WORD = re.compile(r"^[^\W_][\w'-]*$")
_CONTRACTED_IS = frozenset({"he's", "she's", "it's", "that's", "there's", "here's"})
_SUFFIXES = (("'m", "am"), ("'re", "are"), ("'ve", "have"), ("'ll", "will"), ("'d", "would"))
_IRREGULAR_NOT = {"can't": "can", "won't": "will", "shan't": "shall"}


@dataclass(frozen=True)
class _Split:
    """A sentence cut around its pivot: subject, pivot words, predicate."""

    subject: tuple[str, ...]
    pivot: tuple[str, ...]
    predicate: tuple[str, ...]


def translate(text: str) -> str:
    """Translate English text to Yoda; blank text gives an empty string."""
    parts: list[str] = []
    for match in _SENTENCE.finditer(text):
        separator, sentence = match.group(1), match.group(2).strip()
        if not sentence:
            continue
        if parts and "\n" in separator:
            parts.append(separator.strip(" \t"))
        parts.append(translate_sentence(sentence))
    return "".join(parts)


def translate_sentence(sentence: str) -> str:
    """Translate one sentence, or return it unchanged when no subject and verb can be found."""
    sentence = sentence.strip()
    terminal_match = _TERMINAL.search(sentence)
    terminal = terminal_match.group(0) if terminal_match else ""
    body = sentence[: len(sentence) - len(terminal)].strip()
    split = _split(_expand(body.split()))
    if split is None:
        return sentence
    front = " ".join(_lower(word) for word in split.predicate)
    back = " ".join(_lower(word) for word in split.subject + split.pivot)
    if body[:1].isupper():
        front = front[:1].upper() + front[1:]
    comma = ", " if len(split.predicate) == 1 else ",  "
    return f"{front}{comma}{back}{terminal}"


def _split(words: list[str]) -> _Split | None:
    """Find the subject, its verb group and the predicate, or None when the sentence has no such shape."""
    keys = [word.lower() for word in words]
    if len(words) < 3 or any(not _WORD.match(word) for word in words[:2]) or keys[0] in _OPENERS | _PIVOTS:
        return None
    if keys[0] in _SUBJECT_PRONOUNS:
        # A pronoun is the whole subject, so the verb must follow it directly.
        pivot_at = 1
        if keys[1] not in _PIVOTS:
            if keys[1] in _NOT_VERBS:
                return None
            # "I really love you": the adverb travels with the verb.
            return _cut(words, 1, 3 if keys[1].endswith("ly") else 2)
    else:
        found = next((i for i, key in enumerate(keys[1 : _MAX_SUBJECT_WORDS + 1], 1) if key in _PIVOTS), None)
        if found is None:
            return None
        pivot_at = found
    end = pivot_at + 1
    while end < len(keys) and keys[end] in _NEGATIONS:
        end += 1
    return _cut(words, pivot_at, end)


def _cut(words: list[str], start: int, end: int) -> _Split | None:
    subject, pivot, predicate = tuple(words[:start]), tuple(words[start:end]), tuple(words[end:])
    if not predicate or not all(_WORD.match(word) for word in subject + pivot):
        return None
    return _Split(subject, pivot, predicate)


def _expand(words: list[str]) -> list[str]:
    """Undo contractions ("I'm" -> "I am", "don't" -> "do not") so the verb can be found."""
    expanded: list[str] = []
    for word in words:
        plain = word.replace("\u2019", "'")
        key = plain.lower()
        if key in _IRREGULAR_NOT:
            expanded += [_IRREGULAR_NOT[key], "not"]
        elif key.endswith("n't") and len(key) > 3:
            expanded += [plain[:-3], "not"]
        elif key in _CONTRACTED_IS:
            expanded += [plain[:-2], "is"]
        else:
            suffix = next(((s, full) for s, full in _SUFFIXES if key.endswith(s) and len(key) > len(s)), None)
            expanded += [plain[: -len(suffix[0])], suffix[1]] if suffix else [word]
    return expanded


def _lower(word: str) -> str:
    """Lower-case a word as the service does, keeping the pronoun "I" upright."""
    lowered = word.lower()
    return "I" if lowered == "i" else lowered
