"""Insurance policies, keyed by policy number."""

from .base import EntitySchema, Field, RowRule

POLICY_TYPES = ("motor", "home", "life", "health", "funeral", "business", "travel")
POLICY_STATUSES = ("active", "pending", "lapsed", "cancelled")
POLICY_TYPE_SYNONYMS = {
    "motor": ("auto", "car", "vehicle", "motor vehicle", "automobile"),
    "home": ("house", "household", "homeowners", "buildings", "contents", "property"),
    "life": ("life cover", "life assurance", "life insurance"),
    "health": ("medical", "medical aid", "hospital", "hospital plan", "gap cover"),
    "funeral": ("burial", "funeral cover", "funeral plan"),
    "business": ("commercial", "company", "sme"),
    "travel": ("travel insurance",),
}
POLICY_STATUS_SYNONYMS = {
    "active": ("in force", "current", "live"),
    "pending": ("awaiting", "waiting"),
    "lapsed": ("expired", "lapse"),
    "cancelled": ("canceled", "cancel", "terminated", "void"),
}


def _ends_before_start(frame):
    """True where both dates are present and the end is not after the start."""
    both = frame["start_date"].notna() & frame["end_date"].notna()
    return both & (frame["end_date"] <= frame["start_date"])


SCHEMA = EntitySchema(
    name="policies",
    label="Policies",
    table="policies",
    description="Insurance policies, keyed by policy number.",
    natural_key=("policy_number",),
    searched=("holder_name", "holder_email"),
    fields=(
        Field(
            "policy_number",
            "policyNumber",
            required=True,
            max_length=50,
            aliases=(
                "policy no",
                "policy",
                "policy id",
                "number",
                "policy reference",
                "policy ref",
            ),
            example="POL-000123",
        ),
        Field(
            "type",
            "type",
            "enum",
            required=True,
            choices=POLICY_TYPES,
            synonyms=POLICY_TYPE_SYNONYMS,
            aliases=("policy type", "product", "product type", "cover type", "plan"),
            example="motor",
        ),
        Field(
            "holder_name",
            "holderName",
            max_length=200,
            aliases=(
                "policy holder",
                "policyholder",
                "policyholder name",
                "holder",
                "insured",
                "insured name",
                "client name",
                "customer name",
                "main member",
            ),
            example="John Doe",
        ),
        Field(
            "holder_id_number",
            "holderIdNumber",
            max_length=20,
            aliases=("holder id", "id number", "client id"),
            example="8001015009087",
        ),
        Field(
            "holder_email",
            "holderEmail",
            "email",
            aliases=("email", "holder e-mail", "e-mail", "email address"),
            example="john@example.com",
        ),
        Field(
            "start_date",
            "startDate",
            "date",
            aliases=(
                "start",
                "inception date",
                "inception",
                "from",
                "commencement date",
                "effective date",
            ),
            example="2026-01-01",
        ),
        Field(
            "end_date",
            "endDate",
            "date",
            aliases=("end", "expiry date", "expiry", "to"),
            example="2026-12-31",
        ),
        Field(
            "premium",
            "premium",
            "decimal",
            min_value=0,
            aliases=("monthly premium", "premium amount", "instalment"),
            example="450.00",
        ),
        Field(
            "sum_insured",
            "sumInsured",
            "decimal",
            min_value=0,
            aliases=(
                "cover",
                "cover amount",
                "insured amount",
                "sum assured",
                "insured value",
            ),
            example="250000",
        ),
        Field(
            "status",
            "status",
            "enum",
            choices=POLICY_STATUSES,
            synonyms=POLICY_STATUS_SYNONYMS,
            aliases=("policy status", "state"),
            example="active",
        ),
    ),
    rules=(RowRule("end_date", "End date must be after the start date.", _ends_before_start),),
)
