import pytest

from bulkapp.entities import REGISTRY, EntitySchema, Field, UnknownEntity, get_entity
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
