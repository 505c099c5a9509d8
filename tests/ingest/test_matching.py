"""Header matching by meaning: real-world spellings per entity type, each with the field it
must find (or None) and whether the match may be used without asking anyone."""

import pytest

from bulkapp.entities import REGISTRY, get_entity
from bulkapp.entities.templates import csv_template
from bulkapp.ingest.errors import ImportFailed
from bulkapp.ingest.mapping import (
    MappingChoice,
    detect_entity,
    header_scorer,
    header_signature,
    map_headers,
    match_columns,
)
from bulkapp.ingest.matching import header_words
from bulkapp.ingest.readers import open_reader

CERTAIN, SUGGESTED = True, False
MECHANICS_SCHEMA = get_entity("mechanics")

MECHANICS = [
    ("firstName", "first_name", CERTAIN),
    ("First Name", "first_name", CERTAIN),
    ("FIRST_NAME", "first_name", CERTAIN),
    ("first-name", "first_name", CERTAIN),
    ("Forename", "first_name", CERTAIN),
    ("Given Name", "first_name", CERTAIN),
    ("Mechanic Name", "first_name", CERTAIN),
    ("Frist Name", "first_name", CERTAIN),
    ("First", "first_name", SUGGESTED),
    ("lastName", "last_name", CERTAIN),
    ("Surname", "last_name", CERTAIN),
    ("SURNAME", "last_name", CERTAIN),
    ("Family name", "last_name", CERTAIN),
    ("Surnmae", "last_name", CERTAIN),
    ("Last Nmae", "last_name", CERTAIN),
    ("E-mail", "email", CERTAIN),
    ("Email Address", "email", CERTAIN),
    ("e_mail_address", "email", CERTAIN),
    ("EMAIL", "email", CERTAIN),
    ("Emial", "email", CERTAIN),
    ("Mobile Number", "mobile_number", CERTAIN),
    ("mobileNumber", "mobile_number", CERTAIN),
    ("Cell Number", "mobile_number", CERTAIN),
    ("Cell No.", "mobile_number", CERTAIN),
    ("Cell #", "mobile_number", CERTAIN),
    ("Cellphone Nr", "mobile_number", CERTAIN),
    ("Cell Nmbr", "mobile_number", CERTAIN),
    ("Contact No", "mobile_number", CERTAIN),
    ("Phone", "mobile_number", CERTAIN),
    ("Tel", "mobile_number", CERTAIN),
    ("Mobile Phone", "mobile_number", CERTAIN),
    ("Specialisation", "specialisation", CERTAIN),
    ("Specialization", "specialisation", CERTAIN),
    ("Speciality", "specialisation", CERTAIN),
    ("Years of Experience", "years_experience", CERTAIN),
    ("Experience (years)", "years_experience", CERTAIN),
    ("yearsExperience", "years_experience", CERTAIN),
    ("Workshop", "workshop_name", CERTAIN),
    ("Garage Name", "workshop_name", CERTAIN),
    ("Workshop Name", "workshop_name", CERTAIN),
    ("City", "city", CERTAIN),
    ("Town", "city", CERTAIN),
    ("Province", "province", CERTAIN),
    ("Region", "province", CERTAIN),
    ("Provnce", "province", CERTAIN),
    ("Notes", None, SUGGESTED),
    ("Shoe size", None, SUGGESTED),
    ("Date Added", None, SUGGESTED),
    ("Naam", "first_name", CERTAIN),
    ("Voornaam", "first_name", CERTAIN),
    ("Voorname", "first_name", CERTAIN),
    ("Name", "first_name", CERTAIN),
    ("fname", "first_name", CERTAIN),
    ("Christian Name", "first_name", CERTAIN),
    ("First Names", "first_name", CERTAIN),
    ("name.first", "first_name", CERTAIN),
    ("Van", "last_name", CERTAIN),
    ("Familienaam", "last_name", CERTAIN),
    ("Last_Name", "last_name", CERTAIN),
    ("lname", "last_name", CERTAIN),
    ("name.last", "last_name", CERTAIN),
    ("Mechanic Surname", "last_name", CERTAIN),
    ("E-pos", "email", CERTAIN),
    ("Epos", "email", CERTAIN),
    ("E-posadres", "email", CERTAIN),
    ("E-pos Adres", "email", CERTAIN),
    ("Email Adress", "email", CERTAIN),
    ("Emial Address", "email", CERTAIN),
    ("Mail", "email", CERTAIN),
    ("contact.email", "email", CERTAIN),
    ("Work Email", "email", SUGGESTED),
    ("Employee First Name", "first_name", CERTAIN),
    ("Years in Trade", None, SUGGESTED),
    ("Selfoon", "mobile_number", CERTAIN),
    ("Selfoonnommer", "mobile_number", CERTAIN),
    ("Selfoon Nommer", "mobile_number", CERTAIN),
    ("Sel Nr", "mobile_number", CERTAIN),
    ("Telefoon", "mobile_number", CERTAIN),
    ("Telefoonnommer", "mobile_number", CERTAIN),
    ("Kontaknommer", "mobile_number", CERTAIN),
    ("Tel No", "mobile_number", CERTAIN),
    ("Tel.", "mobile_number", CERTAIN),
    ("Mob", "mobile_number", CERTAIN),
    ("Mob. No.", "mobile_number", CERTAIN),
    ("Ph No", "mobile_number", CERTAIN),
    ("Cellphone Number", "mobile_number", CERTAIN),
    ("WhatsApp", "mobile_number", CERTAIN),
    ("contact.phone", "mobile_number", CERTAIN),
    ("contact.mobile", "mobile_number", CERTAIN),
    ("Mechanic Cell", "mobile_number", CERTAIN),
    ("Skills", "specialisation", CERTAIN),
    ("Skill", "specialisation", CERTAIN),
    ("Trade", "specialisation", CERTAIN),
    ("Expertise", "specialisation", CERTAIN),
    ("Spesialisering", "specialisation", CERTAIN),
    ("Vaardighede", "specialisation", CERTAIN),
    ("Ambag", "specialisation", CERTAIN),
    ("Yrs", "years_experience", CERTAIN),
    ("Yrs Exp", "years_experience", CERTAIN),
    ("Yrs. Experience", "years_experience", CERTAIN),
    ("Years", "years_experience", CERTAIN),
    ("Experience", "years_experience", CERTAIN),
    ("Ervaring", "years_experience", CERTAIN),
    ("Jare Ervaring", "years_experience", CERTAIN),
    ("Years Exp.", "years_experience", CERTAIN),
    ("Garage", "workshop_name", CERTAIN),
    ("Company", "workshop_name", CERTAIN),
    ("Employer", "workshop_name", CERTAIN),
    ("Werkswinkel", "workshop_name", CERTAIN),
    ("Motorhawe", "workshop_name", CERTAIN),
    ("workshop.name", "workshop_name", CERTAIN),
    ("Stad", "city", CERTAIN),
    ("Dorp", "city", CERTAIN),
    ("Stad/Dorp", "city", CERTAIN),
    ("Town/City", "city", CERTAIN),
    ("workshop.city", "city", CERTAIN),
    ("workshop.address.city", "city", CERTAIN),
    ("Prov.", "province", CERTAIN),
    ("Prov", "province", CERTAIN),
    ("Provinsie", "province", CERTAIN),
    ("workshop.province", "province", CERTAIN),
    ("PROVINCE", "province", CERTAIN),
    ("Provence", "province", CERTAIN),
    ("workshop.address.street", None, SUGGESTED),
    ("ID Number", None, SUGGESTED),
    ("Rating", None, SUGGESTED),
    ("Comments", None, SUGGESTED),
]

