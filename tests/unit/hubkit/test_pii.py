"""Tests of hubkit.pii: every vector of docs/platforms.md §1.4/§1.5/§2.5/§2B.6/§3 and of the
"Match quality" issue's phone table, then edge cases."""

from __future__ import annotations

import base64
import hashlib
import unicodedata
from datetime import date, timedelta

import pytest

from hubkit import pii
from hubkit.errors import FieldError
from hubkit.pii import (
    SUPPORTED_FIELDS,
    ErrorCode,
    PiiError,
    PiiField,
    hash_field,
    hash_for_all,
    hash_user_data,
    is_sha256_hex,
    normalize,
)
from hubkit.vocabulary import DIRECT_PLATFORMS, Platform

META, GOOGLE, TIKTOK = Platform.META, Platform.GOOGLE, Platform.TIKTOK
EMAIL, PHONE = PiiField.EMAIL, PiiField.PHONE
FIRST, LAST = PiiField.FIRST_NAME, PiiField.LAST_NAME


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def error_of(
    platform: Platform, field: PiiField, value: str, region: str | None = None
) -> FieldError:
    with pytest.raises(PiiError) as info:
        hash_field(platform, field, value, region=region)
    return info.value.error


# --- Literal hashes given by the contract -----------------------------------------------------

# (platform, field, raw input, region, literal SHA-256 from the contract). Where the contract's
# raw input cannot produce its output with our rules, the input is adapted and the reason noted.
LITERAL_VECTORS = [
    # §1.4 Meta doc examples
    (
        META,
        EMAIL,
        "john_smith@gmail.com",
        None,
        "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f",
    ),
    # the doc's raw "(650)555-1212" has no country code: read in the US it gives the doc's hash
    (
        META,
        PHONE,
        "(650)555-1212",
        "US",
        "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176",
    ),
    (
        META,
        PHONE,
        "+1 (650) 555-1212",
        None,
        "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176",
    ),
    (
        META,
        FIRST,
        "Mary",
        None,
        "6915771be1c5aa0c886870b6951b03d7eafc121fea0e80a5ea83beb7c449f4ec",
    ),
    (META, FIRST, "정", None, "8fa8cd9c440be61d0151429310034083132b35975c4bea67fdd74158eb51db14"),
    (
        META,
        FIRST,
        "Valéry",
        None,
        "08e1996b5dd49e62a4b4c010d44e4345592a863bb9f8e3976219bac29417149c",
    ),
    (
        META,
        PiiField.DATE_OF_BIRTH,
        "2/16/1997",
        None,
        "01acdbf6ec7b4f478a225f1a246e5d6767eeab1a7ffa17f025265b5b94f40f0c",
    ),
    (
        META,
        PiiField.GENDER,
        "m",
        None,
        "62c66a7a5dd70c3146618063c344e531e6d4b59e379808443ce962b3abd63c5a",
    ),
    (
        META,
        PiiField.GENDER,
        "f",
        None,
        "252f10c83610ebca1a059c0bae8255eba2f95be4d1d7bcfa89d7248a82d9f111",
    ),
    # doc raw "United States" -> "us" is not reproduced (SDK rule: names are an error, see below)
    (
        META,
        PiiField.COUNTRY,
        "US",
        None,
        "79adb2a2fce5c6ba215fe5f27f532d4e7edbac4b6a5e09e1ef3a08084a904621",
    ),
    # §1.5 extra vectors (SHA-256 of already-normalised values)
    (
        META,
        EMAIL,
        "joe@eg.com",
        None,
        "8830eedd6c6b5ea97d181563a349476ca1bb25ace1f94b5c5e48d9cad727941b",
    ),
    # "12345678912" is +1 234 567 8912: read in the US (its leading 1 is the trunk prefix) or
    # written with '+'; without either there is no country code to read.
    (
        META,
        PHONE,
        "12345678912",
        "US",
        "2f7e2ea57f3dbf40f00a3d92b149778831cd23f399b1dcdede5c495421b698c0",
    ),
    (
        META,
        PHONE,
        "+1 234 567 8912",
        None,
        "2f7e2ea57f3dbf40f00a3d92b149778831cd23f399b1dcdede5c495421b698c0",
    ),
    (
        META,
        PiiField.CITY,
        "newyork",
        None,
        "350c754ba4d38897693aa077ef43072a859d23f613443133fecbbd90a3512ca5",
    ),
    (
        META,
        PiiField.CITY,
        "New York",
        None,
        "350c754ba4d38897693aa077ef43072a859d23f613443133fecbbd90a3512ca5",
    ),
    (
        META,
        PiiField.STATE,
        "ca",
        None,
        "6959097001d10501ac7d54c0bdb8db61420f658f2922cc26e46d536119a31126",
    ),
    (
        META,
        PiiField.ZIP,
        "94035",
        None,
        "1794327a4d443904421f5ca1f3d72d0a62ba2f0770d80755ec2220fc0efb052e",
    ),
    (
        META,
        PiiField.ZIP,
        "m11ae",
        None,
        "1dc694c2070e697769fb959b50671d76cafd430d8ca191fbdd0affcaea344ac5",
    ),
    (
        META,
        PiiField.ZIP,
        "M1 1AE",
        None,
        "1dc694c2070e697769fb959b50671d76cafd430d8ca191fbdd0affcaea344ac5",
    ),
    # §2.5 Google vectors (the gmail dot rule and the phone rule are also §2B.6's)
    (
        GOOGLE,
        EMAIL,
        "janedoe@gmail.com",
        None,
        "d6117306485ed0e50afab3ac871e98f81699151f30281527d63ff5f233656c69",
    ),
    (
        GOOGLE,
        EMAIL,
        "jane.doe@gmail.com",
        None,
        "d6117306485ed0e50afab3ac871e98f81699151f30281527d63ff5f233656c69",
    ),
    (
        META,
        EMAIL,
        "jane.doe@gmail.com",
        None,
        "831f6494ad6be4fcb3a724c3d5fef22d3ceffa3c62ef3a7984e45a0ea177f982",
    ),
    (
        TIKTOK,
        EMAIL,
        "jane.doe@gmail.com",
        None,
        "831f6494ad6be4fcb3a724c3d5fef22d3ceffa3c62ef3a7984e45a0ea177f982",
    ),
    (
        GOOGLE,
        PHONE,
        "+18005550102",
        None,
        "c5383c2eeada28210d27f011bc127d4f9562cf38ff0c9bba33dd45ae79b9fe7c",
    ),
    (
        GOOGLE,
        PHONE,
        "+1 800 5550102",
        None,
        "c5383c2eeada28210d27f011bc127d4f9562cf38ff0c9bba33dd45ae79b9fe7c",
    ),
    (
        GOOGLE,
        PHONE,
        "+16505551212",
        None,
        "1e231c66011e7a2d867a9cfae267a6aff103cf4913640b6e71a99850fc0ffbc8",
    ),
    # §2B.6 Google Data Manager vectors
    (
        GOOGLE,
        EMAIL,
        "cloudy.sanfrancisco+shopping@gmail.com",
        None,
        "223ebda6f6889b1494551ba902d9d381daf2f642bae055888e96343d53e9f9c4",
    ),
    # the "§2.5 rule" digest: what Meta and TikTok send (they keep dots and '+suffix')
    (
        META,
        EMAIL,
        "cloudysanfrancisco+shopping@gmail.com",
        None,
        "84164838eb463c572bc84f71272595c9d655971964a7c262f05a0d86fb3decfe",
    ),
    (
        TIKTOK,
        EMAIL,
        "CloudySanFrancisco+Shopping@gmail.com",
        None,
        "84164838eb463c572bc84f71272595c9d655971964a7c262f05a0d86fb3decfe",
    ),
    (
        GOOGLE,
        EMAIL,
        "user.name+NYC@Example.com",
        None,
        "f109a2a632fbcea5fc82049f50beed3d8621bf9034399f437fb622222acccdac",
    ),
    (
        GOOGLE,
        PHONE,
        "(800)555-0100",
        "US",
        "fb4f73a6ec5fdb7077d564cdd22c3554b43ce49168550c3b12c547b78c517b30",
    ),
    (
        GOOGLE,
        FIRST,
        "Mary",
        None,
        "6915771be1c5aa0c886870b6951b03d7eafc121fea0e80a5ea83beb7c449f4ec",
    ),
    (
        GOOGLE,
        LAST,
        "Smith",
        None,
        "6627835f988e2c5e50533d491163072d3f4f41f5c8b04630150debb3722ca2dd",
    ),
    # §3 TikTok doc vectors
    (
        TIKTOK,
        EMAIL,
        " ALICE_abc@gmail.com ",
        None,
        "848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f",
    ),
    (
        TIKTOK,
        PHONE,
        "(+1)2133734253",
        None,
        "9f7ec22d72092cd3c0b58726ed9c2d91b92e51a3f29837508fb2948bb22dd2fd",
    ),
    (
        TIKTOK,
        PiiField.EXTERNAL_ID,
        "user_123",
        None,
        "80fba0ae1c48e3978e43e4efc365e14e12ea0c830ba8ba5b9a2dafc7e3f2ab8b",
    ),
]


