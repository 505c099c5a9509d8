"""Match a file's headers to an entity's fields by meaning, each with a confidence (0–1).

A header is split into words (camelCase, snake_case, spaces and punctuation all separate
words), accents and case are dropped, a lone letter joins the next word (``e-mail`` is
``email``), every way of writing "number" (``no``, ``nr``, ``#``, Afrikaans ``nommer``, …)
becomes ``number`` and abbreviations become their word (``Prov.`` is ``province``;
``HEADER_ABBREVIATIONS``, declared with the schemas). It is then compared with each field's
name, label and aliases (declared in the schemas, Afrikaans names among them):

- the same words: 1.0;
- the same words once "number" is left out: 0.9 ("Cell Number" is ``cell``);
- the same words in any order once "number" and words naming the record (``member``,
  ``client``, …) are left out: 0.9 ("Member Cell" is ``cell``);
- either of these two, when only one or two letters are left: 0.8 ("Member ID" may be a
  membership number, a policy's "ID" the policy's own);
- a typo (rapidfuzz's optimal-string-alignment similarity of at least 0.75, where both have
  five letters or more besides "number"): that similarity, e.g. "Provnce" 0.88; two
  neighbouring letters swapped, the commonest slip of a typing hand, count half a letter:
  "Emial" 0.9, "Surnmae" 0.93;
- an alias inside a longer header ("Home Address"): 0.35 to 0.85 by how much of the header
  it covers; a header inside a longer alias ("First" in "first name"): 0.5 to 0.75;
- a path of a nested value (``workshop.city``, as the JSON reader names them): also its last
  part alone, at 0.9 of that part's score ("city" is ``city`` at 0.9), so that the full path
  ("workshop.name" is ``workshopName``) wins where it matches as well.

A column's best field is *certain* when it reaches ``CERTAIN``, the next best field is at
least ``MARGIN`` behind and no other column claims that field within ``MARGIN``; certain
matches may be used without asking anyone. A best field from ``SUGGEST`` up is a suggestion
for a person to confirm; below that the column matches nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz.distance import OSA, Levenshtein

from ..entities import HEADER_ABBREVIATIONS, EntitySchema, strip_accents

CERTAIN = 0.85
SUGGEST = 0.6
MARGIN = 0.1
ALTERNATIVE = 0.5  # the least confidence an alternative needs to be shown
MOST_ALTERNATIVES = 3
REDUCED = 0.9  # the same words once "number" and record words are left out
# ... when what is left is one or two letters ("Member ID" is "ID"): too little to be sure.
REDUCED_TO_LETTERS = 0.8
FUZZY_LEAST = 0.75
FUZZY_SHORTEST = 5  # letters; shorter headers are too short to tell a typo from a word
SWAPPED_LETTERS = 0.5  # what two neighbouring letters swapped count, in letters
PATH_LEAF = 0.9  # the last part of a path alone, against the whole path
LONGEST_HEADER = 100  # a longer cell is data, not a header

NUMBER = "number"
NUMBER_WORDS = frozenset({"number", "no", "nr", "num", "nbr", "nmbr", "numb", "#", "nommer"})
# Words that name the record rather than the field ("Member ID" is the ID), fillers, and
# the currency an amount is in ("Premium (R)").
RECORD_WORDS = frozenset(
    {
        "member",
        "client",
        "customer",
        "mechanic",
        "provider",
        "supplier",
        "employee",
        "staff",
        "the",
        "of",
        "your",
        "lid",
        "klient",
        "r",
        "zar",
        "rand",
    }
)
_PATH_DOT = re.compile(r"\S\.(?=\S)")  # a dot between two parts of a path, not after "No"
# A hint of how to write the value, in brackets: "(M/F)", "(Y/N)", "(DD/MM/YYYY)".
_WRITING_HINT = re.compile(r"\(\s*[A-Za-z]{1,4}(?:\s*[/-]\s*[A-Za-z]{1,4})+\s*\)")

_CAMEL_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_WORD = re.compile(r"[^\W_]+|#")


def header_words(header: object) -> tuple[str, ...]:
    """The words of a header, folded: ``"Cell_No."`` → ``("cell", "number")``; a hint of how
    to write the value (``"Sex (M/F)"``) is left out."""
    text = strip_accents(_CAMEL_HUMP.sub(" ", _WRITING_HINT.sub(" ", str(header)))).casefold()
    words: list[str] = []
    letters = ""  # a run of lone letters ("d o b", the "e" of "e-mail")
    for word in _WORD.findall(text):
        if len(word) == 1 and word.isalpha():
            letters += word
            continue
        if letters:
            word = letters + word if len(letters) == 1 else word
            if len(letters) > 1:
                words.append(_expanded(letters))
            letters = ""
        words.append(_expanded(word))
    if letters:
        words.append(_expanded(letters))
    return tuple(words)


def _expanded(word: str) -> str:
    """``number`` for a way of writing it, the full word for an abbreviation, else ``word``."""
    return NUMBER if word in NUMBER_WORDS else HEADER_ABBREVIATIONS.get(word, word)


@dataclass(frozen=True)
class _Words:
    """A header or alias as words: ``full`` joined, ``plain`` without "number", ``core``
    without "number" and record words."""

    full: str
    plain: str
    core: frozenset[str]
    core_text: str

    @classmethod
    def of(cls, text: object) -> _Words:
        words = header_words(text)
        plain = [w for w in words if w != NUMBER]
        core = [w for w in plain if w not in RECORD_WORDS]
        return cls("".join(words), "".join(plain), frozenset(core), "".join(core))


@dataclass(frozen=True)
class _Alias:
    field: str
    words: _Words


@lru_cache(maxsize=64)
def _aliases(schema: EntitySchema) -> tuple[_Alias, ...]:
    """Every name, label and alias of ``schema``'s fields, as words."""
    return tuple(
        _Alias(f.name, _Words.of(text))
        for f in schema.fields
        for text in (f.name, f.label, *f.aliases)
    )


