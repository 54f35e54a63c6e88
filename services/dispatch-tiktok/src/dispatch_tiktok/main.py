"""Composition root of dispatch-tiktok: TikTok adapters on the shared dispatch engine."""

from __future__ import annotations

from dispatch_tiktok.adapters.credentials import TikTokCredentialFiles
from dispatch_tiktok.adapters.track_client import TrackClient
from dispatch_tiktok.app.platform import TIKTOK_POLICY, TikTokPlatform
from dispatch_tiktok.config import Settings
from dispatch_tiktok.domain.rules import MAX_EVENTS_PER_REQUEST
from hubkit.dispatch import CredentialStore, serve_dispatcher
from hubkit.service import run


def build_platform(settings: Settings) -> TikTokPlatform:
    """The TikTok adapter with this environment's policy (raises ConfigError when unusable)."""
    policy = settings.policy(TIKTOK_POLICY, hard_max_batch=MAX_EVENTS_PER_REQUEST)
    transport = TrackClient(
        settings.tiktok_api_url,
        timeout=settings.http_timeout_seconds,
        partner_name=settings.tiktok_partner_name,
    )
    credentials = TikTokCredentialFiles(CredentialStore(settings.credentials_dir))
    return TikTokPlatform(transport, credentials, policy)


if __name__ == "__main__":
    run(lambda: serve_dispatcher(Settings, build_platform))
