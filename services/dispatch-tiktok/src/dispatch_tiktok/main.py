"""Composition root of dispatch-tiktok: TikTok adapters on the shared dispatch engine."""

from __future__ import annotations

import logging
import sys

from dispatch_tiktok.adapters.credentials import TikTokCredentialFiles
from dispatch_tiktok.adapters.track_client import TrackClient
from dispatch_tiktok.app.platform import TIKTOK_POLICY, TikTokPlatform
from dispatch_tiktok.config import Settings
from dispatch_tiktok.domain.rules import MAX_EVENTS_PER_REQUEST
from hubkit.config import load
from hubkit.dispatch import CredentialStore, install
from hubkit.errors import ConfigError
from hubkit.service import ServiceRuntime, run


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


async def serve(settings: Settings) -> None:
    platform = build_platform(settings)
    async with ServiceRuntime(settings) as rt:
        # One line per platform request says nothing the attempt audit and metrics don't.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        install(
            rt,
            platform,
            schema=settings.db_schema,
            consumer_concurrency=settings.consumer_concurrency,
        )
        await rt.serve()


async def main() -> None:
    try:
        await serve(load(Settings))
    except ConfigError as exc:  # stop at start, naming what is wrong
        print(f"dispatch-tiktok: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    run(main)
