"""The EraseUser use case: find a person by any hash variant of one identifier, erase them."""

from __future__ import annotations

from hubkit import pii
from hubkit.errors import FieldError, InvalidArgument
from ingest.ports import Erasure, ErasureStore, SitePolicies


def identifier_variants(kind: pii.PiiField, value: str, *, region: str | None = None) -> list[str]:
    """Every platform's hash of one identifier, exactly as ingest stored it (or the given hash);
    a raw phone is read as at ingestion, national numbers in `region`."""
    value = value.strip()
    if pii.is_sha256_hex(value.lower()):
        return [value.lower()]
    variants = set()
    for platform, fields in pii.SUPPORTED_FIELDS.items():
        if kind in fields:
            try:
                variants.add(pii.hash_field(platform, kind, value, region=region))
            except pii.PiiError:
                continue
    return sorted(variants)


class EraseUser:
    def __init__(self, store: ErasureStore, policies: SitePolicies) -> None:
        self._store = store
        self._policies = policies  # a raw national phone is read in the site's country

    async def __call__(
        self, site_id: str, *, email: str = "", phone: str = "", external_id: str = ""
    ) -> Erasure:
        given = [
            (n, v)
            for n, v in (("email", email), ("phone", phone), ("external_id", external_id))
            if v.strip()
        ]
        if len(given) != 1:
            raise InvalidArgument(
                "name exactly one of hashed_email, hashed_phone, external_id",
                [FieldError("subject", "REQUIRED", "exactly one identifier")],
            )
        name, value = given[0]
        region = self._policies.get(site_id).default_country or None
        hashes = identifier_variants(pii.PiiField(name), value, region=region)
        if not hashes:
            raise InvalidArgument(
                f"{name} is neither a SHA-256 hex nor a valid {name}",
                [FieldError(name, "INVALID_FORMAT", f"not a valid {name}")],
            )
        return await self._store.erase(
            site_id,
            email_hashes=hashes if name == "email" else [],
            phone_hashes=hashes if name == "phone" else [],
            external_id_hashes=hashes if name == "external_id" else [],
        )