MEMBERS = [
    ("firstName", "first_name", CERTAIN),
    ("First Names", "first_name", CERTAIN),
    ("Names", "first_name", CERTAIN),
    ("Member First Name", "first_name", CERTAIN),
    ("Voornaam", "first_name", CERTAIN),
    ("lastName", "last_name", CERTAIN),
    ("Surname", "last_name", CERTAIN),
    ("Member Surname", "last_name", CERTAIN),
    ("Last name", "last_name", CERTAIN),
    ("ID Number", "id_number", CERTAIN),
    ("ID No", "id_number", CERTAIN),
    ("ID #", "id_number", CERTAIN),
    ("Identity Number", "id_number", CERTAIN),
    ("RSA ID", "id_number", CERTAIN),
    ("SA ID Number", "id_number", CERTAIN),
    ("Member ID", "id_number", SUGGESTED),
    ("idNumber", "id_number", CERTAIN),
    ("Date of Birth", "date_of_birth", CERTAIN),
    ("DOB", "date_of_birth", CERTAIN),
    ("D.O.B.", "date_of_birth", CERTAIN),
    ("Birth Date", "date_of_birth", CERTAIN),
    ("Birthdate", "date_of_birth", CERTAIN),
    ("Gender", "gender", CERTAIN),
    ("Sex", "gender", CERTAIN),
    ("Email", "email", CERTAIN),
    ("E-mail Address", "email", CERTAIN),
    ("Cell Number", "mobile_number", CERTAIN),
    ("Cellphone", "mobile_number", CERTAIN),
    ("Cell Phone No", "mobile_number", CERTAIN),
    ("Mobile No.", "mobile_number", CERTAIN),
    ("Phone Number", "mobile_number", CERTAIN),
    ("Contact Number", "mobile_number", CERTAIN),
    ("Telephone", "mobile_number", CERTAIN),
    ("WhatsApp Number", "mobile_number", CERTAIN),
    ("Home Phone", "mobile_number", SUGGESTED),
    ("Address", "address", CERTAIN),
    ("Residential Address", "address", CERTAIN),
    ("Physical Address", "address", CERTAIN),
    ("Postal Address", "address", SUGGESTED),
    ("Ward", "ward", CERTAIN),
    ("Ward No", "ward", CERTAIN),
    ("Ward Number", "ward", CERTAIN),
    ("Municipality", "municipality", CERTAIN),
    ("Local Municipality", "municipality", CERTAIN),
    ("Municipalty", "municipality", CERTAIN),
    ("Province", "province", CERTAIN),
    ("Membership Date", None, SUGGESTED),
    ("Branch", None, SUGGESTED),
    ("Naam", "first_name", CERTAIN),
    ("Voorname", "first_name", CERTAIN),
    ("Given Name", "first_name", CERTAIN),
    ("Forename", "first_name", CERTAIN),
    ("name.first", "first_name", CERTAIN),
    ("Van", "last_name", CERTAIN),
    ("Familienaam", "last_name", CERTAIN),
    ("Family Name", "last_name", CERTAIN),
    ("Surnmae", "last_name", CERTAIN),
    ("ID-nommer", "id_number", CERTAIN),
    ("ID Nommer", "id_number", CERTAIN),
    ("ID nr", "id_number", CERTAIN),
    ("Identiteitsnommer", "id_number", CERTAIN),
    ("ID-Number", "id_number", CERTAIN),
    ("National ID", "id_number", CERTAIN),
    ("ID Document", "id_number", CERTAIN),
    ("Member ID Number", "id_number", SUGGESTED),
    ("Geboortedatum", "date_of_birth", CERTAIN),
    ("Geboorte Datum", "date_of_birth", CERTAIN),
    ("Geb. Datum", "date_of_birth", CERTAIN),
    ("Birthday", "date_of_birth", CERTAIN),
    ("Date Born", "date_of_birth", CERTAIN),
    ("DOB.", "date_of_birth", CERTAIN),
    ("Date of Brith", "date_of_birth", CERTAIN),
    ("Geslag", "gender", CERTAIN),
    ("GENDER", "gender", CERTAIN),
    ("Sex (M/F)", "gender", CERTAIN),
    ("E-pos", "email", CERTAIN),
    ("E-posadres", "email", CERTAIN),
    ("Emial", "email", CERTAIN),
    ("Email Addr.", "email", CERTAIN),
    ("Selfoon", "mobile_number", CERTAIN),
    ("Selfoonnommer", "mobile_number", CERTAIN),
    ("Telefoon", "mobile_number", CERTAIN),
    ("Tel", "mobile_number", CERTAIN),
    ("Tel No.", "mobile_number", CERTAIN),
    ("Cell", "mobile_number", CERTAIN),
    ("Mobile", "mobile_number", CERTAIN),
    ("Mob No", "mobile_number", CERTAIN),
    ("Adres", "address", CERTAIN),
    ("Addr.", "address", CERTAIN),
    ("Addr", "address", CERTAIN),
    ("Res. Address", "address", CERTAIN),
    ("Res Addr", "address", CERTAIN),
    ("Home Address", "address", CERTAIN),
    ("Woonadres", "address", CERTAIN),
    ("Straatadres", "address", CERTAIN),
    ("Fisiese Adres", "address", CERTAIN),
    ("Street Address", "address", CERTAIN),
    ("Adress", "address", CERTAIN),
    ("Wyk", "ward", CERTAIN),
    ("Wyknommer", "ward", CERTAIN),
    ("Ward #", "ward", CERTAIN),
    ("Munisipaliteit", "municipality", CERTAIN),
    ("Plaaslike Munisipaliteit", "municipality", CERTAIN),
    ("Metro", "municipality", CERTAIN),
    ("Muni", "municipality", CERTAIN),
    ("Prov.", "province", CERTAIN),
    ("Provinsie", "province", CERTAIN),
    ("Region", "province", CERTAIN),
    ("Prov", "province", CERTAIN),
    ("Provice", "province", CERTAIN),
    ("Age", None, SUGGESTED),
    ("Occupation", None, SUGGESTED),
    ("Beroep", None, SUGGESTED),
]

