"""Entity types as data. Each module in this package declares one ``SCHEMA``.

Adding an entity type is one module here and one migration: the registry discovers the
module, the models build its table, the queues and pages list it.
"""

from __future__ import annotations

import importlib
import pkgutil

from .base import HEADER_ABBREVIATIONS, EntitySchema, Field, RowRule, header_key, strip_accents

__all__ = [
    "HEADER_ABBREVIATIONS",
    "EntitySchema",
    "Field",
    "RowRule",
    "header_key",
    "strip_accents",
    "REGISTRY",
    "get_entity",
    "UnknownEntity",
]


class UnknownEntity(LookupError):
    """Raised for an entity type that does not exist."""


def _discover() -> dict[str, EntitySchema]:
    found: dict[str, EntitySchema] = {}
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module_info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        schema = getattr(module, "SCHEMA", None)
        if isinstance(schema, EntitySchema):
            found[schema.name] = schema
    return found


REGISTRY: dict[str, EntitySchema] = _discover()


def get_entity(name: str) -> EntitySchema:
    """The schema called ``name`` (e.g. ``mechanics``, ``service-providers``).

    Raises:
        UnknownEntity: with a message that lists the known types.
    """
    key = (name or "").strip().lower().replace("_", "-")
    try:
        return REGISTRY[key]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise UnknownEntity(f"Unknown entity type {name!r}. Choose one of: {known}.") from None