@pytest.mark.parametrize(("platform", "field", "raw", "region", "expected"), LITERAL_VECTORS)
def test_contract_literal_hashes(
    platform: Platform, field: PiiField, raw: str, region: str | None, expected: str
) -> None:
    assert hash_field(platform, field, raw, region=region) == expected
    hashed, errors = hash_user_data(platform, {field: raw}, region=region)
    assert (hashed, errors) == ({field: expected}, [])


# §2B.6: the Base64 column is the same 32 digest bytes; we send hex, both must agree.
@pytest.mark.parametrize(
    ("raw", "region", "field", "base64_digest"),
    [
        (
            "Cloudy.SanFrancisco+shopping@gmail.com",
            None,
            EMAIL,
            "Ij69pvaImxSUVRupAtnTgdry9kK64FWIjpY0PVPp+cQ=",
        ),
        ("user.name+NYC@Example.com", None, EMAIL, "8QmipjL7zqX8ggSfUL7tPYYhv5A0OZ9Df7YiIirMzaw="),
        ("(800)555-0100", "US", PHONE, "+09zpuxf23B31WTN0iw1VLQ85JFoVQw7EsVHt4xRezA="),
    ],
)
def test_google_data_manager_base64_vectors(
    raw: str, region: str | None, field: PiiField, base64_digest: str
) -> None:
    digest = hash_field(GOOGLE, field, raw, region=region)
    assert base64.b64encode(bytes.fromhex(digest)).decode() == base64_digest


# --- Normalisation examples given by the contract (hash computed from the normalized form) ----

NORMALIZATION_VECTORS = [
    # §1.4 Meta doc
    (META, EMAIL, "john_smith@gmail.com", "john_smith@gmail.com"),
    (META, PHONE, "+1(650)555-1212", "16505551212"),
    (META, FIRST, "Mary", "mary"),
    (META, FIRST, "Valéry", "valéry"),
    (META, PiiField.DATE_OF_BIRTH, "2/16/1997", "19970216"),
    (META, PiiField.CITY, "newyork", "newyork"),
    (META, PiiField.STATE, "ca", "ca"),
    (META, PiiField.ZIP, "94035", "94035"),
    (META, PiiField.ZIP, "m11ae", "m11ae"),
    # §1.5 Meta SDK: email accepted untouched (dots and plus kept)
    (META, EMAIL, "a@b.c", "a@b.c"),
    (META, EMAIL, "f`oo@bar.com", "f`oo@bar.com"),
    (META, EMAIL, "fo'o@bar.com", "fo'o@bar.com"),
    (META, EMAIL, "@a@b.c", "@a@b.c"),  # the SDK's `.+@` takes the second '@'
    # §1.5 Meta SDK: city / state / zip / country / phone / dob
    (META, PiiField.CITY, "New York", "newyork"),
    (META, PiiField.CITY, "St. Louis", "stlouis"),
    (META, PiiField.STATE, "California", "california"),
    (META, PiiField.ZIP, "94035-1234", "94035"),
    (META, PiiField.ZIP, "M1 1AE", "m11ae"),
    (META, PiiField.COUNTRY, " US ", "us"),
    (META, PHONE, "+1 (650) 555-1212", "16505551212"),
    (META, PHONE, "0044 20 7946 0958", "442079460958"),
    (META, PiiField.DATE_OF_BIRTH, "19900101", "19900101"),
    (META, PiiField.GENDER, "m", "m"),
    (META, PiiField.GENDER, "f", "f"),
    # §2.5 Google doc and library-example quirks (not copied)
    (GOOGLE, EMAIL, "jane.doe@gmail.com", "janedoe@gmail.com"),
    (GOOGLE, EMAIL, "alex.2@example.com", "alex.2@example.com"),
    (GOOGLE, PHONE, "+1 800 5550102", "+18005550102"),
    (GOOGLE, PHONE, "+18005550102", "+18005550102"),
    # §2B.6 Google Data Manager formatting guide
    (GOOGLE, EMAIL, "cloudy.sanfrancisco+shopping@gmail.com", "cloudysanfrancisco@gmail.com"),
    (GOOGLE, EMAIL, "user.name+NYC@Example.com", "user.name+nyc@example.com"),
    (GOOGLE, FIRST, "Mary", "mary"),
    (GOOGLE, LAST, "Smith", "smith"),
    (GOOGLE, FIRST, "Mrs. Mary", "mary"),
    (GOOGLE, LAST, "Smith Jr.", "smith"),
    # §3 TikTok doc
    (TIKTOK, EMAIL, " ALICE_abc@gmail.com ", "alice_abc@gmail.com"),
    (TIKTOK, PHONE, "(+1)2133734253", "+12133734253"),
    (TIKTOK, PiiField.EXTERNAL_ID, "user_123", "user_123"),
]