POLICIES = [
    ("policyNumber", "policy_number", CERTAIN),
    ("Policy Number", "policy_number", CERTAIN),
    ("Policy No", "policy_number", CERTAIN),
    ("Policy #", "policy_number", CERTAIN),
    ("POLICY_NO", "policy_number", CERTAIN),
    ("Policy Nr.", "policy_number", CERTAIN),
    ("Policy Ref", "policy_number", CERTAIN),
    ("Polcy Number", "policy_number", CERTAIN),
    ("type", "type", CERTAIN),
    ("Policy Type", "type", CERTAIN),
    ("Product", "type", CERTAIN),
    ("Cover Type", "type", CERTAIN),
    ("holderName", "holder_name", CERTAIN),
    ("Policy Holder", "holder_name", CERTAIN),
    ("Policyholder Name", "holder_name", CERTAIN),
    ("Insured Name", "holder_name", CERTAIN),
    ("Client Name", "holder_name", CERTAIN),
    ("Main Member", "holder_name", CERTAIN),
    ("Holder ID Number", "holder_id_number", CERTAIN),
    ("holderIdNumber", "holder_id_number", CERTAIN),
    ("ID Number", "holder_id_number", CERTAIN),
    ("Holder ID", "holder_id_number", CERTAIN),
    ("ID", "holder_id_number", SUGGESTED),
    ("Client ID No", "holder_id_number", CERTAIN),
    ("Email", "holder_email", CERTAIN),
    ("Holder Email", "holder_email", CERTAIN),
    ("E-mail Address", "holder_email", CERTAIN),
    ("Start Date", "start_date", CERTAIN),
    ("Inception Date", "start_date", CERTAIN),
    ("Commencement Date", "start_date", CERTAIN),
    ("startDate", "start_date", CERTAIN),
    ("End Date", "end_date", CERTAIN),
    ("Expiry Date", "end_date", CERTAIN),
    ("Expiry", "end_date", CERTAIN),
    ("Premium", "premium", CERTAIN),
    ("Monthly Premium", "premium", CERTAIN),
    ("Premium Amount (R)", "premium", CERTAIN),
    ("Premuim", "premium", CERTAIN),
    ("Premium Amt", "premium", CERTAIN),
    ("Sum Insured", "sum_insured", CERTAIN),
    ("sumInsured", "sum_insured", CERTAIN),
    ("Cover Amount", "sum_insured", CERTAIN),
    ("Sum Assured", "sum_insured", CERTAIN),
    ("Status", "status", CERTAIN),
    ("Policy Status", "status", CERTAIN),
    ("Broker", None, SUGGESTED),
    ("Branch Code", None, SUGGESTED),
    ("Notes", None, SUGGESTED),
    ("Polisnommer", "policy_number", CERTAIN),
    ("Polis Nommer", "policy_number", CERTAIN),
    ("Polis Nr", "policy_number", CERTAIN),
    ("Polis", "policy_number", CERTAIN),
    ("Pol No", "policy_number", CERTAIN),
    ("Pol. No.", "policy_number", CERTAIN),
    ("Policy Reference", "policy_number", CERTAIN),
    ("Policy ID", "policy_number", CERTAIN),
    ("Tipe", "type", CERTAIN),
    ("Polistipe", "type", CERTAIN),
    ("Produk", "type", CERTAIN),
    ("Product Type", "type", CERTAIN),
    ("Plan", "type", CERTAIN),
    ("Naam", "holder_name", CERTAIN),
    ("Name", "holder_name", CERTAIN),
    ("Full Name", "holder_name", CERTAIN),
    ("Volle Naam", "holder_name", CERTAIN),
    ("Polishouer", "holder_name", CERTAIN),
    ("Houer", "holder_name", CERTAIN),
    ("Versekerde", "holder_name", CERTAIN),
    ("Insured", "holder_name", CERTAIN),
    ("Policyholder", "holder_name", CERTAIN),
    ("Customer Name", "holder_name", CERTAIN),
    ("ID-nommer", "holder_id_number", CERTAIN),
    ("ID Nommer", "holder_id_number", CERTAIN),
    ("Client ID", "holder_id_number", CERTAIN),
    ("E-pos", "holder_email", CERTAIN),
    ("E-posadres", "holder_email", CERTAIN),
    ("Holder E-mail", "holder_email", CERTAIN),
    ("Begindatum", "start_date", CERTAIN),
    ("Aanvangsdatum", "start_date", CERTAIN),
    ("Inception", "start_date", CERTAIN),
    ("Effective Date", "start_date", CERTAIN),
    ("Start Dt", "start_date", CERTAIN),
    ("Start", "start_date", CERTAIN),
    ("Einddatum", "end_date", CERTAIN),
    ("Vervaldatum", "end_date", CERTAIN),
    ("Exp. Date", "end_date", CERTAIN),
    ("End Dt", "end_date", CERTAIN),
    ("End", "end_date", CERTAIN),
    ("Premie", "premium", CERTAIN),
    ("Maandelikse Premie", "premium", CERTAIN),
    ("Prem.", "premium", CERTAIN),
    ("Premium (R)", "premium", CERTAIN),
    ("Premium ZAR", "premium", CERTAIN),
    ("Premie (R)", "premium", CERTAIN),
    ("Instalment", "premium", CERTAIN),
    ("Monthly Premium (R)", "premium", CERTAIN),
    ("Versekerde Bedrag", "sum_insured", CERTAIN),
    ("Dekking", "sum_insured", CERTAIN),
    ("Dekkingsbedrag", "sum_insured", CERTAIN),
    ("Sum Insured (R)", "sum_insured", CERTAIN),
    ("Cover", "sum_insured", CERTAIN),
    ("Insured Amount", "sum_insured", CERTAIN),
    ("Cover Amt", "sum_insured", CERTAIN),
    ("Coverage", "sum_insured", CERTAIN),
    ("Client", "holder_name", CERTAIN),
    ("Product Name", "type", SUGGESTED),
    ("Premium (incl. VAT)", "premium", SUGGESTED),
    ("Stand", "status", CERTAIN),
    ("Polisstatus", "status", CERTAIN),
    ("STATUS", "status", CERTAIN),
    ("Statsu", "status", CERTAIN),
    ("Makelaar", None, SUGGESTED),
    ("Agent", None, SUGGESTED),
]

