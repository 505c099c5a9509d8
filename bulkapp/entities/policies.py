"""Insurance policies, keyed by policy number."""

from .base import EntitySchema, Field, RowRule

POLICY_TYPES = ("motor", "home", "life", "health", "funeral", "business", "travel")
POLICY_STATUSES = ("active", "pending", "lapsed", "cancelled")


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
    fields=(
        Field(
            "policy_number",
            "policyNumber",
            required=True,
            max_length=50,
            aliases=("policy no", "policy", "policy id", "number"),
            example="POL-000123",
        ),
        Field(
            "type",
            "type",
            "enum",
            required=True,
            choices=POLICY_TYPES,
            aliases=("policy type", "product"),
            example="motor",
        ),
        Field(
            "holder_name",
            "holderName",
            max_length=200,
            aliases=("policy holder", "policyholder", "holder", "insured"),
            example="John Doe",
        ),
        Field(
            "holder_id_number",
            "holderIdNumber",
            max_length=20,
            aliases=("holder id", "id number"),
            example="8001015009087",
        ),
        Field(
            "holder_email",
            "holderEmail",
            "email",
            aliases=("email", "holder e-mail"),
            example="john@example.com",
        ),
        Field(
            "start_date",
            "startDate",
            "date",
            aliases=("start", "inception date", "from"),
            example="2026-01-01",
        ),
        Field(
            "end_date",
            "endDate",
            "date",
            aliases=("end", "expiry date", "to"),
            example="2026-12-31",
        ),
        Field(
            "premium",
            "premium",
            "decimal",
            min_value=0,
            aliases=("monthly premium", "premium amount"),
            example="450.00",
        ),
        Field(
            "sum_insured",
            "sumInsured",
            "decimal",
            min_value=0,
            aliases=("cover", "cover amount", "insured amount"),
            example="250000",
        ),
        Field(
            "status",
            "status",
            "enum",
            choices=POLICY_STATUSES,
            aliases=("policy status",),
            example="active",
        ),
    ),
    rules=(RowRule("end_date", "End date must be after the start date.", _ends_before_start),),
)
