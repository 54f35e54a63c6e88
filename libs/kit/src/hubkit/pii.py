"""Normalize and SHA-256 hash personal data with each ad platform's rules (Meta, Google, TikTok).

Rules follow `docs/platforms.md`:
  - Meta: §1.4 (the doc's keys and examples) and §1.5 (the official Python SDK's normalisation);
  - Google: §2B.6, the Data Manager formatting guide (Google's path for every new integration;
    it supersedes §2.5 where they differ: inner whitespace and gmail '+suffix' in emails);
  - TikTok: §3 (`user` object).
Where a vendor's doc and its SDK disagree, the choice made is written next to the rule.

Common to every field and platform, in this order:
  1. surrounding whitespace is trimmed; an empty result is an error (`empty`), never hashed;
  2. a value that already is a SHA-256 digest (64 hex chars, any case) passes through, lowercased
     (the Meta SDK lowercases before its own check; every platform wants lowercase hex);
  3. non-ASCII text is put in Unicode NFC, so composed and decomposed input hash alike;
  4. a platform-independent step runs once for all platforms (phones: parsed to E.164);
  5. the platform's field rule runs, then SHA-256 over UTF-8, lowercase hex.
MD5-looking values (32 hex) are not treated as hashed: no platform here accepts MD5.

Phones are parsed with libphonenumber (`phonenumbers`) in the `region` the caller passes (ISO
3166-1 alpha-2: the conversion's country, else the site's default). Without a region only
numbers written with their country code (`+…` or `00…`) can be read. Only numbers the library
calls valid are hashed: E.164 without '+' for Meta, with '+' for Google and TikTok.

Meta's `fbc`/`fbp` cookies are never hashed: `normalize_fbc`/`normalize_fbp` (and `is_fbc`/
`is_fbp`) check their format, the optional fifth segment included, and keep them as written.

Errors carry the field, a code (`ErrorCode`) and the reason, never the raw value: it is personal
data.
"""

from __future__ import annotations

import enum
import hashlib
import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import date
from types import MappingProxyType
from typing import TypeVar

import phonenumbers

from hubkit.errors import FieldError
from hubkit.vocabulary import DIRECT_PLATFORMS, Platform

__all__ = [
    "META_COOKIE_LANGUAGE_TOKENS",
    "SUPPORTED_FIELDS",
    "ErrorCode",
    "FieldError",
    "PiiError",
    "PiiField",
    "hash_field",
    "hash_for_all",
    "hash_user_data",
    "is_fbc",
    "is_fbp",
    "is_sha256_hex",
    "normalize",
    "normalize_fbc",
    "normalize_fbp",
]


