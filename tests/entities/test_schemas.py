from pathlib import Path

import pytest

from bulkapp.entities import REGISTRY, EntitySchema, Field, UnknownEntity, get_entity
from bulkapp.entities.templates import field_help
from bulkapp.models import ENTITY_TABLES


def test_every_entity_declares_the_natural_key_the_readme_documents():
    keys = {name: schema.natural_key for name, schema in REGISTRY.items()}
    assert keys == {
        "mechanics": ("email",),
        "service-providers": ("email",),
        "policies": ("policy_number",),
        "members": ("id_number",),
    }


def test_each_table_is_unique_per_organisation_and_natural_key():
    for name, schema in REGISTRY.items():
        unique = [c for c in ENTITY_TABLES[name].constraints if c.name and c.name.startswith("uq_")]
        assert [col.name for col in unique[0].columns] == ["organisation_id", *schema.natural_key]


def test_a_header_that_maps_to_two_fields_is_refused_when_the_schema_is_declared():
    with pytest.raises(ValueError, match="maps to both"):
        EntitySchema(
            name="x",
            label="X",
            table="x",
            natural_key=("a",),
            fields=(Field("a", "a", aliases=("code",)), Field("b", "b", aliases=("Code",))),
        )


def test_unknown_entity_names_the_known_ones():
    with pytest.raises(UnknownEntity, match="mechanics"):
        get_entity("boats")
    assert get_entity("Service_Providers").name == "service-providers"


README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_lists_every_accepted_value_with_its_synonyms():
    section = README.read_text().split("### Accepted values", 1)[1].split("\n## ", 1)[0]
    rows = {
        line.split("|")[1].split("`")[1]: line for line in section.splitlines() if "| `" in line
    }
    for schema in REGISTRY.values():
        for field in (f for f in schema.fields if f.type == "enum"):
            listed = "; ".join(
                f"`{c}`"
                + (
                    f" ({', '.join(f'`{s}`' for s in field.synonyms[c])})"
                    if c in field.synonyms
                    else ""
                )
                for c in field.choices
            )
            assert f"| {listed} |" in rows[field.label], (schema.name, field.label)


def test_the_template_instructions_name_the_synonyms_of_each_value():
    help_text = field_help(get_entity("policies").field("type"))
    assert (
        "accepted values: motor (also auto, car, vehicle, motor vehicle, automobile, voertuig), "
        "home (" in help_text
    )
