"""Composition root of dispatch-meta: Meta adapters on the shared dispatch machinery."""

from __future__ import annotations

from dispatch_meta.adapters.credentials import MetaCredentialFiles
from dispatch_meta.adapters.graph_client import GraphEventsClient
from dispatch_meta.app.platform import META_POLICY, MetaPlatform
from dispatch_meta.config import Settings
from dispatch_meta.domain.rules import MAX_EVENTS_PER_REQUEST
from hubkit.dispatch import CredentialStore, serve_dispatcher
from hubkit.service import run


def build_platform(settings: Settings) -> MetaPlatform:
    """The Meta adapter with this environment's policy (raises ConfigError when unusable)."""
    policy = settings.policy(META_POLICY, hard_max_batch=MAX_EVENTS_PER_REQUEST)
    transport = GraphEventsClient(
        settings.meta_graph_url,
        settings.meta_api_version,
        timeout=settings.http_timeout_seconds,
        partner_agent=settings.meta_partner_agent,
    )
    credentials = MetaCredentialFiles(CredentialStore(settings.credentials_dir))
    return MetaPlatform(transport, credentials, policy)


if __name__ == "__main__":
    run(lambda: serve_dispatcher(Settings, build_platform))