def _similarity(header: _Words, alias: _Words) -> float:
    """How well ``header`` fits ``alias`` (0–1), by the rules in the module's docstring."""
    if header.full == alias.full:
        return 1.0
    if header.plain and header.plain == alias.plain:
        return REDUCED if len(header.plain) > 2 else REDUCED_TO_LETTERS
    if header.core and header.core == alias.core:
        return REDUCED if len(header.core_text) > 2 else REDUCED_TO_LETTERS
    best = 0.0
    if min(len(header.core_text), len(alias.core_text)) >= FUZZY_SHORTEST:
        best = max(
            _typo_similarity(header.full, alias.full),
            REDUCED * _typo_similarity(header.core_text, alias.core_text),
        )
    if header.core and alias.core:
        if alias.core < header.core:
            best = max(best, 0.35 + 0.5 * len(alias.core_text) / len(header.core_text))
        elif header.core < alias.core:
            best = max(best, 0.5 + 0.25 * len(header.core_text) / len(alias.core_text))
    return best


def _typo_similarity(written: str, meant: str) -> float:
    """How alike two words are as a typo of one another (0 below ``FUZZY_LEAST``)."""
    similarity = OSA.normalized_similarity(written, meant, score_cutoff=FUZZY_LEAST)
    # One edit between words of one length is a letter changed or two letters swapped; a
    # swap is two edits to Levenshtein, who knows no swaps.
    if (
        similarity
        and len(written) == len(meant)
        and OSA.distance(written, meant) == 1
        and Levenshtein.distance(written, meant) == 2
    ):
        return 1 - SWAPPED_LETTERS / len(written)
    return similarity


def _path_leaf(text: str) -> str | None:
    """The last part of a path such as ``workshop.city`` (None for a header that is none)."""
    dots = list(_PATH_DOT.finditer(text))
    leaf = text[dots[-1].end() :] if dots else ""
    return leaf if leaf.strip(" .") else None


def field_scores(schema: EntitySchema, header: object) -> dict[str, float]:
    """Each field of ``schema`` that ``header`` resembles → the confidence, rounded to 0.01.

    Empty and overlong headers resemble nothing.
    """
    text = "" if header is None else str(header).strip()
    if not text or len(text) > LONGEST_HEADER:
        return {}
    return dict(_scores(schema, text))


@lru_cache(maxsize=4096)
def _scores(schema: EntitySchema, text: str) -> tuple[tuple[str, float], ...]:
    """``field_scores`` of a stripped header, remembered: finding a header row scores the
    cells of a file's first rows, which repeat (``Gauteng``, ``x``)."""
    readings = [(_Words.of(text), 1.0)]
    leaf = _path_leaf(text)
    if leaf is not None:
        readings.append((_Words.of(leaf), PATH_LEAF))
    scores: dict[str, float] = {}
    for words, weight in readings:
        for alias in _aliases(schema):
            score = weight * _similarity(words, alias.words)
            if score > scores.get(alias.field, 0.0):
                scores[alias.field] = score
    return tuple((name, round(score, 2)) for name, score in scores.items() if score > 0)


def ranked_fields(schema: EntitySchema, header: object) -> list[tuple[str, float]]:
    """``field_scores`` best first; ties in the schema's field order."""
    order = {name: i for i, name in enumerate(schema.field_names)}
    return sorted(field_scores(schema, header).items(), key=lambda fs: (-fs[1], order[fs[0]]))


def resembles(schema: EntitySchema, cells: Sequence[object]) -> set[str]:
    """The fields that cells of a row suggest (confidence of ``SUGGEST`` or more)."""
    found = set()
    for cell in cells:
        ranked = ranked_fields(schema, cell)
        if ranked and ranked[0][1] >= SUGGEST:
            found.add(ranked[0][0])
    return found