@pytest.mark.parametrize(("platform", "field", "raw", "normalized"), NORMALIZATION_VECTORS)
def test_contract_normalization_examples(
    platform: Platform, field: PiiField, raw: str, normalized: str
) -> None:
    assert normalize(platform, field, raw) == normalized
    assert hash_field(platform, field, raw) == sha(normalized)


@pytest.mark.parametrize("raw", ["a", "abc", "a@b", "@b.c", ".c", "@", "a@.c", "a@b.", "ab@c"])
def test_meta_sdk_rejected_emails(raw: str) -> None:
    err = error_of(META, EMAIL, raw)
    assert (err.field, err.code) == ("email", "invalid_format")


def test_sdk_quoted_local_part_with_space_is_rejected_by_decision() -> None:
    # The SDK accepts '"a b"@c.d'; Meta and TikTok here reject whitespace inside an email.
    assert error_of(META, EMAIL, '"a b"@c.d').code == "invalid_format"
    assert error_of(TIKTOK, EMAIL, '"a b"@c.d').code == "invalid_format"


def test_meta_sdk_prehashed_pass_through() -> None:
    assert normalize(META, EMAIL, " " + "a" * 64 + " ") == "a" * 64
    assert hash_field(META, EMAIL, " " + "a" * 64 + " ") == "a" * 64


def test_country_name_is_an_error_like_the_sdk() -> None:
    # Doc maps "United States" -> "us"; the SDK (followed here) rejects names.
    err = error_of(META, PiiField.COUNTRY, "United States")
    assert (err.field, err.code) == ("country", "invalid_format")


def test_sdk_phone_periods_and_letters() -> None:
    # The SDK raises on both. Periods are separators to libphonenumber; letters are refused
    # (an extension or a vanity number is not the person's own line).
    assert normalize(META, PHONE, "650.555.1212", region="US") == "16505551212"
    assert error_of(META, PHONE, "+1 650 555 1212 ext 5").code == "invalid_format"


# --- Whitespace, case, unicode ----------------------------------------------------------------


@pytest.mark.parametrize("platform", DIRECT_PLATFORMS)
def test_email_trim_and_case(platform: Platform) -> None:
    assert normalize(platform, EMAIL, "\t JOHN_SMITH@Example.COM \n") == "john_smith@example.com"


def test_decomposed_unicode_hashes_like_composed() -> None:
    decomposed = unicodedata.normalize("NFD", "Valéry")
    assert decomposed != "Valéry"
    assert hash_field(META, FIRST, decomposed) == (
        "08e1996b5dd49e62a4b4c010d44e4345592a863bb9f8e3976219bac29417149c"
    )


@pytest.mark.parametrize(
    ("raw", "meta", "google", "tiktok"),
    [
        ("O'Brien", "obrien", "obrien", "o'brien"),
        ("Mary-Jane", "maryjane", "maryjane", "mary-jane"),
        ("Mary - Jane", "mary jane", "mary jane", "mary - jane"),
        ("Mary  Ann", "mary ann", "mary ann", "mary  ann"),
        ("ZOË", "zoë", "zoë", "zoë"),
        ("Ñúñez.", "ñúñez", "ñúñez", "ñúñez."),
        ("«Ñúñez»", "ñúñez", "ñúñez", "«ñúñez»"),  # non-ASCII punctuation
        ("A+B", "ab", "a+b", "a+b"),  # a symbol, not punctuation: Google keeps it
        ("정", "정", "정", "정"),
        ("Δημήτρης", "δημήτρης", "δημήτρης", "δημήτρης"),
    ],
)
def test_names_per_platform(raw: str, meta: str, google: str, tiktok: str) -> None:
    # Meta: no punctuation or symbols (doc); Google: no punctuation (§2B.6 proto); TikTok: no
    # rule in the contract (third-party only), lowercase.
    for field in (FIRST, LAST):
        assert normalize(META, field, raw) == meta
        assert normalize(GOOGLE, field, raw) == google
        assert normalize(TIKTOK, field, raw) == tiktok


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Mrs. Mary", "mary"),
        ("MR JOHN", "john"),
        ("Dr. Prof. Ada", "ada"),
        ("Smith, Jr.", "smith"),
        ("Smith Sr", "smith"),
        ("Gates III", "gates"),
        ("Jane Doe PhD", "jane doe"),
        ("John Smith, Esq.", "john smith"),
        ("Ms. Ann Smith Jr.", "ann smith"),
        # never the last word left: a title alone is kept as written
        ("Dr", "dr"),
        ("Jr.", "jr"),
        # particles and look-alikes inside a name stay
        ("van der Berg", "van der berg"),
        ("De la Cruz", "de la cruz"),
        ("Misstear", "misstear"),
        ("Mary Dr Smith", "mary dr smith"),  # not at the start: part of the name
        ("Ivy", "ivy"),
    ],
)
def test_google_names_drop_titles_and_suffixes(raw: str, expected: str) -> None:
    for field in (FIRST, LAST):
        assert normalize(GOOGLE, field, raw) == expected
    assert normalize(META, FIRST, "Mrs. Mary") == "mrs mary"  # Meta's doc asks nothing of it


def test_google_name_of_punctuation_only_is_an_error() -> None:
    err = error_of(GOOGLE, FIRST, "-.-")
    assert (err.field, err.code) == ("first_name", "invalid_format")


