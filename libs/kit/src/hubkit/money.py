"""Money on the wire: convhub keeps exact decimal strings; platforms want JSON numbers."""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation


def json_number(text: str) -> float | None:
    """The JSON number of an exact decimal string; None when it is no finite number. Money has
    far fewer than the 15 significant digits a float keeps exactly, so the shortest float repr
    is the decimal itself."""
    try:  # the common case at a quarter of the cost: the same, correctly rounded, value
        value = float(text)
        if math.isfinite(value):
            return value
    except ValueError:
        pass
    try:  # what float() refuses or overflows on, judged as ever
        exact = Decimal(text)
    except InvalidOperation:
        return None
    return float(exact) if exact.is_finite() else None
