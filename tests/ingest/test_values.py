"""Enum values by meaning: synonyms declared in the schemas, a person's value mapping, and
the unknown values collected for the review."""

import pandas as pd
import pytest

from bulkapp.entities import REGISTRY, Field, get_entity
from bulkapp.ingest.mapping import (
    UNKNOWN_VALUES_PER_COLUMN,
    MappingChoice,
    map_headers,
    unknown_values,
)
from bulkapp.ingest.normalise import normalise_column

VALUES = [
    ("policies", "type", "auto", "motor"),
    ("policies", "type", "Car", "motor"),
    ("policies", "type", "VEHICLE", "motor"),
    ("policies", "type", "Motor Vehicle", "motor"),
    ("policies", "type", "motor", "motor"),
    ("policies", "type", "Household", "home"),
    ("policies", "type", "Buildings", "home"),
    ("policies", "type", "Life Cover", "life"),
    ("policies", "type", "medical aid", "health"),
    ("policies", "type", "Burial", "funeral"),
    ("policies", "type", "Commercial", "business"),
    ("policies", "type", "Travel", "travel"),
    ("policies", "status", "In Force", "active"),
    ("policies", "status", "in-force", "active"),
    ("policies", "status", "Awaiting", "pending"),
    ("policies", "status", "Expired", "lapsed"),
    ("policies", "status", "Canceled", "cancelled"),
    ("policies", "status", "terminated", "cancelled"),
    ("members", "gender", "M", "male"),
    ("members", "gender", "f", "female"),
    ("members", "gender", "Male", "male"),
    ("members", "gender", "FEMALE", "female"),
    ("members", "gender", "Woman", "female"),
    ("members", "gender", "Manlik", "male"),
    ("members", "gender", "Non-binary", "other"),
    ("members", "gender", "X", "other"),
    ("members", "province", "GP", "Gauteng"),
    ("members", "province", "gp", "Gauteng"),
    ("members", "province", "WC", "Western Cape"),
    ("members", "province", "western cape", "Western Cape"),
    ("members", "province", "Wes-Kaap", "Western Cape"),
    ("members", "province", "KZN", "KwaZulu-Natal"),
    ("members", "province", "Kwazulu Natal", "KwaZulu-Natal"),
    ("members", "province", "KwaZulu-Natál", "KwaZulu-Natal"),
    ("members", "province", "Natal", "KwaZulu-Natal"),
    ("members", "province", "EC", "Eastern Cape"),
    ("members", "province", "FS", "Free State"),
    ("members", "province", "Vrystaat", "Free State"),
    ("members", "province", "LP", "Limpopo"),
    ("members", "province", "MP", "Mpumalanga"),
    ("members", "province", "NW", "North West"),
    ("members", "province", "North-West", "North West"),
    ("members", "province", "NC", "Northern Cape"),
    ("mechanics", "province", "gauteng", "Gauteng"),
    ("service-providers", "province", "W.C.", "Western Cape"),
    ("service-providers", "service_type", "Tow Truck", "towing"),
    ("service-providers", "service_type", "Panel Beater", "panel beating"),
    ("service-providers", "service_type", "panel-beating", "panel beating"),
    ("service-providers", "service_type", "Windscreens", "glass"),
    ("service-providers", "service_type", "Attorneys", "legal"),
    ("service-providers", "service_type", "Undertaker", "funeral"),
    ("service-providers", "service_type", "Mechanic", "mechanical"),
]


def test_every_enum_field_is_in_the_table():
    enums = {(e, f.name) for e, s in REGISTRY.items() for f in s.fields if f.type == "enum"}
    assert enums == {(entity, field) for entity, field, _, _ in VALUES}


@pytest.mark.parametrize(("entity", "field", "written", "choice"), VALUES)
def test_a_written_value_means_its_choice(entity, field, written, choice):
    values, errors = normalise_column([written], get_entity(entity).field(field))
    assert (values, errors) == ([choice], [])


def test_a_value_that_means_nothing_is_refused_naming_the_choices():
    values, errors = normalise_column(["boat"], get_entity("policies").field("type"))
    assert values == [None]
    assert errors == [
        (0, "type 'boat' is not one of: motor, home, life, health, funeral, business, travel.")
    ]


def test_a_synonym_of_two_choices_is_refused_when_the_schema_is_declared():
    with pytest.raises(ValueError, match="'car' means both motor and home"):
        Field(
            "t",
            "t",
            "enum",
            choices=("motor", "home"),
            synonyms={"motor": ("car",), "home": ("Car",)},
        )
    with pytest.raises(ValueError, match="synonyms for unknown choices"):
        Field("t", "t", "enum", choices=("motor",), synonyms={"boat": ("ship",)})


POLICY_HEADERS = ["Policy No", "Type", "Status"]


def test_a_person_value_mapping_translates_values_the_schema_does_not_know():
    policies = get_entity("policies")
    choice = MappingChoice.from_json(
        {"columns": {"Policy No": "policyNumber"}, "values": {"type": {"Bakkie": "Motor"}}},
        policies,
    )
    mapping = map_headers(policies, POLICY_HEADERS, choice)
    values, errors = normalise_column(
        ["bakkie", "auto", "boat"], mapping.field_for(policies.field("type"))
    )
    assert values == ["motor", "motor", None]
    assert [i for i, _ in errors] == [2]


def test_a_person_value_mapping_overrides_a_synonym_of_the_schema():
    policies = get_entity("policies")
    choice = MappingChoice(columns={}, values={"type": {"Company": "life", "motor": "home"}})
    mapping = map_headers(policies, POLICY_HEADERS, choice)
    values, _ = normalise_column(["company", "motor"], mapping.field_for(policies.field("type")))
    assert values == ["life", "motor"]


def test_unknown_values_are_counted_per_column_for_the_review():
    policies = get_entity("policies")
    mapping = map_headers(policies, POLICY_HEADERS)
    collect = unknown_values(policies, mapping)
    collect(
        pd.DataFrame({0: ["P1", "P2", "P3"], 1: ["auto", "Bakkie", "bakkie"], 2: [None, "ok", " "]})
    )
    found = collect(pd.DataFrame({0: ["P4"], 1: ["Bakkie"], 2: ["Active"]}))
    assert found == {"type": {"Bakkie": 2, "bakkie": 1}, "status": {"ok": 1}}


def test_unknown_values_stop_collecting_new_values_at_the_cap_but_keep_counting_known_ones():
    policies = get_entity("policies")
    collect = unknown_values(policies, map_headers(policies, POLICY_HEADERS))
    many = [f"kind {i}" for i in range(UNKNOWN_VALUES_PER_COLUMN + 10)]
    collect(pd.DataFrame({0: many, 1: many, 2: [None] * len(many)}))
    found = collect(pd.DataFrame({0: ["x"], 1: ["kind 0"], 2: [None]}))
    assert len(found["type"]) == UNKNOWN_VALUES_PER_COLUMN
    assert found["type"]["kind 0"] == 2
