"""convhub event types to Meta standard event names; action sources."""

from __future__ import annotations

import re

# docs/platforms.md §1.3: standard names; anything else is sent as a custom event.
STANDARD_EVENTS: dict[str, str] = {
    "purchase": "Purchase",
    "lead": "Lead",
    "sign_up": "CompleteRegistration",
    "complete_registration": "CompleteRegistration",
    "add_to_cart": "AddToCart",
    "add_to_wishlist": "AddToWishlist",
    "begin_checkout": "InitiateCheckout",
    "initiate_checkout": "InitiateCheckout",
    "add_payment_info": "AddPaymentInfo",
    "subscribe": "Subscribe",
    "start_trial": "StartTrial",
    "contact": "Contact",
    "submit_application": "SubmitApplication",
    "schedule": "Schedule",
    "search": "Search",
    "view_content": "ViewContent",
    "page_view": "PageView",
    "donate": "Donate",
    "find_location": "FindLocation",
    "customize_product": "CustomizeProduct",
}

# Meta's custom event names: letters, digits, underscore, dash, space; at most 40 characters.
_CUSTOM_NAME = re.compile(r"^[A-Za-z0-9_\- ]{1,40}$")

# convhub.common.v1.ActionSource value -> Meta action_source.
ACTION_SOURCES: dict[int, str] = {
    1: "website",
    2: "app",
    3: "phone_call",
    4: "chat",
    5: "email",
    6: "physical_store",
    7: "system_generated",
    8: "other",
}


def is_event_name(name: str) -> bool:
    """A name Meta takes: a standard event's or a custom one's."""
    return _CUSTOM_NAME.match(name) is not None


def event_name(event_type: str, override: str = "") -> str | None:
    """The site's override, else the standard name, else the type itself as a custom event;
    None when the result is not a name Meta accepts."""
    name = override.strip() or STANDARD_EVENTS.get(event_type.strip().lower(), event_type.strip())
    return name if is_event_name(name) else None


def action_source(value: int, has_page_url: bool) -> str:
    """Meta's action_source; unspecified means website when a page URL is known."""
    if value in ACTION_SOURCES:
        return ACTION_SOURCES[value]
    return "website" if has_page_url else "system_generated"