SERVICE_PROVIDERS = [
    ("name", "name", CERTAIN),
    ("Name", "name", CERTAIN),
    ("Provider Name", "name", CERTAIN),
    ("Company Name", "name", CERTAIN),
    ("Business Name", "name", CERTAIN),
    ("Trading Name", "name", CERTAIN),
    ("Supplier Name", "name", CERTAIN),
    ("Company", "name", CERTAIN),
    ("Email", "email", CERTAIN),
    ("E-mail", "email", CERTAIN),
    ("Email Address", "email", CERTAIN),
    ("emailAddress", "email", CERTAIN),
    ("Registration Number", "registration_number", CERTAIN),
    ("Reg No", "registration_number", CERTAIN),
    ("Reg. Number", "registration_number", CERTAIN),
    ("Company Registration", "registration_number", CERTAIN),
    ("Company Reg No", "registration_number", CERTAIN),
    ("CIPC Number", "registration_number", CERTAIN),
    ("registrationNumber", "registration_number", CERTAIN),
    ("Phone", "phone", CERTAIN),
    ("Phone Number", "phone", CERTAIN),
    ("Tel No", "phone", CERTAIN),
    ("Telephone", "phone", CERTAIN),
    ("Contact Number", "phone", CERTAIN),
    ("Cell Number", "phone", CERTAIN),
    ("Office Number", "phone", CERTAIN),
    ("Contact Person", "contact_person", CERTAIN),
    ("contactPerson", "contact_person", CERTAIN),
    ("Contact Name", "contact_person", CERTAIN),
    ("Contact", "contact_person", CERTAIN),
    ("Representative", "contact_person", CERTAIN),
    ("Service Type", "service_type", CERTAIN),
    ("serviceType", "service_type", CERTAIN),
    ("Service", "service_type", CERTAIN),
    ("Services", "service_type", CERTAIN),
    ("Category", "service_type", CERTAIN),
    ("Address", "address", CERTAIN),
    ("Street Address", "address", CERTAIN),
    ("Physical Address", "address", CERTAIN),
    ("City", "city", CERTAIN),
    ("Town", "city", CERTAIN),
    ("Province", "province", CERTAIN),
    ("Region", "province", CERTAIN),
    ("VAT Number", None, SUGGESTED),
    ("Website", None, SUGGESTED),
    ("Rating", None, SUGGESTED),
    ("Naam", "name", CERTAIN),
    ("Supplier", "name", CERTAIN),
    ("Service Provider", "name", CERTAIN),
    ("Tel (Office)", "phone", SUGGESTED),
    ("Maatskappy", "name", CERTAIN),
    ("Besigheidsnaam", "name", CERTAIN),
    ("Handelsnaam", "name", CERTAIN),
    ("Verskaffer", "name", CERTAIN),
    ("Company name", "name", CERTAIN),
    ("E-pos", "email", CERTAIN),
    ("E-posadres", "email", CERTAIN),
    ("Emial", "email", CERTAIN),
    ("E-mail Address", "email", CERTAIN),
    ("Registrasienommer", "registration_number", CERTAIN),
    ("Reg Nr", "registration_number", CERTAIN),
    ("Registrasie", "registration_number", CERTAIN),
    ("CIPC", "registration_number", CERTAIN),
    ("Co Reg No", "registration_number", CERTAIN),
    ("Company Reg. No.", "registration_number", CERTAIN),
    ("Telefoon", "phone", CERTAIN),
    ("Telefoonnommer", "phone", CERTAIN),
    ("Tel", "phone", CERTAIN),
    ("Tel.", "phone", CERTAIN),
    ("Selfoon", "phone", CERTAIN),
    ("Kontaknommer", "phone", CERTAIN),
    ("Landline", "phone", CERTAIN),
    ("Cellphone", "phone", CERTAIN),
    ("Mobile", "phone", CERTAIN),
    ("Ph", "phone", CERTAIN),
    ("contact.phone", "phone", CERTAIN),
    ("Kontakpersoon", "contact_person", CERTAIN),
    ("Kontak", "contact_person", CERTAIN),
    ("Contact person name", "contact_person", CERTAIN),
    ("Diens", "service_type", CERTAIN),
    ("Dienste", "service_type", CERTAIN),
    ("Dienstipe", "service_type", CERTAIN),
    ("Kategorie", "service_type", CERTAIN),
    ("Type", "service_type", CERTAIN),
    ("Cat.", "service_type", CERTAIN),
    ("Service Category", "service_type", CERTAIN),
    ("Adres", "address", CERTAIN),
    ("Addr.", "address", CERTAIN),
    ("Straatadres", "address", CERTAIN),
    ("Fisiese Adres", "address", CERTAIN),
    ("Physical Addr", "address", CERTAIN),
    ("Stad", "city", CERTAIN),
    ("Dorp", "city", CERTAIN),
    ("City/Town", "city", CERTAIN),
    ("address.city", "city", CERTAIN),
    ("Prov.", "province", CERTAIN),
    ("Provinsie", "province", CERTAIN),
    ("Street", "address", SUGGESTED),
    ("address.province", "province", CERTAIN),
    ("B-BBEE Level", None, SUGGESTED),
    ("Hours", None, SUGGESTED),
]

