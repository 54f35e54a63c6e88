"""The EraseUser use case: find a person by any hash variant of one identifier, erase them."""

from __future__ import annotations

from hubkit import pii
from hubkit.errors import FieldError, InvalidArgument
from ingest.ports import Erasure, ErasureStore


def identifier_variants(kind: pii.PiiField, value: str) -> list[str]:
    """Every platform's hash of one identifier, exactly as ingest stored it (or the given hash)."""
    value = value.strip()
    if pii.is_sha256_hex(value.lower()):
        return [value.lower()]
    variants = set()
    for platform, fields in pii.SUPPORTED_FIELDS.items():
        if kind in fields:
            try:
                variants.add(pii.hash_field(platform, kind, value))
            except pii.PiiError:
                continue
    return sorted(variants)


class EraseUser:
    def __init__(self, store: ErasureStore) -> None:
        self._store = store

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
        hashes = identifier_variants(pii.PiiField(name), value)
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
