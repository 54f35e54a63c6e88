"""Normalize and SHA-256 hash personal data with each ad platform's rules (Meta, Google, TikTok).

Rules follow `shared/reference/platform-contracts.md` (§1.4/§1.5 Meta, §2.5 Google, §3 TikTok).
Where the vendor doc and the vendor SDK disagree, the choice made is written next to the rule.

Common to every field and platform, in this order:
  1. surrounding whitespace is trimmed; an empty result is an error (`empty`), never hashed;
  2. a value that already is a SHA-256 digest (64 hex chars, any case) passes through, lowercased
     (the Meta SDK lowercases before its own check; every platform wants lowercase hex);
  3. non-ASCII text is put in Unicode NFC, so composed and decomposed input hash alike;
  4. the field rule runs, then SHA-256 over UTF-8, lowercase hex.
MD5-looking values (32 hex) are not treated as hashed: no platform here accepts MD5.

Meta's `fbc`/`fbp` cookies are never hashed: `normalize_fbc`/`normalize_fbp` (and `is_fbc`/
`is_fbp`) check their format, the optional fifth segment included, and keep them as written.

Errors carry the field and a code (`ErrorCode`) and never the raw value: it is personal data.
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
# Precompiled patterns and tables (the email/phone paths run ~1M times a second at ingest).

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_LOWER_HEX64 = re.compile(r"[0-9a-f]{64}")
_SURROGATE = re.compile(r"[\ud800-\udfff]")  # lone surrogates cannot be UTF-8 encoded
# Visual phone separators: the SDK's [\s\-()] plus '.' and '/' (doc: "remove symbols").
_PHONE_SEPARATORS = re.compile(r"[\s\-()./]+")
_WHITESPACE = re.compile(r"\s+")
_NOT_ASCII_LETTER = re.compile(r"[^a-z]+")
_DOB_COMPACT = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")  # YYYYMMDD
_DOB_ISO = re.compile(r"([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})")  # YYYY-MM-DD
_DOB_US = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")  # M/D/YYYY, the Meta doc example
_ASCII_PUNCTUATION = str.maketrans("", "", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
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
# Field rules. Each receives the trimmed, NFC value (never empty) and returns the text to hash.


def _email(value: str) -> str:
    # SDK rule `.+@.+\..+` (something, '@', something, '.', something), plus no whitespace or
    # control characters anywhere: the SDK passes `"a b"@c.d`, rejected here by design.
    v = value.lower()
    at = v.find("@")
    if at < 1 or " " in v or not v.isprintable() or v.find(".", at + 2, len(v) - 1) == -1:
        raise _error(
            PiiField.EMAIL,
            ErrorCode.INVALID_FORMAT,
            "email must look like name@domain.tld, without spaces",
        )
    return v


def _google_email(value: str) -> str:
    # Google: dots before the domain are dropped for gmail.com/googlemail.com only. '+suffix' is
    # kept: the doc does not remove it (the library example strips '+' everywhere; not copied).
    v = _email(value)
    local, _, domain = v.rpartition("@")
    if domain not in _GMAIL_DOMAINS:
        return v
    local = local.replace(".", "")
    if not local:
        raise _error(
            PiiField.EMAIL, ErrorCode.INVALID_FORMAT, "email has no name before the domain"
        )
    return f"{local}@{domain}"


def _phone_digits(value: str) -> str:
    """Country code + subscriber digits, no '+': what Meta hashes and E.164 is built from."""
    digits = _PHONE_SEPARATORS.sub("", value)
    # '+' or the '00' international prefix (the SDK's ^\+?0{0,2}); "+00" is tolerated like there.
    if digits.startswith("+"):
        digits = digits[1:]
    if digits.startswith("00"):
        digits = digits[2:]
    if not (digits.isascii() and digits.isdigit()):
        raise _error(
            PiiField.PHONE,
            ErrorCode.INVALID_FORMAT,
            "phone may hold only digits, a leading + or 00, spaces, dashes, dots and parentheses",
        )
    if digits[0] == "0":
        # A national trunk prefix: the country code is missing, any guess would hash garbage.
        raise _error(
            PiiField.PHONE,
            ErrorCode.INVALID_FORMAT,
            "phone must start with the country code (+ or 00 prefix), not a national 0",
        )
    if not 7 <= len(digits) <= 15:  # SDK minimum; E.164 maximum
        raise _error(
            PiiField.PHONE,
            ErrorCode.OUT_OF_RANGE,
            "phone must have 7 to 15 digits including the country code",
        )
    return digits


def _e164_phone(value: str) -> str:
    return "+" + _phone_digits(value)


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


_Rule = Callable[[str], str]

_META: dict[PiiField, _Rule] = {
    PiiField.EMAIL: _email,
    PiiField.PHONE: _phone_digits,
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
# Google hashes email and phone (click conversions) and first/last name (GA4 MP address);
# city, region, postal code and country go there in plain text, so they are not ours to hash.
_GOOGLE: dict[PiiField, _Rule] = {
    PiiField.EMAIL: _google_email,
    PiiField.PHONE: _e164_phone,
    PiiField.FIRST_NAME: _lower(PiiField.FIRST_NAME),
    PiiField.LAST_NAME: _lower(PiiField.LAST_NAME),
}
# TikTok: email, phone, external_id per the API; first/last name and zip_code are hashed by
# third-party integrations only (contract §3, "optional extension"); city/state/country plain.
_TIKTOK: dict[PiiField, _Rule] = {
    PiiField.EMAIL: _email,
    PiiField.PHONE: _e164_phone,
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


def _prepare(platform: str, field: str, value: str) -> tuple[str, bool]:
    """(text, is_digest): the normalized text to hash, or an existing digest to pass through."""
    rule = _RULES.get((platform, field))
    if rule is None:
        raise _unsupported(platform, field)
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
    return rule(v), False


def normalize(platform: Platform, field: PiiField, value: str) -> str:
    """The text `platform` expects hashed for `field` (an existing digest comes back as is)."""
    return _prepare(platform, field, value)[0]


def hash_field(platform: Platform, field: PiiField, value: str) -> str:
    """SHA-256 lowercase hex of the normalized value, or the value itself if already a digest."""
    text, is_digest = _prepare(platform, field, value)
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
    platform: Platform, data: Mapping[_K, str]
) -> tuple[dict[PiiField, str], list[FieldError]]:
    """Hash every non-empty field `platform` takes; a bad field is reported, the rest still hashed.

    Keys are `PiiField`s or their string values. Blank values and fields the platform does not
    hash (see `SUPPORTED_FIELDS`) are skipped; an unknown key is an `unknown_field` error.
    """
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
                hashed[field] = hash_field(platform, field, value)
            except PiiError as exc:
                errors.append(exc.error)
    return hashed, errors


def hash_for_all(
    data: Mapping[_K, str],
) -> tuple[dict[Platform, dict[PiiField, str]], list[FieldError]]:
    """`hash_user_data` for every platform at once, hashing each distinct normalization once.

    E.g. an email that is the same text for all three costs one SHA-256; a phone costs two
    (Meta without '+', Google/TikTok with). Errors are reported once per field and problem.
    """
    result: dict[Platform, dict[PiiField, str]] = {platform: {} for platform in DIRECT_PLATFORMS}
    errors: list[FieldError] = []
    for key, value in data.items():
        if _is_blank(value):
            continue
        field = _field_of(key)
        if field is None:
            errors.append(_unknown_field(key).error)
            continue
        digests: dict[str, str] = {}
        for platform, fields in SUPPORTED_FIELDS.items():
            if field not in fields:
                continue
            try:
                text, is_digest = _prepare(platform, field, value)
            except PiiError as exc:
                if exc.error not in errors:
                    errors.append(exc.error)
                continue
            if is_digest:
                result[platform][field] = text
                continue
            digest = digests.get(text)
            if digest is None:
                digest = digests[text] = _sha256_hex(text)
            result[platform][field] = digest
    return result, errors


# ---------------------------------------------------------------------------------------------
# Meta's click and browser cookies (platform-contracts.md §1.4). Never hashed: sent exactly as
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
