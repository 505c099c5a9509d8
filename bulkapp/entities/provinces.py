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


# What people call a mobile number column ("contact" alone is left to each type), in English
# and Afrikaans.
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
    # Afrikaans
    "selfoon",
    "selfoonnommer",
    "sel",
    "selnommer",
    "telefoon",
    "telefoonnommer",
    "foon",
    "foonnommer",
    "kontaknommer",
)
# What people call an address column, in English and Afrikaans.
ADDRESS_ALIASES = (
    "street address",
    "physical address",
    "adres",
    "straatadres",
    "fisiese adres",
)
# ... a city or town column.
CITY_ALIASES = ("town", "city/town", "stad", "dorp", "stad/dorp", "dorp/stad")
# ... a first name and a last name column (Afrikaans: naam, voorname, van).
FIRST_NAME_ALIASES = ("given name", "forename", "name", "first names", "fname", "naam")
AFRIKAANS_FIRST_NAME = ("voornaam", "voorname")
LAST_NAME_ALIASES = ("surname", "family name", "lname", "van", "familienaam")
# ... an e-mail column (Afrikaans: e-pos).
EMAIL_ALIASES = (
    "e-mail",
    "email address",
    "mail",
    "e-mail address",
    "e-pos",
    "e-posadres",
    "e-pos adres",
)


def province_field() -> Field:
    """The province of a South African address, by name, code or former name."""
    return Field(
        "province",
        "province",
        "enum",
        choices=SA_PROVINCES,
        synonyms=PROVINCE_SYNONYMS,
        aliases=("region", "provinsie"),
        example="Gauteng",
    )
