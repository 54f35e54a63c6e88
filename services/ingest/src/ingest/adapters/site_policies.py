"""SitePolicies from the JetStream KV bucket `convhub-sites`, which the router keeps current."""

from __future__ import annotations

from nats.js import JetStreamContext

from hubkit.bus.site_mirror import SiteMirror
from ingest.adapters.mappers import site_policy
from ingest.domain.model import DEFAULT_POLICY, SitePolicy


def kv_site_policies(js: JetStreamContext) -> SiteMirror[SitePolicy]:
    """Each site's dedupe, consent and phone-region policy (the defaults for unknown sites)."""
    return SiteMirror(js, site_policy, DEFAULT_POLICY, name="site-policies")