class PiiField(enum.StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    GENDER = "gender"
    DATE_OF_BIRTH = "date_of_birth"
    CITY = "city"
    STATE = "state"
    ZIP = "zip"
    COUNTRY = "country"
    EXTERNAL_ID = "external_id"


class ErrorCode(enum.StrEnum):
    EMPTY = "empty"
    INVALID_TYPE = "invalid_type"
    INVALID_FORMAT = "invalid_format"
    OUT_OF_RANGE = "out_of_range"
    UNKNOWN_VALUE = "unknown_value"
    UNKNOWN_FIELD = "unknown_field"
    UNSUPPORTED_FIELD = "unsupported_field"


class PiiError(ValueError):
    """A value that cannot be normalized; `.error` names the field, its text never the value."""

    def __init__(self, error: FieldError) -> None:
        super().__init__(error.message)
        self.error = error


def _error(field: str, code: ErrorCode, message: str) -> PiiError:
    # Plain str values so FieldError serializes the same everywhere (protobuf, JSON, logs).
    return PiiError(FieldError(field=str(field), code=code.value, message=message))


# ---------------------------------------------------------------------------------------------
# Precompiled patterns and tables (the email/phone paths run once per conversion at ingest).

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_LOWER_HEX64 = re.compile(r"[0-9a-f]{64}")
_SURROGATE = re.compile(r"[\ud800-\udfff]")  # lone surrogates cannot be UTF-8 encoded
_WHITESPACE = re.compile(r"\s+")
_NOT_ASCII_LETTER = re.compile(r"[^a-z]+")
_LETTER = re.compile(r"[^\W\d_]")  # any Unicode letter
_DOB_COMPACT = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")  # YYYYMMDD
_DOB_ISO = re.compile(r"([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})")  # YYYY-MM-DD
_DOB_US = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")  # M/D/YYYY, the Meta doc example
# Meta names: every ASCII punctuation mark and symbol.
_ASCII_PUNCTUATION = str.maketrans("", "", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
# Google names: punctuation in the Unicode sense only (category P), so the ASCII fast path and
# the general path agree: !"#%&'()*,-./:;?@[\]_{} (not the symbols $+<=>^`|~).
_ASCII_UNICODE_P = str.maketrans(
    "", "", "".join(c for c in map(chr, range(128)) if unicodedata.category(c)[0] == "P")
)
_GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
_GENDERS = MappingProxyType({"f": "f", "female": "f", "m": "m", "male": "m"})
# ISO 3166-1 alpha-2, the set the Meta SDK validates against (pycountry 26.2.16).
_COUNTRY_CODES = (
    "ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bl bm bn bo bq "
    "br bs bt bv bw by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm "
    "do dz ec ee eg eh er es et fi fj fk fm fo fr ga gb gd ge gf gg gh gi gl gm gn gp gq gr gs "
    "gt gu gw gy hk hm hn hr ht hu id ie il im in io iq ir is it je jm jo jp ke kg kh ki km kn "
    "kp kr kw ky kz la lb lc li lk lr ls lt lu lv ly ma mc md me mf mg mh mk ml mm mn mo mp mq "
    "mr ms mt mu mv mw mx my mz na nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pl pm "
    "pn pr ps pt pw py qa re ro rs ru rw sa sb sc sd se sg sh si sj sk sl sm sn so sr ss st sv "
    "sx sy sz tc td tf tg th tj tk tl tm tn to tr tt tv tw tz ua ug um us uy uz va vc ve vg vi "
    "vn vu wf ws ye yt za zm zw"
)
_COUNTRIES = frozenset(_COUNTRY_CODES.split())
_MIN_BIRTH_YEAR = 1900


def is_sha256_hex(value: str) -> bool:
    """True for exactly 64 lowercase hex chars, the digest form every platform here accepts."""
    return len(value) == 64 and _LOWER_HEX64.fullmatch(value) is not None


def _sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------------------
# Emails


def _check_email_shape(v: str) -> None:
    # The Meta SDK's test `re.match(r".+@.+\..+")`, exactly: an '@' after the first character,
    # then a '.' at least one character after it and before the last character (the first such
    # '@' leaves the most room, so it is the one to look at). Refused here by design, though the
    # SDK passes them: whitespace and control characters anywhere (`"a b"@c.d`).
    at = v.find("@", 1)
    if at == -1 or v.find(".", at + 2, len(v) - 1) == -1 or " " in v or not v.isprintable():
        raise _error(
            PiiField.EMAIL,
            ErrorCode.INVALID_FORMAT,
            "email must look like name@domain.tld, without spaces",
        )


def _email(value: str) -> str:
    # Meta §1.4/§1.5 and TikTok §3: trimmed (already), lowercased; dots and '+' kept.
    v = value.lower()
    _check_email_shape(v)
    return v


def _google_email(value: str) -> str:
    # §2B.6: lowercase; leading, trailing AND inner whitespace removed. For gmail.com and
    # googlemail.com only, the local part loses every '.' and any '+suffix'; other domains keep
    # both. Not copied from the official utility library (§2B.6 lists them as deviations from
    # the guide): keeping the gmail '+suffix', refusing inner whitespace.
    v = "".join(value.lower().split())
    _check_email_shape(v)
    local, _, domain = v.rpartition("@")
    if domain not in _GMAIL_DOMAINS:
        return v
    local = local.partition("+")[0].replace(".", "")
    if not local:
        raise _error(
            PiiField.EMAIL, ErrorCode.INVALID_FORMAT, "email has no name before the domain"
        )
    return f"{local}@{domain}"


# ---------------------------------------------------------------------------------------------
# Phones: libphonenumber reads the number once per call (`_e164`, the shared step); each
# platform then only picks its form of the E.164 text.

_E164 = phonenumbers.PhoneNumberFormat.E164
# A leading '00' (after spaces or an opening parenthesis): the international prefix of most
# countries, and what the Meta SDK strips (`^\+?0{0,2}`).
_IDD_00 = re.compile(r"[\s(]*00")
# The shortest national number in libphonenumber's metadata has 4 digits (Niue, Tokelau, ...):
# fewer digits cannot be a phone number in any region.
_MIN_PHONE_DIGITS = 4
_PARSE_PROBLEMS = {
    phonenumbers.NumberParseException.NOT_A_NUMBER: (
        ErrorCode.INVALID_FORMAT,
        "phone is not a phone number",
    ),
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: (
        ErrorCode.OUT_OF_RANGE,
        "phone is too short after its international prefix",
    ),
    phonenumbers.NumberParseException.TOO_SHORT_NSN: (
        ErrorCode.OUT_OF_RANGE,
        "phone is too short",
    ),
    phonenumbers.NumberParseException.TOO_LONG: (ErrorCode.OUT_OF_RANGE, "phone is too long"),
}
_INVALID_NUMBER_PROBLEMS = {
    phonenumbers.ValidationResult.TOO_SHORT: (
        ErrorCode.OUT_OF_RANGE,
        "phone is too short for its country",
    ),
    phonenumbers.ValidationResult.TOO_LONG: (
        ErrorCode.OUT_OF_RANGE,
        "phone is too long for its country",
    ),
    phonenumbers.ValidationResult.INVALID_LENGTH: (
        ErrorCode.OUT_OF_RANGE,
        "phone has a length no number of its country has",
    ),
    phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY: (
        ErrorCode.INVALID_FORMAT,
        "phone is a local number without its area code",
    ),
}
_NOT_VALID = (ErrorCode.INVALID_FORMAT, "phone is not a valid number for its country")


def _region(region: object) -> str | None:
    """The ISO 3166-1 alpha-2 region to read national numbers in, or None.

    Any case and surrounding spaces are accepted. Anything else (not two letters, or a code
    libphonenumber does not know, such as "UK") is ignored as if absent: then only numbers
    written with their country code can be read, never a guess.
    """
    if not isinstance(region, str):
        return None
    code = region.strip().upper()
    return code if code in phonenumbers.SUPPORTED_REGIONS else None


def _parse_phone(text: str, region: str | None) -> phonenumbers.PhoneNumber:
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        if exc.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            raise _error(
                PiiField.PHONE,
                ErrorCode.INVALID_FORMAT,
                "phone has no known country code (+ or 00) and no valid region to read it in"
                if region is None
                else "phone has an unknown country code",
            ) from None
        code, message = _PARSE_PROBLEMS.get(exc.error_type, _NOT_VALID)
        raise _error(PiiField.PHONE, code, message) from None


def _phone_number(value: str, region: str | None) -> phonenumbers.PhoneNumber:
    idd = _IDD_00.match(value)
    if idd is None:
        return _parse_phone(value, region)
    international = "+" + value[idd.end() :]
    if region is None:
        return _parse_phone(international, None)
    # The region's own reading first: its international prefix may start with '00' and go on
    # (Brazil's 00 + carrier code). Only if that is not a valid number is '00' read as '+'
    # (a US site with a customer who wrote 0044...: the US prefix is 011).
    try:
        number = _parse_phone(value, region)
    except PiiError:
        return _parse_phone(international, None)
    if phonenumbers.is_valid_number(number):
        return number
    try:
        retry = _parse_phone(international, None)
    except PiiError:
        return number  # its error is the region's reading, the one asked for
    return retry if phonenumbers.is_valid_number(retry) else number


def _e164(value: str, region: str | None) -> str:
    """'+', country code, national number: the one text every platform's phone form comes from.

    National trunk prefixes ("+44 (0)20 …", "020 …" in GB) are the library's business. Only
    numbers it calls valid are kept: a wrong number hashed matches nobody, or somebody else.
    """
    if _LETTER.search(value):
        # Not read as a vanity number ("+1 650 CALL NOW" is a stranger's number) nor as an
        # extension ("ext 5"). Meta's SDK and TikTok (§3) refuse letters too.
        raise _error(PiiField.PHONE, ErrorCode.INVALID_FORMAT, "phone must not contain letters")
    digits = sum(map(str.isdecimal, value))
    if digits == 0:
        raise _error(PiiField.PHONE, ErrorCode.INVALID_FORMAT, "phone has no digits")
    if digits < _MIN_PHONE_DIGITS:
        raise _error(
            PiiField.PHONE, ErrorCode.OUT_OF_RANGE, "phone has too few digits to be a number"
        )
    number = _phone_number(value, region)
    if not phonenumbers.is_valid_number(number):
        reason = phonenumbers.is_possible_number_with_reason(number)
        code, message = _INVALID_NUMBER_PROBLEMS.get(reason, _NOT_VALID)
        raise _error(PiiField.PHONE, code, message)
    if number.extension:
        # A line shared behind a switchboard ("… #5") identifies an organisation, not a person.
        raise _error(PiiField.PHONE, ErrorCode.INVALID_FORMAT, "phone must not have an extension")
    return phonenumbers.format_number(number, _E164)


def _meta_phone(e164: str) -> str:
    # Meta §1.4: country code and number, digits only, no '+'.
    return e164[1:]


def _same(text: str) -> str:
    # Google §2B.6 and TikTok §3 take E.164 with its '+' as it is.
    return text


# ---------------------------------------------------------------------------------------------
# Names, places and the other fields. Each rule receives the trimmed, NFC value (never empty).


def _lower(field: PiiField) -> Callable[[str], str]:
    def rule(value: str) -> str:
        return value.lower()

    rule.__name__ = f"_lower_{field.value}"
    return rule


def _meta_name(field: PiiField) -> Callable[[str], str]:
    # Meta doc: "lowercase, no punctuation; UTF-8 allowed" (the SDK only lowercases). Drops
    # Unicode punctuation and symbols, keeps letters, marks, digits and inner spaces.
    def rule(value: str) -> str:
        v = value.lower()
        if v.isascii():
            v = v.translate(_ASCII_PUNCTUATION)
        else:
            v = "".join(c for c in v if unicodedata.category(c)[0] not in "PS")
        v = " ".join(v.split())  # "Mary - Jane" leaves a double space behind
        if not v:
            raise _error(field, ErrorCode.INVALID_FORMAT, f"{field.value} has no letters")
        return v

    rule.__name__ = f"_meta_{field.value}"
    return rule


# Google names (§2B.6): titles before and generational or degree suffixes after a name. Short
# closed lists of words that are never a name on their own; matched after punctuation removal
# ("Mrs." -> "mrs", "Ph.D." -> "phd").
_NAME_PREFIXES = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof"})
_NAME_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "phd", "md", "esq"})


