"""Google OAuth credentials from the credentials directory, one JSON file per reference:

    {"client_id": "123456789012-abc.apps.googleusercontent.com", "client_secret": "...",
     "refresh_token": "...", "project": "123456789012", "developer_token": "..."}

`project` (the Google Cloud project whose quota the client draws on) defaults to the number
that starts a Google OAuth client id; `developer_token` is only for the Google Ads API path.

Shared by every service that calls Google with a site's refresh token (dispatch-google's
conversions, attribution's spend reports): one file format, one reader. No HTTP here, so use
cases may name `GoogleCredentials`; the token grant is `hubkit.dispatch.google_oauth`.
"""

from __future__ import annotations

from dataclasses import dataclass

from hubkit.dispatch.credentials import CredentialsMissing, CredentialStore


@dataclass(frozen=True, repr=False)
class GoogleCredentials:
    """An OAuth client and its refresh token (`GoogleCredentialFiles` reads them from a file)."""

    client_id: str
    client_secret: str
    refresh_token: str
    project: str
    developer_token: str = ""

    def __repr__(self) -> str:  # never print a secret
        return f"GoogleCredentials(project={self.project!r})"


class GoogleCredentialFiles:
    """Re-read when a Secret rotates (the store watches each file's mtime)."""

    def __init__(self, store: CredentialStore) -> None:
        self._store = store

    def credentials(self, ref: str) -> GoogleCredentials:
        data = self._store.read_json(ref)
        values = {}
        for key in ("client_id", "client_secret", "refresh_token"):
            value = data.get(key)
            if not isinstance(value, str) or not value.strip():
                raise CredentialsMissing(f"credentials reference {ref!r} has no {key}")
            values[key] = value.strip()
        project = str(data.get("project") or values["client_id"].split("-", 1)[0]).strip()
        developer_token = data.get("developer_token")
        return GoogleCredentials(
            **values,
            project=project,
            developer_token=developer_token.strip() if isinstance(developer_token, str) else "",
        )