TABLES = {
    "mechanics": MECHANICS,
    "members": MEMBERS,
    "policies": POLICIES,
    "service-providers": SERVICE_PROVIDERS,
}
CASES = [(entity, *case) for entity, table in TABLES.items() for case in table]


def test_every_entity_type_has_eighty_real_world_spellings():
    assert {entity: len(table) >= 80 for entity, table in TABLES.items()} == dict.fromkeys(
        TABLES, True
    )


@pytest.mark.parametrize(("entity", "header", "field", "certain"), CASES)
def test_a_header_alone_finds_its_field(entity, header, field, certain):
    [match] = match_columns(get_entity(entity), [header])
    assert (match.field, match.certain) == (field, certain and field is not None)
    assert match.certain == (match.confidence >= 0.85 and field is not None and certain)


@pytest.mark.parametrize(
    ("header", "words"),
    [
        ("Cell_No.", ("cell", "number")),
        ("mobileNumber", ("mobile", "number")),
        ("IDNumber", ("id", "number")),
        ("Policy #", ("policy", "number")),
        ("Ward Nr", ("ward", "number")),
        ("E-mail", ("email",)),
        ("D.O.B.", ("dob",)),
        ("Província", ("provincia",)),
        ("  Years of   Experience ", ("years", "of", "experience")),
        ("Prov.", ("province",)),
        ("Res. Addr.", ("residential", "address")),
        ("Yrs Exp", ("years", "exp")),
        ("ID-nommer", ("id", "number")),
        ("Sex (M/F)", ("sex",)),
        ("Premium (R)", ("premium", "r")),
        ("workshop.city", ("workshop", "city")),
    ],
)
def test_headers_split_into_folded_words(header, words):
    assert header_words(header) == words