def _google_name(field: PiiField) -> Callable[[str], str]:
    # §2B.6 givenName/familyName: "lowercase; no prefixes (Mrs.) or suffixes (Jr.); trim", and
    # the proto says "no punctuation". Read conservatively:
    #   - punctuation is Unicode category P, removed in place ("O'Brien" -> "obrien",
    #     "Mary-Jane" -> "maryjane"); letters, marks, digits and symbols stay;
    #   - inner spaces stay, runs collapsed to one ("Mary  Ann" -> "mary ann"): the guide does
    #     not remove them (the official library does; a deviation §2B.6 says not to copy);
    #   - prefixes/suffixes: whole words of the two lists above, at the start or at the end
    #     of either name, and never the last word left ("Dr" alone stays "dr"); particles such
    #     as "van" or "de" are part of the name and stay.
    def rule(value: str) -> str:
        v = value.lower()
        if v.isascii():
            v = v.translate(_ASCII_UNICODE_P)
        else:
            v = "".join(c for c in v if unicodedata.category(c)[0] != "P")
        words = v.split()
        start, end = 0, len(words)
        while end - start > 1 and words[start] in _NAME_PREFIXES:
            start += 1
        while end - start > 1 and words[end - 1] in _NAME_SUFFIXES:
            end -= 1
        if start == end:
            raise _error(field, ErrorCode.INVALID_FORMAT, f"{field.value} has no letters")
        return " ".join(words[start:end])

    rule.__name__ = f"_google_{field.value}"
    return rule


