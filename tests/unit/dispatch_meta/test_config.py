"""dispatch-meta settings: the Graph API version it calls by default."""

from __future__ import annotations

import dataclasses

from dispatch_meta.config import Settings


def test_the_default_graph_version_is_v27() -> None:
    # v25.0 expires 2027-02-23 (docs/platforms.md §1.1); v27.0 is current.
    defaults = {f.name: f.default for f in dataclasses.fields(Settings)}
    assert defaults["meta_api_version"] == "v27.0"
