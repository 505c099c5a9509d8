"""Fields as the pages name them: a message of the import names a field by its API name
(``idNumber is required.``), as the API and the error report keep it; a page shows the
field's title (``ID number is required.``).

Presentation only: the stored messages, the API and the error report are not changed.
"""

from __future__ import annotations

import re

from ..entities import REGISTRY, EntitySchema

# A value a message quotes (``repr``: '…' or "…"), never rewritten: a cell that reads
# ``mobileNumber`` is shown as the user wrote it. An apostrophe inside a word is no quote.
_QUOTED = r"(?<!\w)'[^'\n]*'(?!\w)|(?<!\w)\"[^\"\n]*\"(?!\w)"


def schema_of(entity: EntitySchema | str | None) -> EntitySchema | None:
    """The schema ``entity`` names (None: an unknown type, or none)."""
    if entity is None or isinstance(entity, EntitySchema):
        return entity
    return REGISTRY.get(str(entity).strip().lower().replace("_", "-"))


def field_title(entity: EntitySchema | str | None, name: str | None) -> str:
    """The title of the field called ``name`` (its database name or its API label);
    ``name`` itself when the schema has no such field."""
    schema = schema_of(entity)
    if schema is None or not name:
        return name or ""
    for f in schema.fields:
        if name in (f.name, f.label):
            return f.title
    return name


_PATTERNS: dict[str, tuple[re.Pattern, dict[str, str]]] = {}


def _pattern(schema: EntitySchema) -> tuple[re.Pattern, dict[str, str]]:
    """The labels a message may name mid-sentence: the camelCase ones (a lower-case label
    such as ``email`` is also an English word, rewritten only where the message starts with
    it), longest first, and each one's title."""
    if schema.name not in _PATTERNS:
        titles = {f.label: f.title for f in schema.fields if f.label != f.label.lower()}
        names = sorted(titles, key=len, reverse=True)
        labels = "|".join(map(re.escape, names)) or r"(?!)"
        _PATTERNS[schema.name] = (re.compile(rf"({_QUOTED})|\b({labels})\b"), titles)
    return _PATTERNS[schema.name]


def titled(message: str | None, entity: EntitySchema | str | None, field: str | None = None) -> str:
    """``message`` with the fields it names by their titles.

    Args:
        message: a message of the import (a rejection, a warning, a job's error).
        entity: the schema (or its name) whose fields the message names.
        field: the field the message is about, where the error says so (its database name
            or its label): a message that starts with that field's label starts with its
            title, whatever the label's case.
    """
    text = message or ""
    schema = schema_of(entity)
    if schema is None or not text:
        return text
    for f in schema.fields:
        # The field the message is about, or else a lower-case label (an English word too).
        starts = field in (f.name, f.label) if field else f.label == f.label.lower()
        if starts and re.match(rf"{re.escape(f.label)}\b", text):
            text = f.title + text[len(f.label) :]
            break
    pattern, titles = _pattern(schema)
    return pattern.sub(lambda m: m.group(1) or titles[m.group(2)], text)


def title_all(messages: list[str] | None, entity: EntitySchema | str | None) -> list[str]:
    """Each of ``messages`` by ``titled``."""
    return [titled(m, entity) for m in messages or []]
