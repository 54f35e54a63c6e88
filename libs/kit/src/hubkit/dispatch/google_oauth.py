"""Google OAuth2 access tokens from a site's refresh token (docs/platforms.md §2.2, §2B.1):
`POST {token_url}` with the refresh-token grant. A `TokenProvider(OAuthClient(...).fetch)`
caches each token, refreshes it before it expires and on ACCESS_TOKEN_EXPIRED, one fetch at a
time. Shared by dispatch-google (conversions) and attribution (spend reports); the credentials
file format is `hubkit.dispatch.google_credentials`."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from hubkit.dispatch import http
from hubkit.dispatch.credentials import CredentialsMissing
from hubkit.dispatch.google_credentials import GoogleCredentials
from hubkit.dispatch.model import PlatformError
from hubkit.dispatch.redaction import scrub
from hubkit.dispatch.tokens import AccessToken, TokenUnavailable
from hubkit.vocabulary import ErrorClass

DATA_MANAGER_SCOPE = "https://www.googleapis.com/auth/datamanager"
ADWORDS_SCOPE = "https://www.googleapis.com/auth/adwords"


class OAuthClient:
    def __init__(
        self,
        token_url: str,
        credentials: Callable[[str], GoogleCredentials],
        *,
        timeout: float = 15.0,
        client: httpx.AsyncClient | None = None,
        user_agent: str = "convhub",
    ) -> None:
        self._url = token_url
        self._credentials = credentials
        self._http = client or http.client(timeout=timeout, user_agent=user_agent)

    async def fetch(self, ref: str) -> AccessToken:
        """A fresh access token for the credentials `ref`; TokenUnavailable says why not."""
        try:
            creds = self._credentials(ref)
        except CredentialsMissing as exc:
            raise TokenUnavailable(exc.error) from None
        secrets = (creds.client_secret, creds.refresh_token)
        form = {
            "grant_type": "refresh_token",
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
            "refresh_token": creds.refresh_token,
        }
        try:
            response = await self._http.post(self._url, data=form)
        except httpx.HTTPError as exc:
            message = scrub(f"token endpoint unreachable: {type(exc).__name__}", secrets)
            raise TokenUnavailable(
                PlatformError(ErrorClass.TRANSIENT, "NETWORK", message)
            ) from None
        body = http.json_object(response)
        token, expires_in = body.get("access_token"), body.get("expires_in", 3599)
        if response.status_code == 200 and isinstance(token, str) and token:
            return AccessToken(token, float(expires_in) if _number(expires_in) else 3599.0)
        raise TokenUnavailable(_refusal(response.status_code, body, secrets))

    async def close(self) -> None:
        await self._http.aclose()


def _refusal(status: int, body: dict[str, object], secrets: tuple[str, ...]) -> PlatformError:
    code = str(body.get("error") or f"HTTP {status}")
    detail = scrub(str(body.get("error_description") or ""), secrets)[:300]
    if status == 429:  # waits uncharged, like a throttle of the API itself
        return PlatformError(ErrorClass.THROTTLE, code, f"token endpoint: {code} {detail}".strip())
    if status >= 500:
        return PlatformError(ErrorClass.TRANSIENT, code, f"token endpoint: {code} {detail}".strip())
    # invalid_grant (revoked or expired refresh token), invalid_client: a person must act.
    return PlatformError(
        ErrorClass.AUTH,
        code,
        f"Google refused the refresh token ({code}{': ' + detail if detail else ''}); "
        "the advertiser must authorise convhub again and the credentials file be updated",
    )


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0