def test_meta_name_of_punctuation_only_is_an_error() -> None:
    err = error_of(META, LAST, "...")
    assert (err.field, err.code) == ("last_name", "invalid_format")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("São Paulo", "sãopaulo"),
        ("Hell's Kitchen", "hellskitchen"),
        ("Winston-Salem (NC) 27101", "winstonsalemnc"),
        ("  Köln  ", "köln"),
        ("नई दिल्ली", "नईदिल्ली"),  # vowel signs are marks and stay
    ],
)
def test_meta_city_letters_only(raw: str, expected: str) -> None:
    assert normalize(META, PiiField.CITY, raw) == expected


def test_meta_city_without_letters_is_an_error() -> None:
    assert error_of(META, PiiField.CITY, "12345").code == "invalid_format"


# --- Phones ---------------------------------------------------------------------------------

# The "Match quality" issue's table: (raw, region, Meta form, Google/TikTok form).
ISSUE_PHONES = [
    ("(650) 555-1212", "US", "16505551212", "+16505551212"),
    ("98765-43210", "IN", "919876543210", "+919876543210"),
    ("+44 (0)20 7946 0958", None, "442079460958", "+442079460958"),
    ("020 7946 0958", "GB", "442079460958", "+442079460958"),
    ("06 12 34 56 78", "FR", "33612345678", "+33612345678"),
]


@pytest.mark.parametrize(("raw", "region", "meta", "e164"), ISSUE_PHONES)
def test_issue_phone_vectors(raw: str, region: str | None, meta: str, e164: str) -> None:
    assert normalize(META, PHONE, raw, region=region) == meta
    assert hash_field(META, PHONE, raw, region=region) == sha(meta)
    for platform in (GOOGLE, TIKTOK):
        assert normalize(platform, PHONE, raw, region=region) == e164
        assert hash_field(platform, PHONE, raw, region=region) == sha(e164)
    everything, errors = hash_for_all({"phone": raw}, region=region)
    assert errors == []
    assert everything == {
        META: {PHONE: sha(meta)},
        GOOGLE: {PHONE: sha(e164)},
        TIKTOK: {PHONE: sha(e164)},
    }


def test_issue_local_number_without_area_code_is_an_error() -> None:
    for platform in DIRECT_PLATFORMS:
        err = error_of(platform, PHONE, "555-1212", "US")
        assert (err.field, err.code) == ("phone", "invalid_format")
        assert "phone" in err.message and "area code" in err.message
    everything, errors = hash_for_all({"phone": "555-1212", "email": "a@b.co"}, region="US")
    assert [(e.field, e.code) for e in errors] == [("phone", "invalid_format")]
    assert all(PHONE not in hashed for hashed in everything.values())
    assert all(EMAIL in hashed for hashed in everything.values())


@pytest.mark.parametrize("raw", ["(650) 555-1212", "020 7946 0958", "98765-43210", "6505551212"])
def test_national_number_without_region_is_an_error(raw: str) -> None:
    err = error_of(META, PHONE, raw)
    assert (err.field, err.code) == ("phone", "invalid_format")
    assert "country code" in err.message and "region" in err.message


# Written as escapes: the characters themselves look like Latin letters and digits (RUF001).
ARABIC_INDIC_DIGITS = {ord("0") + i: 0x0660 + i for i in range(10)}
FULL_WIDTH = {ord("+"): 0xFF0B, **{ord("0") + i: 0xFF10 + i for i in range(10)}}

PHONE_FORMS = [
    "+1 650 555 1212",
    "+1-650-555-1212",
    "+1 (650) 555-1212",
    "(+1) 650.555.1212",
    "+1/650/555/1212",
    "001 650 555 1212",
    "00 1-650-555-1212",
    "(001) 650 555 1212",
    "\u00a0+1\u00a0650\u00a05551212\u00a0",
    "+1 650 555 1212".translate(ARABIC_INDIC_DIGITS),  # the same number
    "+1 650 555 1212".translate(FULL_WIDTH),
]


@pytest.mark.parametrize("region", [None, "US", "GB", "FR"])
@pytest.mark.parametrize("raw", PHONE_FORMS)
def test_numbers_with_their_country_code_read_the_same_in_any_region(
    raw: str, region: str | None
) -> None:
    assert normalize(META, PHONE, raw, region=region) == "16505551212"
    assert normalize(GOOGLE, PHONE, raw, region=region) == "+16505551212"
    assert normalize(TIKTOK, PHONE, raw, region=region) == "+16505551212"
    assert hash_field(GOOGLE, PHONE, raw, region=region) == (
        "1e231c66011e7a2d867a9cfae267a6aff103cf4913640b6e71a99850fc0ffbc8"
    )


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("1 (650) 555-1212", "US", "+16505551212"),  # US trunk prefix 1
        ("650.555.1212", "US", "+16505551212"),
        ("(020) 7946-0958", "GB", "+442079460958"),
        ("+44 (0)20 7946 0958", "FR", "+442079460958"),  # '+' wins over the region
        ("0044 20 7946 0958", "GB", "+442079460958"),  # GB's own international prefix
        ("011 44 20 7946 0958", "US", "+442079460958"),  # the US one
        ("0044 20 7946 0958", "US", "+442079460958"),  # 00 read as '+' where the region's is not
        ("0044 20 7946 0958", None, "+442079460958"),
        ("07911 123456", "GB", "+447911123456"),  # mobile
        ("030 1234567", "DE", "+49301234567"),
        ("+683 7290", None, "+6837290"),  # Niue: 4-digit national numbers
        ("020 7946 0958".translate(ARABIC_INDIC_DIGITS), "GB", "+442079460958"),
    ],
)
def test_phones_read_in_their_region(raw: str, region: str | None, e164: str) -> None:
    assert normalize(GOOGLE, PHONE, raw, region=region) == e164
    assert normalize(META, PHONE, raw, region=region) == e164[1:]


@pytest.mark.parametrize("region", ["gb", " GB ", "Gb"])
def test_region_case_and_spaces_do_not_matter(region: str) -> None:
    assert normalize(META, PHONE, "020 7946 0958", region=region) == "442079460958"


@pytest.mark.parametrize("region", ["", " ", "G", "GBR", "UK", "XX", "1A", "G B", "Ü"])
def test_invalid_region_is_ignored_as_if_absent(region: str) -> None:
    # "UK" is two letters but no ISO 3166-1 code (GB is): ignored too, never guessed.
    assert normalize(META, PHONE, "+44 20 7946 0958", region=region) == "442079460958"
    assert error_of(META, PHONE, "020 7946 0958", region).code == "invalid_format"
    assert hash_for_all({"phone": "020 7946 0958"}, region=region)[1][0].code == "invalid_format"


