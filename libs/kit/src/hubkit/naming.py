"""Names every service must agree on: site ids (they become NATS subject tokens), delivery ids
and the Nats-Msg-Id of a batch message.

Stdlib only, so domain cores may use it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

# A NATS subject token: no dots, wildcards or whitespace; starts with a letter or digit.
SITE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
SITE_ID_RULE = "1-64 of A-Z a-z 0-9 _ -, starting with a letter or digit"


def is_site_id(value: str) -> bool:
    return SITE_ID.fullmatch(value) is not None


def delivery_id(conversion_id: str, platform: str, account_id: str) -> str:
    """One conversion at one destination: "<conversion_id>:<platform lower case>:<account>"."""
    return f"{conversion_id}:{platform.lower()}:{account_id}"


def message_id(subject: str, item_ids: Iterable[str]) -> str:
    """The Nats-Msg-Id of a batch message: its subject and a digest of its items' ids (in any
    order). A message staged again for the same items gets the same id, so the stream drops the
    repeat; the outbox keeps it across relay retries."""
    h = hashlib.sha256()
    for item_id in sorted(set(item_ids)):
        h.update(item_id.encode())
        h.update(b"\n")
    return f"{subject}:{h.hexdigest()[:32]}"
