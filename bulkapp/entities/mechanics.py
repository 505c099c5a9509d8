"""Mechanics: people who repair vehicles for the organisation's members."""

from .base import EntitySchema, Field
from .provinces import SA_PROVINCES

SCHEMA = EntitySchema(
    name="mechanics",
    label="Mechanics",
    table="mechanics",
    description="Mechanics, keyed by e-mail address.",
    natural_key=("email",),
    fields=(
        Field(
            "first_name",
            "firstName",
            required=True,
            max_length=100,
            aliases=("given name", "forename", "name"),
            example="John",
        ),
        Field(
            "last_name",
            "lastName",
            required=True,
            max_length=100,
            aliases=("surname", "family name"),
            example="Doe",
        ),
        Field(
            "email",
            "email",
            "email",
            required=True,
            aliases=("e-mail", "email address", "mail"),
            example="john@example.com",
        ),
        Field(
            "mobile_number",
            "mobileNumber",
            "phone",
            required=True,
            aliases=("mobile", "cell", "cellphone", "phone", "phone number", "contact number"),
            example="0821234567",
        ),
        Field(
            "specialisation",
            "specialisation",
            max_length=100,
            aliases=("specialization", "speciality", "trade", "skill"),
            example="Diesel engines",
        ),
        Field(
            "years_experience",
            "yearsExperience",
            "integer",
            min_value=0,
            max_value=70,
            aliases=("experience", "years of experience"),
            example="12",
        ),
        Field(
            "workshop_name",
            "workshopName",
            max_length=150,
            aliases=("workshop", "garage", "company"),
            example="Doe Motors",
        ),
        Field("city", "city", max_length=100, aliases=("town",), example="Pretoria"),
        Field("province", "province", "enum", choices=SA_PROVINCES, example="Gauteng"),
    ),
)