def test_non_string_region_is_ignored() -> None:
    assert normalize(META, PHONE, "+44 20 7946 0958", region=44) == "442079460958"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "region", "code"),
    [
        ("12", None, "out_of_range"),  # fewer digits than any number anywhere
        ("123", "US", "out_of_range"),
        ("+1 555 12", None, "out_of_range"),  # too short for its country
        ("+1 650", None, "out_of_range"),
        ("+1234567890123456", None, "out_of_range"),  # too long for its country
        ("+44 20 7946 095", None, "invalid_format"),  # possible length, not a valid number
        ("+1 650 CALL NOW", None, "invalid_format"),  # letters, not read as a vanity number
        ("+1 650 555 1212 ext 5", None, "invalid_format"),
        ("tel:+1-650-555-1212", None, "invalid_format"),
        ("+1 650 555 1212 #5", None, "invalid_format"),  # an extension
        ("1+6505551212", None, "invalid_format"),
        ("+", None, "invalid_format"),
        ("---", None, "invalid_format"),
        ("0650 555 1212", None, "invalid_format"),  # national trunk prefix, no region
        ("000 44 20 7946 0958", None, "invalid_format"),
        ("+0044 20 7946 0958", None, "invalid_format"),
        ("+999 1234 5678", None, "invalid_format"),  # no such country code
        ("+1 650 555 1212 #", None, "invalid_format"),
        ("555-1212", "US", "invalid_format"),
        ("02 1234 5678", "US", "invalid_format"),
    ],
)
def test_bad_phones(raw: str, region: str | None, code: str) -> None:
    for platform in DIRECT_PLATFORMS:
        err = error_of(platform, PHONE, raw, region)
        assert (err.field, err.code) == ("phone", code)
        assert err.message.startswith("phone ")


def test_phone_digest_passes_through_without_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a digest must not be parsed")

    monkeypatch.setattr(pii.phonenumbers, "parse", no_parse)
    digest = sha("+16505551212")
    assert hash_field(META, PHONE, digest.upper(), region="US") == digest
    assert hash_for_all({"phone": digest})[0][GOOGLE] == {PHONE: digest}


def count_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = pii.phonenumbers.parse

    def counting(text: str, region: str | None = None) -> object:
        calls.append(text)
        return real(text, region)

    monkeypatch.setattr(pii.phonenumbers, "parse", counting)
    return calls


def test_hash_for_all_parses_the_phone_once_for_three_platforms(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = count_parses(monkeypatch)
    everything, _ = hash_for_all({"phone": "(650) 555-1212"}, region="US")
    assert len(calls) == 1
    assert {len(hashed) for hashed in everything.values()} == {1}
    calls.clear()
    hash_for_all({"phone": "555-1212"}, region="US")  # a bad one too: once, one error
    assert len(calls) == 1


def test_hash_user_data_parses_the_phone_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = count_parses(monkeypatch)
    hash_user_data(META, {"phone": "(650) 555-1212", "email": "a@b.co"}, region="US")
    assert len(calls) == 1


# --- Emails -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "google", "others"),
    [
        ("Jane.Doe@Gmail.com", "janedoe@gmail.com", "jane.doe@gmail.com"),
        ("j.a.n.e@googlemail.com", "jane@googlemail.com", "j.a.n.e@googlemail.com"),
        # §2B.6: gmail/googlemail also lose the '+suffix'
        ("jane.doe+promo@gmail.com", "janedoe@gmail.com", "jane.doe+promo@gmail.com"),
        ("jane+a.b+c@gmail.com", "jane@gmail.com", "jane+a.b+c@gmail.com"),
        # other domains keep dots and '+'
        ("jane.doe+promo@example.com", "jane.doe+promo@example.com", "jane.doe+promo@example.com"),
        ("jane.doe@mail.gmail.com", "jane.doe@mail.gmail.com", "jane.doe@mail.gmail.com"),
        ("jane.doe@gmail.co", "jane.doe@gmail.co", "jane.doe@gmail.co"),
    ],
)
def test_gmail_dots_and_plus_suffix_removed_for_google_only(
    raw: str, google: str, others: str
) -> None:
    assert normalize(GOOGLE, EMAIL, raw) == google
    assert normalize(META, EMAIL, raw) == others
    assert normalize(TIKTOK, EMAIL, raw) == others
    assert hash_field(GOOGLE, EMAIL, raw) == sha(google)


@pytest.mark.parametrize("raw", [".@gmail.com", "+promo@gmail.com", "..+x@googlemail.com"])
def test_gmail_local_part_left_empty_is_an_error_for_google(raw: str) -> None:
    assert normalize(META, EMAIL, raw) == raw
    err = error_of(GOOGLE, EMAIL, raw)
    assert (err.field, err.code) == ("email", "invalid_format")


@pytest.mark.parametrize(
    ("raw", "google"),
    [
        ("john smith@gmail.com", "johnsmith@gmail.com"),
        ("john@gmail .com", "john@gmail.com"),
        ("john\t@x.com", "john@x.com"),
        ("jo\u00a0hn@x.com", "john@x.com"),
        (" J o h n @ E x a m p l e . c o m ", "john@example.com"),
    ],
)
def test_inner_whitespace_removed_for_google_refused_for_meta_and_tiktok(
    raw: str, google: str
) -> None:
    # §2B.6 removes intermediate whitespace; Meta/TikTok say only "trim": refused there (above).
    assert normalize(GOOGLE, EMAIL, raw) == google
    for platform in (META, TIKTOK):
        assert error_of(platform, EMAIL, raw).code == "invalid_format"


@pytest.mark.parametrize("raw", ["a@b.", "john@gmail", "@gmail.com", "a@b\u200b.com"])
def test_emails_without_tld_or_with_controls_are_rejected_everywhere(raw: str) -> None:
    for platform in DIRECT_PLATFORMS:
        assert error_of(platform, EMAIL, raw).code == "invalid_format"


