"""`convhub sites upsert|get|list|delete`: manage site configurations through the router.

Also the demo sites `convhub up` configures, so that `make run` shows conversions flowing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format

from convhub.common.v1 import common_pb2 as common
from convhub.router.v1 import router_pb2 as rpb
from convhub.router.v1 import router_pb2_grpc
from convhub_cli import grpc_client
from convhub_cli.main import (
    CliError,
    add_json,
    add_token,
    non_negative_int,
    positive_int,
    print_json,
    show_help,
    to_data,
)
from convhub_cli.stackfile import StackInfo
from hubkit.auth import Scope, issue_token
from hubkit.grpcx import auth_metadata

MODES = {
    "sgtm": common.ATTRIBUTION_MODE_SGTM,
    "direct": common.ATTRIBUTION_MODE_DIRECT,
    "unspecified": common.ATTRIBUTION_MODE_UNSPECIFIED,
}
FORMATS = {"stape": rpb.SGTM_FORMAT_STAPE_DATA_CLIENT, "ga4-mp": rpb.SGTM_FORMAT_GA4_MP}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sites = sub.add_parser("sites", help="site configurations (router)")
    sites.set_defaults(func=show_help(sites))
    commands = sites.add_subparsers(dest="sites_command", metavar="ACTION")

    upsert = commands.add_parser(
        "upsert",
        help="create or replace a site (flags, or a JSON file the flags amend)",
        description="Create or replace a site; prints the stored site as JSON.",
    )
    upsert.add_argument(
        "--file", type=Path, help="a convhub.router.v1.Site in proto JSON (the flags amend it)"
    )
    upsert.add_argument("--site-id", help="the site's id (required without --file naming one)")
    upsert.add_argument("--display-name", help="a name for people")
    upsert.add_argument(
        "--mode", choices=sorted(MODES), help="attribution mode: where conversions go"
    )
    upsert.add_argument(
        "--default-country", help="ISO 3166-1 alpha-2: where national phone numbers are read"
    )
    sgtm = upsert.add_argument_group("sGTM")
    sgtm.add_argument("--sgtm-url", help="the server-side GTM container's URL")
    sgtm.add_argument("--sgtm-format", choices=sorted(FORMATS), help="request format")
    sgtm.add_argument("--sgtm-auth-header", help="name of the shared-secret header")
    sgtm.add_argument("--sgtm-auth-secret-ref", help="credentials reference of its value")
    sgtm.add_argument("--sgtm-preview", help="x-gtm-server-preview value (debugging)")
    sgtm.add_argument("--sgtm-measurement-id", help="GA4 MP: G-XXXX")
    sgtm.add_argument("--sgtm-api-secret-ref", help="GA4 MP: credentials reference")
    sgtm.add_argument(
        "--sgtm-max-batch-events", type=positive_int, help="at most this many events a request"
    )
    for platform, account, account_help in (
        ("google", "customer-id", "Google Ads customer id"),
        ("meta", "pixel-id", "Meta pixel id"),
        ("tiktok", "pixel-code", "TikTok pixel code"),
    ):
        group = upsert.add_argument_group(platform)
        group.add_argument(f"--{platform}-{account}", help=f"{account_help} (enables it)")
        group.add_argument(
            f"--{platform}-credentials-ref", help="credentials reference (a secret's name)"
        )
        group.add_argument(f"--no-{platform}", action="store_true", help="disable it")
        if platform == "google":
            group.add_argument(
                "--google-login-customer-id", help="manager account id, when one grants access"
            )
            group.add_argument(
                "--google-action",
                action="append",
                default=[],
                metavar="EVENT=RESOURCE",
                help="conversion action per event type (repeat)",
            )
        else:
            group.add_argument(
                f"--{platform}-test-event-code", help="send as test events (Events Manager)"
            )
            group.add_argument(
                f"--{platform}-event-name",
                action="append",
                default=[],
                metavar="EVENT=NAME",
                help="platform event name per event type (repeat)",
            )
    upsert.add_argument(
        "--expected-revision",
        type=non_negative_int,
        help="refuse unless the stored site is at this revision (0: must not exist)",
    )
    upsert.add_argument(
        "--validate-only", action="store_true", help="check the site, store nothing"
    )
    upsert.set_defaults(func=run_upsert)

    get = commands.add_parser("get", help="one site's configuration (JSON)")
    get.add_argument("site_id", help="the site's id")
    get.set_defaults(func=run_get)

    listing = commands.add_parser("list", help="every site (within the token)")
    listing.add_argument(
        "--page-size", type=positive_int, default=100, help="sites per request (default 100)"
    )
    listing.set_defaults(func=run_list)

    delete = commands.add_parser("delete", help="delete a site's configuration")
    delete.add_argument("site_id", help="the site's id")
    delete.add_argument(
        "--expected-revision",
        type=non_negative_int,
        help="refuse unless the stored site is at this revision",
    )
    delete.set_defaults(func=run_delete)

    for parser in (upsert, get, listing, delete):
        parser.add_argument(
            "--target",
            metavar="HOST:PORT",
            help="router address (default: $CONVHUB_ROUTER_ADDR or the local stack's)",
        )
        add_token(parser)
        add_json(parser)


# --- commands ----------------------------------------------------------------------------------


def run_upsert(args: argparse.Namespace) -> int:
    request = rpb.UpsertSiteRequest(site=site_from_args(args), validate_only=args.validate_only)
    if args.expected_revision is not None:
        request.expected_revision = args.expected_revision
    return _call(args, lambda stub, md: stub.UpsertSite(request, metadata=md), _print_upserted)


def run_get(args: argparse.Namespace) -> int:
    request = rpb.GetSiteRequest(site_id=args.site_id)
    return _call(args, lambda stub, md: stub.GetSite(request, metadata=md), _print_site)


def run_list(args: argparse.Namespace) -> int:
    async def every_page(stub: router_pb2_grpc.RouterServiceStub, md: Any) -> list[rpb.Site]:
        sites: list[rpb.Site] = []
        token = ""
        while True:
            page = await stub.ListSites(
                rpb.ListSitesRequest(page_size=args.page_size, page_token=token), metadata=md
            )
            sites += page.sites
            token = page.next_page_token
            if not token:
                return sites

    def show(sites: list[rpb.Site]) -> None:
        if args.json:
            print_json({"sites": [to_data(site) for site in sites]})
            return
        for site in sites:
            mode = common.AttributionMode.Name(site.attribution_mode).removeprefix(
                "ATTRIBUTION_MODE_"
            )
            print(f"{site.site_id:<24} {mode:<12} revision {site.revision:<5} {site.display_name}")

    return _call(args, every_page, show)


def run_delete(args: argparse.Namespace) -> int:
    request = rpb.DeleteSiteRequest(site_id=args.site_id)
    if args.expected_revision is not None:
        request.expected_revision = args.expected_revision

    def show(response: rpb.DeleteSiteResponse) -> None:
        if args.json:
            print_json(response)
        else:
            print(f"deleted {args.site_id} under revision {response.revision}")

    return _call(args, lambda stub, md: stub.DeleteSite(request, metadata=md), show)


def _call(args: argparse.Namespace, rpc: Any, show: Any) -> int:
    router = grpc_client.endpoint("router", args.target)
    metadata = grpc_client.metadata(args.token, [Scope.ADMIN])

    async def go() -> Any:
        async with grpc_client.connect(router) as channel:
            return await rpc(router_pb2_grpc.RouterServiceStub(channel), metadata)

    show(asyncio.run(go()))
    return 0


def _print_site(response: rpb.GetSiteResponse) -> None:
    print_json(response.site)  # a site is configuration: JSON with or without --json


def _print_upserted(response: rpb.UpsertSiteResponse) -> None:
    print_json(response.site)
    verb = "created" if response.created else "stored"
    print(f"{verb} {response.site.site_id} at revision {response.site.revision}", file=sys.stderr)


# --- building a Site from a file and flags ----------------------------------------------------


def site_from_args(args: argparse.Namespace) -> rpb.Site:
    site = rpb.Site()
    if args.file:
        try:
            data = json.loads(args.file.read_text())
            json_format.ParseDict(data.get("site", data), site)
        except (OSError, ValueError, json_format.ParseError) as exc:
            raise CliError(f"{args.file}: {exc}") from None
    _set(site, "site_id", args.site_id)
    _set(site, "display_name", args.display_name)
    if args.mode:
        site.attribution_mode = MODES[args.mode]
    _set(site, "default_country", args.default_country)
    s = site.sgtm
    _set(s, "url", args.sgtm_url)
    if args.sgtm_format:
        s.format = FORMATS[args.sgtm_format]
    _set(s, "auth_header_name", args.sgtm_auth_header)
    _set(s, "auth_secret_ref", args.sgtm_auth_secret_ref)
    _set(s, "preview_header", args.sgtm_preview)
    _set(s, "measurement_id", args.sgtm_measurement_id)
    _set(s, "api_secret_ref", args.sgtm_api_secret_ref)
    _set(s, "max_batch_events", args.sgtm_max_batch_events)
    d = site.destinations
    _destination(d.google, args.google_customer_id, "customer_id", args.google_credentials_ref)
    _set(d.google, "login_customer_id", args.google_login_customer_id)
    d.google.conversion_actions.update(_pairs(args.google_action, "--google-action"))
    _destination(d.meta, args.meta_pixel_id, "pixel_id", args.meta_credentials_ref)
    _set(d.meta, "test_event_code", args.meta_test_event_code)
    d.meta.event_names.update(_pairs(args.meta_event_name, "--meta-event-name"))
    _destination(d.tiktok, args.tiktok_pixel_code, "pixel_code", args.tiktok_credentials_ref)
    _set(d.tiktok, "test_event_code", args.tiktok_test_event_code)
    d.tiktok.event_names.update(_pairs(args.tiktok_event_name, "--tiktok-event-name"))
    for platform in ("google", "meta", "tiktok"):
        if getattr(args, f"no_{platform}"):
            getattr(d, platform).enabled = False
    if not site.site_id:
        raise CliError("give --site-id (or a --file naming site_id)")
    return site


def _set(message: Any, field: str, value: Any) -> None:
    if value is not None:
        setattr(message, field, value)


def _destination(message: Any, account: str | None, field: str, credentials: str | None) -> None:
    if account is not None:
        setattr(message, field, account)
        message.enabled = True
    _set(message, "credentials_ref", credentials)


def _pairs(values: Iterable[str], flag: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key or not rest:
            raise CliError(f"{flag} expects EVENT=VALUE, got {value!r}")
        pairs[key] = rest
    return pairs


# --- demo sites for `convhub up` ----------------------------------------------------------------

DEMO_DIRECT = "demo-direct"
DEMO_SGTM = "demo-sgtm"
# Accounts the local simulators accept; credentials references the demo credentials dir holds.
DEMO_GOOGLE_CUSTOMER = "1234567890"
DEMO_META_PIXEL = "1234567890123456"
DEMO_TIKTOK_PIXEL = "CDEMOPIXEL00000000000"
# The ad accounts attribution's spend sync reads (the simulators serve the spend the demo seeds),
# and the currency ROAS is reported in.
DEMO_META_AD_ACCOUNT = "1029384756"
DEMO_TIKTOK_ADVERTISER = "7012345678901234567"
DEMO_REPORTING_CURRENCY = "EUR"
DISPATCHERS = {"dispatch-google": "google", "dispatch-meta": "meta", "dispatch-tiktok": "tiktok"}
# The demo direct site's sources: webhook secrets and the HubSpot token are credentials references
# (files `convhub up` writes); the HubSpot account is the simulator's, which takes any portal id.
DEMO_SHOP_DOMAIN = "demo-shop.myshopify.com"
DEMO_HUBSPOT_PORTAL = 24681357
DEMO_SOURCE_SECRETS = {
    "demo-shopify": "shpss-demo-shopify-webhook-secret",
    "demo-woocommerce": "wc-demo-webhook-secret",
    "demo-hubspot-app": "demo-hubspot-app-client-secret",
}
DEMO_HUBSPOT_TOKEN_REF = "demo-hubspot-token"
DEMO_HUBSPOT_TOKEN = "pat-demo"  # what the HubSpot simulator accepts (its default access token)


def demo_sources(hubspot: bool) -> rpb.Sources:
    """Shopify and WooCommerce webhooks, and HubSpot when its simulator runs (its CRM API is
    where ingest reads the deals)."""
    sources = rpb.Sources(
        shopify=rpb.ShopifySource(secret_ref="demo-shopify", shop_domain=DEMO_SHOP_DOMAIN),
        woocommerce=rpb.WooCommerceSource(secret_ref="demo-woocommerce"),
    )
    if hubspot:
        sources.hubspot.CopyFrom(
            rpb.HubSpotSource(
                app_secret_ref="demo-hubspot-app",
                access_token_ref=DEMO_HUBSPOT_TOKEN_REF,
                portal_id=DEMO_HUBSPOT_PORTAL,
                default_currency="EUR",
            )
        )
    return sources


def demo_sites(
    sgtm_url: str | None, platforms: Iterable[str], *, hubspot: bool = False
) -> list[rpb.Site]:
    """A direct site with every installed dispatcher's platform, the ad accounts whose spend
    attribution syncs, EUR as its reporting currency and the demo sources; and an sGTM site."""
    on = set(platforms)
    direct = rpb.Site(
        site_id=DEMO_DIRECT,
        display_name="Demo shop (direct)",
        attribution_mode=common.ATTRIBUTION_MODE_DIRECT,
        default_country="DE",
        destinations=rpb.Destinations(
            google=rpb.GoogleDestination(
                enabled="google" in on,
                customer_id=DEMO_GOOGLE_CUSTOMER,
                conversion_actions={
                    "purchase": f"customers/{DEMO_GOOGLE_CUSTOMER}/conversionActions/1001",
                    "lead": f"customers/{DEMO_GOOGLE_CUSTOMER}/conversionActions/1002",
                },
                credentials_ref="demo-google",
            ),
            meta=rpb.MetaDestination(
                enabled="meta" in on,
                pixel_id=DEMO_META_PIXEL,
                credentials_ref="demo-meta",
                ad_account_id=DEMO_META_AD_ACCOUNT,
            ),
            tiktok=rpb.TikTokDestination(
                enabled="tiktok" in on,
                pixel_code=DEMO_TIKTOK_PIXEL,
                credentials_ref="demo-tiktok",
                advertiser_id=DEMO_TIKTOK_ADVERTISER,
            ),
        ),
        sources=demo_sources(hubspot),
        attribution=rpb.AttributionSettings(reporting_currency=DEMO_REPORTING_CURRENCY),
    )
    sites = [direct]
    if sgtm_url:
        sites.append(
            rpb.Site(
                site_id=DEMO_SGTM,
                display_name="Demo shop (sGTM)",
                attribution_mode=common.ATTRIBUTION_MODE_SGTM,
                sgtm=rpb.SgtmConfig(url=f"{sgtm_url}/data"),
            )
        )
    return sites


def upsert_demo_sites(info: StackInfo, installed_services: Iterable[str]) -> None:
    """Configure the demo sites through the router (idempotent: same settings, same revision)."""
    platforms = [DISPATCHERS[s] for s in installed_services if s in DISPATCHERS]
    sites = demo_sites(info.simulators.get("sgtm"), platforms, hubspot="hubspot" in info.simulators)
    metadata = auth_metadata(
        issue_token(info.jwt_secret, subject="convhub-up", sites=["*"], scopes=[Scope.ADMIN])
    )

    async def upsert_all() -> None:
        async with grpc.aio.insecure_channel(info.services["router"]) as channel:
            stub = router_pb2_grpc.RouterServiceStub(channel)
            for site in sites:
                response = await stub.UpsertSite(
                    rpb.UpsertSiteRequest(site=site), metadata=metadata
                )
                print(f"  site {site.site_id:<12} {_describe(response.site)}", flush=True)

    try:
        asyncio.run(upsert_all())
    except grpc.aio.AioRpcError as exc:
        print(f"  demo sites not configured: {exc.code().name} {exc.details()}", flush=True)


def _describe(site: rpb.Site) -> str:
    if site.attribution_mode == common.ATTRIBUTION_MODE_SGTM:
        return f"sGTM -> {site.sgtm.url} (revision {site.revision})"
    d, s = site.destinations, site.sources
    on = [p for p in ("google", "meta", "tiktok") if getattr(d, p).enabled]
    sources = [
        name
        for name, ref in (
            ("shopify", s.shopify.secret_ref),
            ("woocommerce", s.woocommerce.secret_ref),
            ("hubspot", s.hubspot.app_secret_ref),
        )
        if ref
    ]
    fed = f", sources {', '.join(sources)}" if sources else ""
    return (
        f"direct -> {', '.join(on) or 'no dispatcher installed: parked'}{fed}"
        f" (revision {site.revision})"
    )
