"""Faithful local simulators of the platform HTTP APIs convhub talks to (docs/platforms.md).

Each simulator validates requests like the platform does, answers with the platform's own success
and error shapes, records what it received, and has fault knobs (throttles, 5xx, slow answers)
that tests set in-process and `make run` sets over HTTP (`POST /_sim/faults`).
"""

from convhub_sim.base import Fault, Simulator

# name -> (factory, {service environment variable: path under the simulator's base URL}).
# `convhub up` starts every simulator listed here and hands each its URLs to the services.
REGISTRY: dict[str, tuple[str, dict[str, str]]] = {
    "google": (
        "convhub_sim.google:GoogleSimulator",
        {
            "CONVHUB_GOOGLE_DATA_MANAGER_URL": "",
            "CONVHUB_GOOGLE_ADS_URL": "",
            "CONVHUB_GOOGLE_OAUTH_URL": "/token",
        },
    ),
    "hubspot": ("convhub_sim.sources:HubSpotSimulator", {"CONVHUB_HUBSPOT_API_URL": ""}),
    "meta": ("convhub_sim.meta:MetaSimulator", {"CONVHUB_META_GRAPH_URL": ""}),
    "sgtm": ("convhub_sim.sgtm:SgtmSimulator", {"CONVHUB_SGTM_SIMULATOR_URL": ""}),
    "tiktok": ("convhub_sim.tiktok:TikTokSimulator", {"CONVHUB_TIKTOK_API_URL": ""}),
}

__all__ = ["REGISTRY", "Fault", "Simulator"]
