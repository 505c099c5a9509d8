"""Shared value lists (not an entity: it declares no SCHEMA)."""

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