def test_a_header_close_to_two_fields_is_never_certain():
    [match] = match_columns(get_entity("policies"), ["Date"])
    assert not match.certain
    assert {match.field, *(name for name, _ in match.alternatives)} >= {"start_date", "end_date"}


def test_a_weak_resemblance_is_no_field_but_is_offered_as_an_alternative():
    [match] = match_columns(get_entity("policies"), ["Notes on the policy"])
    assert (match.field, match.confidence, match.certain) == (None, 0.0, False)
    assert [name for name, _ in match.alternatives] == ["policy_number"]


def test_two_columns_equally_sure_of_one_field_are_refused_naming_both():
    headers = ["Name", "Surname", "Email", "Cell", "Mobile"]
    assert [m.certain for m in match_columns(MECHANICS_SCHEMA, headers)][3:] == [False, False]
    with pytest.raises(ImportFailed, match=r"'Cell' and 'Mobile' are all mobileNumber"):
        map_headers(MECHANICS_SCHEMA, headers)


def test_a_clear_leader_keeps_the_field_and_its_weaker_rival_is_reported():
    headers = ["Name", "Surname", "Email", "Home Phone", "Cell"]
    mapping = map_headers(MECHANICS_SCHEMA, headers)
    assert mapping.positions["mobile_number"] == 4
    assert mapping.warnings == [
        "'Home Phone' might be mobileNumber (63 %), but 'Cell' is mobileNumber: not imported."
    ]


