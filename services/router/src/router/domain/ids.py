"""Deterministic ids: the same items always give the same message id, whatever their order."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def batch_digest(item_ids: Iterable[str]) -> str:
    """A digest of a set of item ids; a redelivered input yields the same outputs' ids."""
    h = hashlib.sha256()
    for item_id in sorted(set(item_ids)):
        h.update(item_id.encode())
        h.update(b"\n")
    return h.hexdigest()[:32]


def message_id(kind: str, site_id: str, item_ids: Iterable[str]) -> str:
    """Nats-Msg-Id of an output batch: `router.<kind>.<site>.<digest of its items>`."""
    return f"router.{kind}.{site_id}.{batch_digest(item_ids)}"
