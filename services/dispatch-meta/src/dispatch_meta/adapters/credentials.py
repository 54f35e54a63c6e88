"""Meta credentials from the credentials directory: {"access_token", "app_secret"?} or a token."""

from __future__ import annotations

from dispatch_meta.domain.model import MetaCredentials
from hubkit.dispatch.credentials import CredentialsMissing, CredentialStore


class MetaCredentialFiles:
    """The CredentialSource over CONVHUB_CREDENTIALS_DIR (re-read when a Secret rotates)."""

    def __init__(self, store: CredentialStore) -> None:
        self._store = store

    def meta_credentials(self, ref: str) -> MetaCredentials:
        value = self._store.read_json(ref)
        token = value.get("access_token")
        if not isinstance(token, str) or not token.strip():
            raise CredentialsMissing(f"credentials reference {ref!r} has no access_token")
        secret = value.get("app_secret", "")
        return MetaCredentials(token.strip(), secret.strip() if isinstance(secret, str) else "")