def _meta_place(field: PiiField) -> Callable[[str], str]:
    # Meta city/state: letters only (doc: no punctuation, special characters or spaces). Equals
    # the SDK's [0-9.\s\-()] removal on its examples and also drops apostrophes and commas.
    # No state-name -> code mapping (SDK: "California" -> "california").
    def rule(value: str) -> str:
        v = value.lower()
        if v.isascii():
            v = _NOT_ASCII_LETTER.sub("", v)
        else:
            # Marks stay: several scripts (Devanagari, Thai) write vowels with them.
            v = "".join(c for c in v if c.isalpha() or unicodedata.category(c)[0] == "M")
        if not v:
            raise _error(field, ErrorCode.INVALID_FORMAT, f"{field.value} has no letters")
        return v

    rule.__name__ = f"_meta_{field.value}"
    return rule


def _zip(value: str) -> str:
    # SDK: drop whitespace, keep what precedes the first '-' ("94035-1234" -> "94035",
    # "M1 1AE" -> "m11ae"). No 5-digit cut: that needs the country, which a field rule lacks.
    v = _WHITESPACE.sub("", value.lower()).split("-", 1)[0]
    if not v:
        raise _error(PiiField.ZIP, ErrorCode.INVALID_FORMAT, "zip has no characters before '-'")
    return v


