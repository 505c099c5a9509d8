"""The vocabulary in which entity types declare their schema, as data."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

FIELD_TYPES = ("string", "email", "phone", "date", "integer", "decimal", "enum", "sa_id")

_ALIAS_NOISE = re.compile(r"[\s_\-\.]+")

# Abbreviations people write in headers, as the word they stand for ("Prov." is "province",
# "Res. Addr." is "residential address"): every type's headers and aliases are read so.
HEADER_ABBREVIATIONS = {
    "addr": "address",
    "adr": "address",
    "prov": "province",
    "yrs": "years",
    "yr": "years",
    "amt": "amount",
    "tel": "telephone",
    "mob": "mobile",
    "ph": "phone",
    "dt": "date",
    "ref": "reference",
    "reg": "registration",
    "pol": "policy",
    "prem": "premium",
    "res": "residential",
    "muni": "municipality",
    "cat": "category",
    "svc": "service",
}


def strip_accents(text: str) -> str:
    """``text`` without accents (``é`` → ``e``); plain ASCII is returned as it is."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def header_key(header: object) -> str:
    """Fold a header or a value for matching: case, accents, spaces, ``_``, ``-`` and ``.``
    are ignored."""
    return _ALIAS_NOISE.sub("", strip_accents(str(header))).casefold()


# Words a field's title writes otherwise than in lower case.
_TITLE_WORDS = {"id": "ID", "vat": "VAT"}


@dataclass(frozen=True)
class Field:
    """One column of an entity.

    Attributes:
        name: the database column (snake_case).
        label: the header in templates and the JSON API (camelCase, as in the seeds).
        type: one of ``FIELD_TYPES``; decides normalisation and validation.
        required: a row without a value is rejected.
        aliases: further headers users write for this column.
        max_length: longest accepted text.
        choices: accepted values of an ``enum`` (compared ignoring case and accents).
        synonyms: further values people write for a choice, per choice (``enum`` only).
        min_value / max_value: bounds of an ``integer`` or ``decimal``.
        example: a value shown in the downloadable template.
        list_joiner: how a list of values in one cell (a JSON list) becomes this field's
            text, e.g. ``", "``; None: a list is rejected (text fields only).
    """

    name: str
    label: str
    type: str = "string"
    required: bool = False
    aliases: tuple[str, ...] = ()
    max_length: int = 255
    choices: tuple[str, ...] = ()
    synonyms: Mapping[str, tuple[str, ...]] = field(default_factory=dict, compare=False)
    min_value: float | None = None
    max_value: float | None = None
    example: str = ""
    list_joiner: str | None = None

    def __post_init__(self) -> None:
        if self.type not in FIELD_TYPES:
            raise ValueError(f"{self.name}: unknown field type {self.type!r}")
        if self.list_joiner is not None and self.type != "string":
            raise ValueError(f"{self.name}: only a text field can join a list")
        if self.type == "enum" and not self.choices:
            raise ValueError(f"{self.name}: an enum needs choices")
        strangers = set(self.synonyms) - set(self.choices)
        if strangers:
            raise ValueError(f"{self.name}: synonyms for unknown choices {sorted(strangers)}")
        owners: dict[str, str] = {}
        for choice, values in ((c, (c, *self.synonyms.get(c, ()))) for c in self.choices):
            for key in map(header_key, values):
                if owners.setdefault(key, choice) != choice:
                    raise ValueError(
                        f"{self.name}: value {key!r} means both {owners[key]} and {choice}"
                    )

    @property
    def title(self) -> str:
        """The field as the pages name it: its label in words ("idNumber" → "ID number")."""
        words = [
            word.lower() for word in re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", self.label)
        ]
        text = " ".join(_TITLE_WORDS.get(word, word) for word in words)
        return text[:1].upper() + text[1:]

    @property
    def header_keys(self) -> set[str]:
        """Every folded header that maps to this field."""
        return {header_key(h) for h in (self.name, self.label, *self.aliases)}

    def describe_choice(self, choice: str) -> str:
        """``choice`` with its synonyms, e.g. ``motor (also auto, car)``."""
        synonyms = self.synonyms.get(choice)
        return f"{choice} (also {', '.join(synonyms)})" if synonyms else choice

    @property
    def value_lookup(self) -> dict[str, str]:
        """Every folded value (a choice or one of its synonyms) → the choice it means."""
        return {
            header_key(value): choice
            for choice in self.choices
            for value in (choice, *self.synonyms.get(choice, ()))
        }


@dataclass(frozen=True)
class RowRule:
    """A rule across fields of one row.

    ``check(frame)`` receives the normalised chunk (a pandas DataFrame with one column per
    field) and returns a boolean Series that is True where the row breaks the rule.
    """

    column: str
    message: str
    check: Callable


@dataclass(frozen=True)
class EntitySchema:
    """An importable entity type: its table, queue, fields, key and rules.

    ``searched`` names the fields the records page searches and sorts by besides the natural
    key: names, e-mail addresses and phone numbers (each gets an index).
    """

    name: str
    label: str
    table: str
    fields: tuple[Field, ...]
    natural_key: tuple[str, ...]
    rules: tuple[RowRule, ...] = field(default=())
    description: str = ""
    searched: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        names = [f.name for f in self.fields]
        missing = [k for k in (*self.natural_key, *self.searched) if k not in names]
        if missing:
            raise ValueError(f"{self.name}: natural key or searched field {missing} is not a field")
        owners: dict[str, str] = {}
        for f in self.fields:
            for key in f.header_keys:
                if owners.setdefault(key, f.name) != f.name:
                    raise ValueError(
                        f"{self.name}: header {key!r} maps to both {owners[key]} and {f.name}"
                    )

    @property
    def queue_name(self) -> str:
        """The base RQ queue of this entity, e.g. ``bulk-upload-mechanics``."""
        return f"bulk-upload-{self.name}"

    @property
    def field_names(self) -> list[str]:
        """Column names in declaration order."""
        return [f.name for f in self.fields]

    @property
    def required_fields(self) -> list[Field]:
        """Fields a file must provide a column for."""
        return [f for f in self.fields if f.required]

    @property
    def search_fields(self) -> list[Field]:
        """The fields a records search looks in: the natural key, then ``searched``."""
        names = dict.fromkeys((*self.natural_key, *self.searched))
        return [self.field(name) for name in names]

    @property
    def key_fields(self) -> list[Field]:
        """The fields of the natural key, in key order."""
        return [self.field(name) for name in self.natural_key]

    @property
    def titles(self) -> dict[str, str]:
        """Each field's label (the API's name) → its title (the pages' name)."""
        return {f.label: f.title for f in self.fields}

    def field(self, name: str) -> Field:
        """The field called ``name``."""
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)