def test_missing_required_columns_suggest_the_uncertain_columns_that_might_be_them():
    with pytest.raises(ImportFailed) as failure:
        map_headers(MECHANICS_SCHEMA, ["Name", "Surname", "Emails", "Cell"])
    assert "Missing required column(s): email." in str(failure.value)
    assert "'Emails' might be email (83 %)" in str(failure.value)


@pytest.mark.parametrize("entity", sorted(REGISTRY))
def test_a_template_is_detected_as_its_own_type_with_every_column_matching(entity):
    headers = csv_template(get_entity(entity)).decode("utf-8-sig").splitlines()[0].split(",")
    best = detect_entity(headers)[0]
    assert (best.name, best.matched, best.total) == (entity, len(headers), len(headers))


def test_mechanics_uploaded_as_members_names_the_better_type():
    headers = ["First Name", "Surname", "E-mail", "Cell Number", "Trade", "Garage", "Town", "X"]
    assert detect_entity(headers)[0].describe() == "mechanics: 7 of 8 columns match"
    with pytest.raises(ImportFailed) as failure:
        map_headers(get_entity("members"), headers)
    assert "Missing required column(s): idNumber." in str(failure.value)
    assert "This file looks like mechanics: 7 of 8 columns match" in str(failure.value)


def test_the_header_signature_ignores_order_case_spacing_and_empty_columns():
    signature = header_signature(["First Name", "Cell Number", None])
    assert header_signature(["cell_number", "FIRST  NAME", ""]) == signature
    assert header_signature(["First Name", "Cell"]) != signature