# --- Meta-only fields -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("19970216", "19970216"),
        ("1997-02-16", "19970216"),
        ("1997-2-6", "19970206"),
        ("1997/02/16", "19970216"),
        ("02/16/1997", "19970216"),
        (" 2/6/1997 ", "19970206"),
        ("1900-01-01", "19000101"),
    ],
)
def test_date_of_birth_formats(raw: str, expected: str) -> None:
    assert normalize(META, PiiField.DATE_OF_BIRTH, raw) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("16.02.1997", "invalid_format"),
        ("Feb 16 1997", "invalid_format"),
        ("1997021", "invalid_format"),
        ("02/30/1997", "out_of_range"),
        ("19971301", "out_of_range"),
        ("19970200", "out_of_range"),
        ("18991231", "out_of_range"),
        ("00000101", "out_of_range"),
        ((date.today() + timedelta(days=1)).strftime("%Y%m%d"), "out_of_range"),
    ],
)
def test_bad_dates_of_birth(raw: str, code: str) -> None:
    err = error_of(META, PiiField.DATE_OF_BIRTH, raw)
    assert (err.field, err.code) == ("date_of_birth", code)


@pytest.mark.parametrize(("raw", "expected"), [("F", "f"), ("Female", "f"), (" MALE ", "m")])
def test_gender_initials(raw: str, expected: str) -> None:
    assert normalize(META, PiiField.GENDER, raw) == expected


@pytest.mark.parametrize("raw", ["x", "unknown", "fm", "mann"])
def test_unknown_gender(raw: str) -> None:
    err = error_of(META, PiiField.GENDER, raw)
    assert (err.field, err.code) == ("gender", "unknown_value")


@pytest.mark.parametrize(
    ("raw", "result"),
    [
        ("U.S.", "us"),
        ("gb", "gb"),
        ("De", "de"),
        ("USA", "invalid_format"),
        ("u", "invalid_format"),
        ("42", "invalid_format"),
        ("uk", "unknown_value"),
        ("xx", "unknown_value"),
    ],
)
def test_country_codes(raw: str, result: str) -> None:
    if len(result) == 2:
        assert normalize(META, PiiField.COUNTRY, raw) == result
    else:
        err = error_of(META, PiiField.COUNTRY, raw)
        assert (err.field, err.code) == ("country", result)


def test_zip_dash_only_is_an_error() -> None:
    assert error_of(META, PiiField.ZIP, "-1234").code == "invalid_format"


def test_external_id_is_trimmed_but_keeps_case() -> None:
    assert hash_field(TIKTOK, PiiField.EXTERNAL_ID, "  user_123 ") == sha("user_123")
    assert hash_field(META, PiiField.EXTERNAL_ID, "User_123") == sha("User_123")


# --- Already-hashed values --------------------------------------------------------------------

DIGEST = sha("john_smith@gmail.com")


@pytest.mark.parametrize("platform", DIRECT_PLATFORMS)
def test_lowercase_digest_passes_through_every_supported_field(platform: Platform) -> None:
    for field in SUPPORTED_FIELDS[platform]:
        assert hash_field(platform, field, DIGEST) == DIGEST
        assert normalize(platform, field, f"  {DIGEST}\n") == DIGEST


@pytest.mark.parametrize("variant", [DIGEST.upper(), DIGEST[:32] + DIGEST[32:].upper()])
def test_uppercase_digest_is_accepted_and_lowercased(variant: str) -> None:
    for platform in DIRECT_PLATFORMS:
        assert hash_field(platform, EMAIL, variant) == DIGEST


def test_not_quite_digests_are_normal_values() -> None:
    md5 = hashlib.md5(b"x").hexdigest()  # 32 hex: no platform here takes MD5
    assert hash_field(META, PiiField.EXTERNAL_ID, md5) == sha(md5)
    assert hash_field(META, PiiField.EXTERNAL_ID, DIGEST[:63]) == sha(DIGEST[:63])
    assert hash_field(META, PiiField.EXTERNAL_ID, DIGEST + "a") == sha(DIGEST + "a")
    assert hash_field(META, PiiField.EXTERNAL_ID, "g" + DIGEST[1:]) == sha("g" + DIGEST[1:])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (DIGEST, True),
        (DIGEST.upper(), False),
        (DIGEST[:63], False),
        (DIGEST + "0", False),
        (" " + DIGEST, False),
        ("", False),
        ("z" * 64, False),
        (hashlib.md5(b"x").hexdigest(), False),
    ],
)
def test_is_sha256_hex(value: str, expected: bool) -> None:
    assert is_sha256_hex(value) is expected


def test_every_output_is_a_lowercase_sha256() -> None:
    for platform, field, raw, _ in NORMALIZATION_VECTORS:
        assert is_sha256_hex(hash_field(platform, field, raw))


# --- Errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["", "   ", "\t\n"])
@pytest.mark.parametrize("field", list(PiiField))
def test_empty_value_is_an_error_never_a_hash_of_nothing(field: PiiField, raw: str) -> None:
    err = error_of(META, field, raw)
    assert (err.field, err.code) == (field.value, "empty")


# Each raw value carries the marker "zq9" so a leak into any message is caught.
BAD_INPUTS = [
    (META, EMAIL, "zq9-secret-at-example.com"),
    (GOOGLE, EMAIL, "zq9 secret@gmail"),
    (GOOGLE, EMAIL, "+zq9@gmail.com"),
    (TIKTOK, PHONE, "+1 zq9 555 1212"),
    (META, PHONE, "+1 555 zq9"),
    (GOOGLE, FIRST, "!?!"),
    (META, PiiField.GENDER, "zq9"),
    (META, PiiField.DATE_OF_BIRTH, "zq9-1990"),
    (META, PiiField.COUNTRY, "zq9"),
    (META, PiiField.CITY, "9999"),
    (META, FIRST, "!!!!"),
    (META, PiiField.ZIP, "-zq9"),
    (META, EMAIL, "zq9\ud800@x.com"),
    (META, FIRST, "zq9\ud800"),
]


@pytest.mark.parametrize(("platform", "field", "raw"), BAD_INPUTS)
def test_errors_name_the_field_and_never_echo_the_value(
    platform: Platform, field: PiiField, raw: str
) -> None:
    with pytest.raises(PiiError) as info:
        hash_field(platform, field, raw)
    exc = info.value
    assert isinstance(exc, ValueError)
    assert isinstance(exc.error, FieldError)
    assert exc.error.field == field.value
    assert exc.error.code in set(ErrorCode)
    assert type(exc.error.code) is str and type(exc.error.field) is str
    for text in (str(exc), repr(exc), repr(exc.error), exc.error.message):
        assert "zq9" not in text
        assert raw.strip() not in text or len(raw.strip()) < 3
    assert field.value in exc.error.message


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("555-1212", "US"),
        ("98765-4321", "IN"),
        ("+1 650 555 12", None),
        ("+44 20 7946 095", None),
        ("0650 555 1212", None),
        ("+999 1234 5678", None),
        ("+1 650 555 1212 #77", None),
    ],
)
def test_phone_errors_never_echo_the_digits(raw: str, region: str | None) -> None:
    digits = "".join(c for c in raw if c.isdigit())
    for platform in DIRECT_PLATFORMS:
        err = error_of(platform, PHONE, raw, region)
        assert err.field == "phone" and err.message.startswith("phone ")
        assert raw not in err.message and digits[-4:] not in err.message