def _country(value: str) -> str:
    # SDK: keep a-z only, then require a real ISO 3166-1 alpha-2 code. Country names are an
    # error, not mapped ("United States" -> "unitedstates"), as in the SDK.
    v = _NOT_ASCII_LETTER.sub("", value.lower())
    if len(v) != 2:
        raise _error(
            PiiField.COUNTRY,
            ErrorCode.INVALID_FORMAT,
            "country must be a 2-letter ISO 3166-1 alpha-2 code such as 'us'",
        )
    if v not in _COUNTRIES:
        raise _error(
            PiiField.COUNTRY,
            ErrorCode.UNKNOWN_VALUE,
            "country is not an ISO 3166-1 alpha-2 code",
        )
    return v


def _gender(value: str) -> str:
    g = _GENDERS.get(value.lower())
    if g is None:
        raise _error(
            PiiField.GENDER, ErrorCode.UNKNOWN_VALUE, "gender must be one of f, m, female, male"
        )
    return g


def _date_of_birth(value: str) -> str:
    # Meta doc: YYYYMMDD, year 1900..now. Accepted input: YYYYMMDD, YYYY-MM-DD (also / or .),
    # and M/D/YYYY as in the doc's "2/16/1997". D/M/Y is ambiguous with it, so it is refused.
    if m := _DOB_COMPACT.fullmatch(value) or _DOB_ISO.fullmatch(value):
        year, month, day = m.groups()
    elif m := _DOB_US.fullmatch(value):
        month, day, year = m.groups()
    else:
        raise _error(
            PiiField.DATE_OF_BIRTH,
            ErrorCode.INVALID_FORMAT,
            "date_of_birth must be YYYYMMDD, YYYY-MM-DD or MM/DD/YYYY",
        )
    try:
        born = date(int(year), int(month), int(day))
    except ValueError:
        born = None
    if born is None or born.year < _MIN_BIRTH_YEAR or born > date.today():
        raise _error(
            PiiField.DATE_OF_BIRTH,
            ErrorCode.OUT_OF_RANGE,
            "date_of_birth must be a real date between 1900-01-01 and today",
        )
    return f"{born.year:04d}{born.month:02d}{born.day:02d}"