def test_a_choice_is_matched_to_headers_however_they_are_typed():
    choice = MappingChoice(columns={"Naam": "first_name", "VAN": "last_name"})
    mapping = map_headers(MECHANICS_SCHEMA, ["naam", "van", "Email", "Cell"], choice)
    assert mapping.positions == {"first_name": 0, "last_name": 1, "email": 2, "mobile_number": 3}


def test_a_choice_overrides_a_certain_match_and_ignores_columns():
    choice = MappingChoice(columns={"Cell": None, "Work Phone": "mobile_number"})
    mapping = map_headers(
        MECHANICS_SCHEMA, ["Name", "Surname", "Email", "Cell", "Work Phone"], choice
    )
    assert mapping.positions["mobile_number"] == 4
    assert mapping.warnings == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "must be an object"),
        ({"columns": {}}, '"columns" must be an object'),
        ({"columns": {"A": "shoeSize"}}, "'shoeSize' is not a field of mechanics"),
        ({"columns": {"A": "email", "B": "email"}}, "'A' and 'B' are both mapped to email"),
        ({"columns": {"A": "email"}, "extra": 1}, "Unknown mapping keys: extra"),
        ({"columns": {"Cell No": "email", "cell-no": None}}, "'Cell No' and 'cell-no' are one"),
        ({"columns": {"A": "email"}, "values": {"city": {"x": "y"}}}, "no list of accepted"),
        (
            {"columns": {"A": "email"}, "values": {"province": {"x": "Atlantis"}}},
            "'Atlantis' is not one of: Eastern Cape",
        ),
    ],
)
def test_a_bad_choice_is_refused_with_a_message(data, message):
    with pytest.raises(ValueError, match=message):
        MappingChoice.from_json(data, MECHANICS_SCHEMA)


def test_the_header_row_below_title_rows_is_found_by_meaning(tmp_path):
    path = tmp_path / "members.csv"
    path.write_text(
        "Members export,,,\nPrinted 3 Dec,,,\nFirst Names,Van,ID No,Cell Number\n"
        "Thandi,Nkosi,8001015009087,0821234567\n"
    )
    members = get_entity("members")
    reader = open_reader(path, "members.csv", header_score=header_scorer(members))
    assert reader.headers == ["First Names", "Van", "ID No", "Cell Number"]