def test_lone_surrogate_is_a_field_error_not_a_unicode_crash() -> None:
    assert error_of(GOOGLE, FIRST, "Ann\udc00").code == "invalid_format"


def test_non_string_value_is_a_field_error() -> None:
    err = error_of(META, EMAIL, 42)  # type: ignore[arg-type]
    assert (err.field, err.code) == ("email", "invalid_type")


def test_field_not_hashed_for_platform() -> None:
    err = error_of(GOOGLE, PiiField.GENDER, "f")
    assert (err.field, err.code) == ("gender", "unsupported_field")
    assert error_of(TIKTOK, PiiField.COUNTRY, "us").code == "unsupported_field"


def test_unknown_field_and_platform() -> None:
    err = error_of(META, "shoe_size", "42")  # type: ignore[arg-type]
    assert (err.field, err.code) == ("shoe_size", "unknown_field")
    with pytest.raises(ValueError):
        hash_field("bing", EMAIL, "a@b.co")  # type: ignore[arg-type]


def test_plain_string_platform_and_field_work() -> None:
    assert hash_field("tiktok", "external_id", "user_123") == (  # type: ignore[arg-type]
        "80fba0ae1c48e3978e43e4efc365e14e12ea0c830ba8ba5b9a2dafc7e3f2ab8b"
    )


def test_supported_fields() -> None:
    assert SUPPORTED_FIELDS[META] == frozenset(PiiField)
    assert SUPPORTED_FIELDS[GOOGLE] == {EMAIL, PHONE, FIRST, LAST}
    assert SUPPORTED_FIELDS[TIKTOK] == {
        EMAIL,
        PHONE,
        FIRST,
        LAST,
        PiiField.ZIP,
        PiiField.EXTERNAL_ID,
    }


# --- hash_user_data / hash_for_all ------------------------------------------------------------


def test_hash_user_data_keeps_good_fields_when_one_is_bad() -> None:
    hashed, errors = hash_user_data(
        META,
        {
            "email": "not-an-email",
            "phone": "+1 (650) 555-1212",
            PiiField.FIRST_NAME: "Mary",
            "country": "US",
            "gender": "robot",
        },
    )
    assert hashed == {
        PHONE: "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176",
        FIRST: "6915771be1c5aa0c886870b6951b03d7eafc121fea0e80a5ea83beb7c449f4ec",
        PiiField.COUNTRY: "79adb2a2fce5c6ba215fe5f27f532d4e7edbac4b6a5e09e1ef3a08084a904621",
    }
    assert all(type(k) is PiiField for k in hashed)
    assert [(e.field, e.code) for e in errors] == [
        ("email", "invalid_format"),
        ("gender", "unknown_value"),
    ]


def test_hash_user_data_skips_empty_and_unsupported_and_reports_unknown_keys() -> None:
    data = {"email": "  ", "phone": "", "last_name": None, "gender": "f", "nickname": "x"}
    hashed, errors = hash_user_data(GOOGLE, data)  # type: ignore[arg-type]
    assert hashed == {}
    assert errors == [
        FieldError(field="nickname", code="unknown_field", message="unknown personal-data field")
    ]


def test_hash_user_data_passes_prehashed_and_uses_platform_rules() -> None:
    data = {EMAIL: "Jane.Doe@gmail.com", PiiField.EXTERNAL_ID: DIGEST.upper()}
    google, _ = hash_user_data(GOOGLE, data)
    tiktok, _ = hash_user_data(TIKTOK, data)
    assert google == {EMAIL: sha("janedoe@gmail.com")}
    assert tiktok == {EMAIL: sha("jane.doe@gmail.com"), PiiField.EXTERNAL_ID: DIGEST}


SAMPLE = {
    "email": " Jane.Doe@Gmail.com ",
    "phone": "+1 (650) 555-1212",
    "first_name": "O'Brien",
    "last_name": "Valéry",
    "gender": "F",
    "date_of_birth": "2/16/1997",
    "city": "St. Louis",
    "state": "MO",
    "zip": "63101-1234",
    "country": "us",
    "external_id": "user_123",
}


def test_hash_for_all_equals_hash_user_data_per_platform() -> None:
    everything, errors = hash_for_all(SAMPLE)
    assert errors == []
    for platform in DIRECT_PLATFORMS:
        assert everything[platform] == hash_user_data(platform, SAMPLE)[0]
    assert everything[GOOGLE][EMAIL] == sha("janedoe@gmail.com")
    assert everything[META][PHONE] == sha("16505551212")
    assert everything[TIKTOK][PHONE] == sha("+16505551212")
    assert everything[META][FIRST] == sha("obrien")
    assert everything[TIKTOK][FIRST] == sha("o'brien")


def test_hash_for_all_hashes_each_distinct_normalization_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[str] = []
    real = pii._sha256_hex

    def counting(text: str) -> str:
        seen.append(text)
        return real(text)

    monkeypatch.setattr(pii, "_sha256_hex", counting)
    hash_for_all({"email": "alice@example.com", "phone": "+1 650 555 1212", "zip": "94035"})
    assert sorted(seen) == sorted(["alice@example.com", "16505551212", "+16505551212", "94035"])


def test_hash_for_all_reports_each_bad_field_once_and_keeps_the_rest() -> None:
    everything, errors = hash_for_all(
        {"email": "nope", "phone": "+1 650 555 1212", "gender": "?", "height": "180"}
    )
    assert [(e.field, e.code) for e in errors] == [
        ("email", "invalid_format"),
        ("gender", "unknown_value"),
        ("height", "unknown_field"),
    ]
    assert everything == {
        META: {PHONE: sha("16505551212")},
        GOOGLE: {PHONE: sha("+16505551212")},
        TIKTOK: {PHONE: sha("+16505551212")},
    }


