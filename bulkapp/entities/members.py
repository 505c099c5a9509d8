"""Members of the organisation, keyed by South African ID number."""

from .base import EntitySchema, Field, RowRule
from .provinces import (
    ADDRESS_ALIASES,
    AFRIKAANS_FIRST_NAME,
    EMAIL_ALIASES,
    FIRST_NAME_ALIASES,
    LAST_NAME_ALIASES,
    PHONE_ALIASES,
    province_field,
)

GENDERS = ("female", "male", "other")
GENDER_SYNONYMS = {
    "female": ("f", "woman", "fem", "vroulik", "v", "vrou"),
    "male": ("m", "man", "manlik"),
    "other": ("o", "x", "non-binary", "gender diverse"),
}


def _birth_date_differs_from_id(frame):
    """True where both are given and the ID number's YYMMDD is not the date of birth."""
    both = frame["date_of_birth"].notna() & frame["id_number"].notna()
    born = frame["date_of_birth"].where(both, "").astype(str)
    ids = frame["id_number"].where(both, "").astype(str)
    yymmdd = born.str[2:4] + born.str[5:7] + born.str[8:10]
    return both & (yymmdd != ids.str[:6])


SCHEMA = EntitySchema(
    name="members",
    label="Members",
    table="members",
    description="Members, keyed by South African ID number.",
    natural_key=("id_number",),
    searched=("first_name", "last_name", "email", "mobile_number"),
    fields=(
        Field(
            "first_name",
            "firstName",
            required=True,
            max_length=100,
            aliases=(*FIRST_NAME_ALIASES, "names", *AFRIKAANS_FIRST_NAME),
            example="Thandi",
        ),
        Field(
            "last_name",
            "lastName",
            required=True,
            max_length=100,
            aliases=LAST_NAME_ALIASES,
            example="Nkosi",
        ),
        Field(
            "id_number",
            "idNumber",
            "sa_id",
            required=True,
            max_length=13,
            aliases=(
                "id",
                "id no",
                "identity number",
                "identity",
                "sa id",
                "rsa id",
                "national id",
                "id document",
                "id nommer",
                "identiteitsnommer",
                "identiteit",
            ),
            example="8001015009087",
        ),
        Field(
            "date_of_birth",
            "dateOfBirth",
            "date",
            aliases=(
                "dob",
                "birth date",
                "birthday",
                "born",
                "date born",
                "geboortedatum",
                "geboorte datum",
                "geb datum",
                "verjaarsdag",
            ),
            example="1980-01-01",
        ),
        Field(
            "gender",
            "gender",
            "enum",
            choices=GENDERS,
            synonyms=GENDER_SYNONYMS,
            aliases=("sex", "geslag"),
            example="female",
        ),
        Field(
            "email",
            "email",
            "email",
            aliases=EMAIL_ALIASES,
            example="thandi@example.com",
        ),
        Field(
            "mobile_number",
            "mobileNumber",
            "phone",
            aliases=PHONE_ALIASES,
            example="0821234567",
        ),
        Field(
            "address",
            "address",
            max_length=300,
            aliases=(
                *ADDRESS_ALIASES,
                "residential address",
                "home address",
                "woonadres",
                "huisadres",
            ),
            list_joiner=", ",
            example="12 Church Street",
        ),
        Field(
            "ward",
            "ward",
            max_length=50,
            aliases=("ward number", "ward no", "wyk", "wyknommer"),
            example="58",
        ),
        Field(
            "municipality",
            "municipality",
            max_length=150,
            aliases=(
                "local municipality",
                "metro",
                "municipal area",
                "munisipaliteit",
                "plaaslike munisipaliteit",
                "munisipale gebied",
            ),
            example="City of Tshwane",
        ),
        province_field(),
    ),
    rules=(
        RowRule(
            "date_of_birth",
            "Date of birth does not match the ID number.",
            _birth_date_differs_from_id,
        ),
    ),
)
