"""Service providers: businesses that deliver services (towing, repairs, glass, ...)."""

from .base import EntitySchema, Field
from .provinces import province_field

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
SERVICE_TYPE_SYNONYMS = {
    "towing": ("tow", "tow truck", "towing service", "roadside recovery"),
    "panel beating": ("panel beater", "panel beaters", "body shop", "bodywork", "body repairs"),
    "mechanical": ("mechanic", "mechanical repairs", "repairs", "workshop"),
    "glass": ("windscreen", "windscreens", "windshield", "auto glass"),
    "assessor": ("assessors", "assessing", "loss adjuster"),
    "medical": ("doctor", "hospital", "clinic", "ambulance"),
    "legal": ("lawyer", "lawyers", "attorney", "attorneys", "legal services"),
    "funeral": ("undertaker", "funeral parlour", "funeral home"),
    "other": ("misc", "miscellaneous"),
}

SCHEMA = EntitySchema(
    name="service-providers",
    label="Service providers",
    table="service_providers",
    description="Service providers, keyed by e-mail address.",
    natural_key=("email",),
    searched=("name", "contact_person", "phone"),
    fields=(
        Field(
            "name",
            "name",
            required=True,
            max_length=200,
            aliases=(
                "provider name",
                "company",
                "company name",
                "business name",
                "trading name",
                "supplier name",
            ),
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
            aliases=(
                "reg number",
                "registration",
                "company registration",
                "company reg number",
                "cipc number",
            ),
            example="2015/123456/07",
        ),
        Field(
            "phone",
            "phone",
            "phone",
            aliases=(
                "phone number",
                "telephone",
                "tel",
                "mobile",
                "cell",
                "cellphone",
                "contact number",
                "office number",
                "landline",
            ),
            example="0115551234",
        ),
        Field(
            "contact_person",
            "contactPerson",
            max_length=150,
            aliases=("contact", "contact name", "representative"),
            example="Jane Smith",
        ),
        Field(
            "service_type",
            "serviceType",
            "enum",
            choices=SERVICE_TYPES,
            synonyms=SERVICE_TYPE_SYNONYMS,
            aliases=("service", "services", "type", "category", "service category"),
            example="towing",
        ),
        Field(
            "address",
            "address",
            max_length=300,
            aliases=("street address", "physical address"),
            example="1 Main Road",
        ),
        Field("city", "city", max_length=100, aliases=("town",), example="Johannesburg"),
        province_field(),
    ),
)
