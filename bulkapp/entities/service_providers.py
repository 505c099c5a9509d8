"""Service providers: businesses that deliver services (towing, repairs, glass, ...)."""

from .base import EntitySchema, Field
from .provinces import SA_PROVINCES

SERVICE_TYPES = (
    "towing",
    "panel beating",
    "mechanical",
    "glass",
    "assessor",
    "medical",
    "legal",
    "funeral",
    "other",
)

SCHEMA = EntitySchema(
    name="service-providers",
    label="Service providers",
    table="service_providers",
    description="Service providers, keyed by e-mail address.",
    natural_key=("email",),
    fields=(
        Field(
            "name",
            "name",
            required=True,
            max_length=200,
            aliases=("provider name", "company", "company name", "business name"),
            example="Acme Towing",
        ),
        Field(
            "email",
            "email",
            "email",
            required=True,
            aliases=("e-mail", "email address", "mail"),
            example="info@acmetowing.co.za",
        ),
        Field(
            "registration_number",
            "registrationNumber",
            max_length=50,
            aliases=("reg number", "registration no", "company registration"),
            example="2015/123456/07",
        ),
        Field(
            "phone",
            "phone",
            "phone",
            aliases=("phone number", "telephone", "tel", "mobile", "contact number"),
            example="0115551234",
        ),
        Field(
            "contact_person",
            "contactPerson",
            max_length=150,
            aliases=("contact", "contact name"),
            example="Jane Smith",
        ),
        Field(
            "service_type",
            "serviceType",
            "enum",
            choices=SERVICE_TYPES,
            aliases=("service", "type", "category"),
            example="towing",
        ),
        Field(
            "address", "address", max_length=300, aliases=("street address",), example="1 Main Road"
        ),
        Field("city", "city", max_length=100, aliases=("town",), example="Johannesburg"),
        Field("province", "province", "enum", choices=SA_PROVINCES, example="Gauteng"),
    ),
)
