"""convhub event types to TikTok standard events (docs/platforms.md §3.2)."""

from __future__ import annotations

import re

# Anything else is sent as a custom event under its own name (web sources take custom events).
STANDARD_EVENTS: dict[str, str] = {
    "purchase": "CompletePayment",
    "place_order": "PlaceAnOrder",
    "lead": "SubmitForm",
    "submit_form": "SubmitForm",
    "sign_up": "CompleteRegistration",
    "complete_registration": "CompleteRegistration",
    "add_to_cart": "AddToCart",
    "begin_checkout": "InitiateCheckout",
    "initiate_checkout": "InitiateCheckout",
    "add_payment_info": "AddPaymentInfo",
    "view_content": "ViewContent",
    "click_button": "ClickButton",
    "search": "Search",
    "contact": "Contact",
    "download": "Download",
    "subscribe": "Subscribe",
}

_NAME = re.compile(r"^[A-Za-z0-9_\- ]{1,50}$")


def event_name(event_type: str, override: str = "") -> str | None:
    """The site's override, else the standard event, else the type itself as a custom event;
    None when that is no usable name."""
    name = override.strip() or STANDARD_EVENTS.get(event_type.strip().lower(), event_type.strip())
    return name if _NAME.match(name) else None
