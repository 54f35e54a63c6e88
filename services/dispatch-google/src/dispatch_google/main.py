"""Composition root of dispatch-google: Google adapters on the shared dispatch engine."""

from __future__ import annotations

from dispatch_google.adapters.ads_client import AdsClient
from dispatch_google.adapters.dm_client import DataManagerClient
from dispatch_google.app.platform import GOOGLE_POLICY, GooglePlatform
from dispatch_google.config import Settings
from dispatch_google.domain.rules import MAX_EVENTS_PER_REQUEST
from hubkit.dispatch import CredentialStore, serve_dispatcher
from hubkit.dispatch.google_credentials import GoogleCredentialFiles
from hubkit.dispatch.google_oauth import OAuthClient
from hubkit.dispatch.tokens import TokenProvider
from hubkit.service import run


def build_platform(settings: Settings) -> GooglePlatform:
    """The Google adapter with this environment's policy (raises ConfigError when unusable)."""
    policy = settings.policy(GOOGLE_POLICY, hard_max_batch=MAX_EVENTS_PER_REQUEST)
    timeout = settings.http_timeout_seconds
    credentials = GoogleCredentialFiles(CredentialStore(settings.credentials_dir))
    oauth = OAuthClient(
        settings.google_oauth_url,
        credentials.credentials,
        timeout=timeout,
        user_agent="convhub-dispatch-google",
    )
    return GooglePlatform(
        DataManagerClient(settings.google_data_manager_url, timeout=timeout),
        AdsClient(
            settings.google_ads_url, api_version=settings.google_ads_api_version, timeout=timeout
        ),
        credentials,
        TokenProvider(oauth.fetch),
        policy,
        status_delay=settings.google_status_delay_seconds,
        project_requests_per_minute=settings.google_project_requests_per_minute,
        on_close=oauth.close,
    )


if __name__ == "__main__":
    run(lambda: serve_dispatcher(Settings, build_platform))