def _external_id(value: str) -> str:
    # Advertiser ids may be case-sensitive: trimmed only. Meta's SDK sends it raw; Meta
    # recommends and TikTok requires hashing, so both get the digest.
    return value


# ---------------------------------------------------------------------------------------------
# Rule tables

_Rule = Callable[[str], str]
# Platform-independent steps, run once per field and call before any platform rule: the costly
# phone parse is shared by the three platforms.
_SHARED_STEPS: dict[str, Callable[[str, str | None], str]] = {PiiField.PHONE: _e164}

_META: dict[PiiField, _Rule] = {
    PiiField.EMAIL: _email,
    PiiField.PHONE: _meta_phone,
    PiiField.FIRST_NAME: _meta_name(PiiField.FIRST_NAME),
    PiiField.LAST_NAME: _meta_name(PiiField.LAST_NAME),
    PiiField.GENDER: _gender,
    PiiField.DATE_OF_BIRTH: _date_of_birth,
    PiiField.CITY: _meta_place(PiiField.CITY),
    PiiField.STATE: _meta_place(PiiField.STATE),
    PiiField.ZIP: _zip,
    PiiField.COUNTRY: _country,
    PiiField.EXTERNAL_ID: _external_id,
}
# Google (§2B.5/§2B.6) hashes email, phone and the address's given/family names; region code
# and postal code go in plain text, so they are not ours to hash.
_GOOGLE: dict[PiiField, _Rule] = {
    PiiField.EMAIL: _google_email,
    PiiField.PHONE: _same,
    PiiField.FIRST_NAME: _google_name(PiiField.FIRST_NAME),
    PiiField.LAST_NAME: _google_name(PiiField.LAST_NAME),
}
# TikTok: email, phone, external_id per the API; first/last name and zip_code are hashed by
# third-party integrations only (docs/platforms.md §3.2, an optional extension with no rule
# given: lowercase); city/state/country go in plain text.
_TIKTOK: dict[PiiField, _Rule] = {
    PiiField.EMAIL: _email,
    PiiField.PHONE: _same,
    PiiField.EXTERNAL_ID: _external_id,
    PiiField.FIRST_NAME: _lower(PiiField.FIRST_NAME),
    PiiField.LAST_NAME: _lower(PiiField.LAST_NAME),
    PiiField.ZIP: _zip,
}
_BY_PLATFORM = {Platform.META: _META, Platform.GOOGLE: _GOOGLE, Platform.TIKTOK: _TIKTOK}
# One flat dict keyed (platform, field): a single lookup on the hot path.
_RULES: dict[tuple[str, str], _Rule] = {
    (platform, field): rule
    for platform, rules in _BY_PLATFORM.items()
    for field, rule in rules.items()
}
# For hash_for_all: which platforms take each field, with their rule.
_RULES_BY_FIELD: dict[PiiField, tuple[tuple[Platform, _Rule], ...]] = {
    field: tuple(
        (platform, rules[field]) for platform, rules in _BY_PLATFORM.items() if field in rules
    )
    for field in PiiField
}

SUPPORTED_FIELDS: Mapping[Platform, frozenset[PiiField]] = MappingProxyType(
    {platform: frozenset(rules) for platform, rules in _BY_PLATFORM.items()}
)
"""The fields each platform receives hashed; others are skipped by `hash_user_data`."""


def _unknown_field(key: str) -> PiiError:
    return _error(str(key), ErrorCode.UNKNOWN_FIELD, "unknown personal-data field")