def test_hash_user_data_and_hash_for_all_read_phones_in_the_region() -> None:
    data = {"phone": "06 12 34 56 78", "email": "Ann@Example.fr"}
    for platform in DIRECT_PLATFORMS:
        hashed, errors = hash_user_data(platform, data, region="FR")
        assert errors == [] and PHONE in hashed
        hashed, errors = hash_user_data(platform, data)  # no region: the national number fails
        assert [(e.field, e.code) for e in errors] == [("phone", "invalid_format")]
        assert EMAIL in hashed and PHONE not in hashed
    everything, errors = hash_for_all(data, region="fr")
    assert errors == []
    assert everything[META][PHONE] == sha("33612345678")
    assert everything[GOOGLE][PHONE] == everything[TIKTOK][PHONE] == sha("+33612345678")


def test_hash_for_all_with_region_equals_hash_user_data_per_platform() -> None:
    data = {**SAMPLE, "phone": "(650) 555-1212", "first_name": "Mrs. Mary-Ann"}
    everything, errors = hash_for_all(data, region="US")
    assert errors == []
    for platform in DIRECT_PLATFORMS:
        assert everything[platform] == hash_user_data(platform, data, region="US")[0]
    assert everything[GOOGLE][FIRST] == sha("maryann")
    assert everything[META][FIRST] == sha("mrs maryann")


def test_hash_for_all_google_only_email_rule_errors_once() -> None:
    # Meta and TikTok take the address; Google's rule leaves no local part: one error, others kept
    everything, errors = hash_for_all({"email": "+promo@gmail.com"})
    assert [(e.field, e.code) for e in errors] == [("email", "invalid_format")]
    assert EMAIL in everything[META] and EMAIL in everything[TIKTOK]
    assert EMAIL not in everything[GOOGLE]


# --- Meta fbc / fbp cookies (§1.4): never hashed, 4 or 5 segments --------------------------

FBC_OK = [
    "fb.1.1554763741205.AbCdEfGhIjKlMnOpQrStUvWxYz1234567890",  # §1.12
    "fb.1.1554763741205.AbCdEf.AQIBAQAB",  # §1.4: 8-character base64url appendix
    "fb.1.1554763741205.IwAR2F4-dbP0l7Mn_1IawQQ.Ag",  # language token (Python)
    *(f"fb.1.1554763741205.AbCdEf.{token}" for token in ("AQ", "Ag", "Aw", "BA", "BQ", "Bg")),
    "fb.0.1554763741.AbCdEf",  # 10-digit creation time, subdomain index 0
]
FBC_BAD = [
    "fb.1.1554763741205",  # no fbclid
    "fb.1.1554763741205.",
    "fb.1.1554763741205.AbCdEf.",
    "fb.1.1554763741205..AbCdEf",
    "fb.1.155.AbCdEf",  # creation time too short
    "fb.1.15547637412050.AbCdEf",  # too long
    "fb.x.1554763741205.AbCdEf",
    "fb.12.1554763741205.AbCdEf",
    "FB.1.1554763741205.AbCdEf",
    "fb.1.1554763741205.AbCdEf.XY",  # 2 characters, not a language token
    "fb.1.1554763741205.AbCdEf.A",
    "fb.1.1554763741205.AbCdEf.AQIBAQA",  # 7 characters
    "fb.1.1554763741205.AbCdEf.AQIBAQABx",  # 9 characters
    "fb.1.1554763741205.AbCdEf.AQIB+QAB",  # not base64url
    "fb.1.1554763741205.AbCdEf.AQIBAQAB.Ag",  # six segments
    "fb.1.1554763741205.Ab Cd",
    "fb.1.1554763741205.Ab\u00e9Cd",
    "fb.1.١٥٥٤٧٦٣٧٤١٢٠٥.AbCdEf",  # non-ASCII digits
    "IwAR2F4-dbP0l7Mn",
]
FBP_OK = [
    "fb.1.1596403881668.1116446470",
    "fb.1.1596403881668.1116446470.Ag",
    "fb.1.1596403881668.1116446470.AQIBAQAB",
    "fb.2.1558571054389.1098115397",
]
FBP_BAD = [
    "fb.1.1596403881668",
    "fb.1.1596403881668.abc",  # the random part is a number
    "fb.1.1596403881668.1116446470.ZZ",
    "fb.1.1596403881668.1116446470.Ag.Ag",
    "fb.1.155.109",
    "fb.1.1596403881668.",
]


@pytest.mark.parametrize("value", FBC_OK)
def test_fbc_four_or_five_segments_pass_unchanged(value: str) -> None:
    assert pii.is_fbc(value)
    assert pii.normalize_fbc(value) == value  # case kept: the fbclid is case-sensitive
    assert pii.normalize_fbc(f"  {value}\n") == value


@pytest.mark.parametrize("value", FBC_BAD)
def test_malformed_fbc_is_refused_without_echo(value: str) -> None:
    assert not pii.is_fbc(value)
    with pytest.raises(PiiError) as info:
        pii.normalize_fbc(value)
    assert (info.value.error.field, info.value.error.code) == ("fbc", "invalid_format")
    assert value.strip() not in info.value.error.message


@pytest.mark.parametrize("value", FBP_OK)
def test_fbp_four_or_five_segments_pass_unchanged(value: str) -> None:
    assert pii.is_fbp(value) and pii.normalize_fbp(f" {value} ") == value


@pytest.mark.parametrize("value", FBP_BAD)
def test_malformed_fbp_is_refused(value: str) -> None:
    assert not pii.is_fbp(value)
    with pytest.raises(PiiError) as info:
        pii.normalize_fbp(value)
    assert (info.value.error.field, info.value.error.code) == ("fbp", "invalid_format")


def test_fbc_and_fbp_are_not_interchangeable_and_blank_is_empty() -> None:
    assert not pii.is_fbp("fb.1.1554763741205.AbCdEf")  # an fbclid is not a number
    assert pii.is_fbc("fb.1.1596403881668.1116446470")  # a number is a possible fbclid
    for cookie, field in ((pii.normalize_fbc, "fbc"), (pii.normalize_fbp, "fbp")):
        with pytest.raises(PiiError) as info:
            cookie("  ")
        assert (info.value.error.field, info.value.error.code) == (field, "empty")
    assert not pii.is_fbc(" fb.1.1554763741205.AbCdEf")  # the predicate does not trim
    assert not pii.is_fbc(None)  # type: ignore[arg-type]
