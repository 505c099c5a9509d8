"""Mechanics: people who repair vehicles for the organisation's members."""

from .base import EntitySchema, Field
from .provinces import PHONE_ALIASES, province_field

SCHEMA = EntitySchema(
    name="mechanics",
    label="Mechanics",
    table="mechanics",
    description="Mechanics, keyed by e-mail address.",
    natural_key=("email",),
    searched=("first_name", "last_name", "mobile_number"),
    fields=(
        Field(
            "first_name",
            "firstName",
            required=True,
            max_length=100,
            aliases=("given name", "forename", "name", "first names", "fname", "christian name"),
            example="John",
        ),
        Field(
            "last_name",
            "lastName",
            required=True,
            max_length=100,
            aliases=("surname", "family name", "lname"),
            example="Doe",
        ),
        Field(
            "email",
            "email",
            "email",
            required=True,
            aliases=("e-mail", "email address", "mail", "e-mail address"),
            example="john@example.com",
        ),
        Field(
            "mobile_number",
            "mobileNumber",
            "phone",
            required=True,
            aliases=(*PHONE_ALIASES, "contact"),
            example="0821234567",
        ),
        Field(
            "specialisation",
            "specialisation",
            max_length=100,
            aliases=(
                "specialization",
                "speciality",
                "specialty",
                "trade",
                "skill",
                "skills",
                "expertise",
            ),
            example="Diesel engines",
        ),
        Field(
            "years_experience",
            "yearsExperience",
            "integer",
            min_value=0,
            max_value=70,
            aliases=("experience", "years of experience", "years", "yrs experience"),
            example="12",
        ),
        Field(
            "workshop_name",
            "workshopName",
            max_length=150,
            aliases=("workshop", "garage", "garage name", "company", "business", "employer"),
            example="Doe Motors",
        ),
        Field("city", "city", max_length=100, aliases=("town", "city/town"), example="Pretoria"),
        province_field(),
    ),
)