def _unsupported(platform: str, field: str) -> PiiError:
    Platform(platform)  # an unknown platform is a programming error: plain ValueError
    try:
        known = PiiField(field)
    except ValueError:
        return _unknown_field(field)
    return _error(known, ErrorCode.UNSUPPORTED_FIELD, f"{known.value} is not hashed for {platform}")


def _shared(field: str, value: str, region: str | None) -> tuple[str, bool]:
    """(text, is_digest) before any platform rule: steps 1-4 of the module docstring."""
    if not isinstance(value, str):
        raise _error(field, ErrorCode.INVALID_TYPE, f"{field} must be a string")
    v = value.strip()
    if not v:
        raise _error(field, ErrorCode.EMPTY, f"{field} is empty")
    if len(v) == 64 and _HEX64.fullmatch(v):
        return v.lower(), True
    if not v.isascii():
        if _SURROGATE.search(v):
            raise _error(field, ErrorCode.INVALID_FORMAT, f"{field} is not valid Unicode text")
        v = unicodedata.normalize("NFC", v)
    step = _SHARED_STEPS.get(field)
    return (v if step is None else step(v, region)), False


def _prepare(platform: str, field: str, value: str, region: str | None) -> tuple[str, bool]:
    """(text, is_digest): the normalized text to hash, or an existing digest to pass through."""
    rule = _RULES.get((platform, field))
    if rule is None:
        raise _unsupported(platform, field)
    text, is_digest = _shared(field, value, region)
    return (text, True) if is_digest else (rule(text), False)


def normalize(platform: Platform, field: PiiField, value: str, *, region: str | None = None) -> str:
    """The text `platform` expects hashed for `field` (an existing digest comes back as is).

    `region` (ISO 3166-1 alpha-2) is where a phone written without its country code is read.
    """
    return _prepare(platform, field, value, _region(region))[0]


def hash_field(
    platform: Platform, field: PiiField, value: str, *, region: str | None = None
) -> str:
    """SHA-256 lowercase hex of the normalized value, or the value itself if already a digest."""
    text, is_digest = _prepare(platform, field, value, _region(region))
    return text if is_digest else _sha256_hex(text)


_K = TypeVar("_K", bound=str)


def _field_of(key: str) -> PiiField | None:
    try:
        return PiiField(key)
    except ValueError:
        return None


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def hash_user_data(
    platform: Platform, data: Mapping[_K, str], *, region: str | None = None
) -> tuple[dict[PiiField, str], list[FieldError]]:
    """Hash every non-empty field `platform` takes; a bad field is reported, the rest still hashed.

    Keys are `PiiField`s or their string values. Blank values and fields the platform does not
    hash (see `SUPPORTED_FIELDS`) are skipped; an unknown key is an `unknown_field` error.
    `region` (ISO 3166-1 alpha-2; the conversion's country, else the site's) is where a phone
    without its country code is read; an invalid region is ignored.
    """
    region_code = _region(region)
    supported = SUPPORTED_FIELDS[Platform(platform)]
    hashed: dict[PiiField, str] = {}
    errors: list[FieldError] = []
    for key, value in data.items():
        if _is_blank(value):
            continue
        field = _field_of(key)
        if field is None:
            errors.append(_unknown_field(key).error)
        elif field in supported:
            try:
                text, is_digest = _prepare(platform, field, value, region_code)
            except PiiError as exc:
                errors.append(exc.error)
                continue
            hashed[field] = text if is_digest else _sha256_hex(text)
    return hashed, errors


