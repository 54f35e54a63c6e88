"""Secrets from the credentials directory (hubkit's CredentialStore, as the dispatchers read
theirs): webhook signing secrets and the HubSpot access token."""

from __future__ import annotations

from hubkit.dispatch.credentials import CredentialsMissing, CredentialStore
from ingest.ports import SecretUnavailable


class CredentialFiles:
    def __init__(self, store: CredentialStore) -> None:
        self._store = store

    def read(self, ref: str) -> str:
        try:
            return self._store.read(ref)
        except CredentialsMissing as exc:
            raise SecretUnavailable(str(exc)) from None
