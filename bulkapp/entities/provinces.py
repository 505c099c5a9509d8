"""Fields and value lists that several entity types share (not an entity: no SCHEMA)."""

from .base import Field

SA_PROVINCES = (
    "Eastern Cape",
    "Free State",
    "Gauteng",
    "KwaZulu-Natal",
    "Limpopo",
    "Mpumalanga",
    "North West",
    "Northern Cape",
    "Western Cape",
)

# The official codes, former names and the Afrikaans names people write for a province.
PROVINCE_SYNONYMS = {
    "Eastern Cape": ("EC", "Oos-Kaap"),
    "Free State": ("FS", "Vrystaat", "Orange Free State", "OFS"),
    "Gauteng": ("GP", "GT", "GAU"),
    "KwaZulu-Natal": ("KZN", "NL", "Natal"),
    "Limpopo": ("LP", "LIM", "Northern Province"),
    "Mpumalanga": ("MP",),
    "North West": ("NW", "Noordwes"),
    "Northern Cape": ("NC", "Noord-Kaap"),
    "Western Cape": ("WC", "Wes-Kaap"),
}


# What people call a mobile number column ("contact" alone is left to each type).
PHONE_ALIASES = (
    "mobile",
    "cell",
    "cellphone",
    "cell number",
    "cellphone number",
    "mobile phone",
    "phone",
    "phone number",
    "telephone",
    "tel",
    "contact number",
    "whatsapp",
)


def province_field() -> Field:
    """The province of a South African address, by name, code or former name."""
    return Field(
        "province",
        "province",
        "enum",
        choices=SA_PROVINCES,
        synonyms=PROVINCE_SYNONYMS,
        aliases=("region",),
        example="Gauteng",
    )