def hash_for_all(
    data: Mapping[_K, str], *, region: str | None = None
) -> tuple[dict[Platform, dict[PiiField, str]], list[FieldError]]:
    """`hash_user_data` for every platform at once, hashing each distinct normalization once.

    A phone is parsed once and costs two SHA-256 (Meta without '+', Google/TikTok with); an
    email that is the same text for all three costs one. Errors are reported once per field and
    problem. `region` as for `hash_user_data`.
    """
    region_code = _region(region)
    result: dict[Platform, dict[PiiField, str]] = {platform: {} for platform in DIRECT_PLATFORMS}
    errors: list[FieldError] = []
    for key, value in data.items():
        if _is_blank(value):
            continue
        field = _field_of(key)
        if field is None:
            errors.append(_unknown_field(key).error)
            continue
        try:
            text, is_digest = _shared(field, value, region_code)
        except PiiError as exc:
            errors.append(exc.error)
            continue
        digests: dict[str, str] = {}
        for platform, rule in _RULES_BY_FIELD[field]:
            if is_digest:
                result[platform][field] = text
                continue
            try:
                normalized = rule(text)
            except PiiError as exc:
                if exc.error not in errors:
                    errors.append(exc.error)
                continue
            digest = digests.get(normalized)
            if digest is None:
                digest = digests[normalized] = _sha256_hex(normalized)
            result[platform][field] = digest
    return result, errors


# ---------------------------------------------------------------------------------------------
# Meta's click and browser cookies (docs/platforms.md §1.4). Never hashed: sent exactly as
# the browser holds them (the fbclid is case-sensitive), so "normalizing" is trimming plus a
# format check.
#
#   fbc = fb.<subdomain index>.<creation time>.<fbclid>[.<appendix>]
#   fbp = fb.<subdomain index>.<creation time>.<random number>[.<appendix>]
#
# Meta's Parameter Builder writes the optional fifth segment: a 2-character language token or
# an 8-character base64url appendix (6 bytes: format, language, is-new, version). Its own
# parser takes 4 or 5 segments and refuses any other appendix (capi-param-builder
# `_pre_process_cookies`); so does this one. The creation time is Unix milliseconds (10 digits
# admitted for second-precision writers); ASCII digits only.

META_COOKIE_LANGUAGE_TOKENS = frozenset({"AQ", "Ag", "Aw", "BA", "BQ", "Bg"})
_COOKIE_HEAD = r"fb\.[0-9]\.[0-9]{10,13}\."
_COOKIE_APPENDIX = (
    r"(?:\.(?:" + "|".join(sorted(META_COOKIE_LANGUAGE_TOKENS)) + r"|[A-Za-z0-9_-]{8}))?"
)
# The fbclid: printable ASCII without spaces or dots (a dot would start another segment).
_FBC = re.compile(_COOKIE_HEAD + r"[!-\-/-~]{1,500}" + _COOKIE_APPENDIX)
_FBP = re.compile(_COOKIE_HEAD + r"[0-9]{1,30}" + _COOKIE_APPENDIX)
_COOKIE_SHAPES = {
    "fbc": (_FBC, "fbc must be fb.<subdomain index>.<creation time ms>.<fbclid>[.<appendix>]"),
    "fbp": (_FBP, "fbp must be fb.<subdomain index>.<creation time ms>.<random>[.<appendix>]"),
}


def is_fbc(value: str) -> bool:
    """A well-formed `_fbc` cookie value, 4 or 5 segments (surrounding whitespace not allowed)."""
    return isinstance(value, str) and _FBC.fullmatch(value) is not None


def is_fbp(value: str) -> bool:
    """A well-formed `_fbp` cookie value, 4 or 5 segments (surrounding whitespace not allowed)."""
    return isinstance(value, str) and _FBP.fullmatch(value) is not None


def _meta_cookie(field: str, value: str) -> str:
    pattern, rule = _COOKIE_SHAPES[field]
    if not isinstance(value, str):
        raise _error(field, ErrorCode.INVALID_TYPE, f"{field} must be a string")
    v = value.strip()
    if not v:
        raise _error(field, ErrorCode.EMPTY, f"{field} is empty")
    if pattern.fullmatch(v) is None:
        raise _error(field, ErrorCode.INVALID_FORMAT, rule)
    return v


def normalize_fbc(value: str) -> str:
    """The `fbc` to send: trimmed, otherwise unchanged (case kept, appendix kept)."""
    return _meta_cookie("fbc", value)


def normalize_fbp(value: str) -> str:
    """The `fbp` to send: trimmed, otherwise unchanged (appendix kept)."""
    return _meta_cookie("fbp", value)
