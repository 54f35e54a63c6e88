"""Names every service must agree on: site ids (they become NATS subject tokens) and delivery ids.

Stdlib only, so domain cores may use it.
"""

from __future__ import annotations

import re

# A NATS subject token: no dots, wildcards or whitespace; starts with a letter or digit.
SITE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
SITE_ID_RULE = "1-64 of A-Z a-z 0-9 _ -, starting with a letter or digit"


def is_site_id(value: str) -> bool:
    return SITE_ID.fullmatch(value) is not None


def delivery_id(conversion_id: str, platform: str, account_id: str) -> str:
    """One conversion at one destination: "<conversion_id>:<platform lower case>:<account>"."""
    return f"{conversion_id}:{platform.lower()}:{account_id}"
