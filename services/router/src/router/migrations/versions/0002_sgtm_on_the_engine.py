"""The sGTM forwarder's ledger gives way to the dispatch engine's (schema router_sgtm, created
by the shared ledger migrations first): deliveries still pending move over, then the table goes.
"""

from datetime import UTC

import sqlalchemy as sa
from alembic import op

from convhub.common.v1 import common_pb2
from convhub.events.v1 import events_pb2

revision = "0002"
down_revision = "0001"

LEDGER = "router_sgtm"  # router.adapters.orm.SGTM_SCHEMA, as of this revision


def upgrade() -> None:
    config = op.get_context().config
    assert config is not None
    schema = config.attributes["schema"]
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            f"SELECT delivery_id, conversion_id, site_id, config_revision, host, payload, "
            f"traceparent, tracestate, attempts FROM {schema}.sgtm_deliveries "
            "WHERE status = 'pending' AND payload IS NOT NULL"
        )
    ).all()
    insert = sa.text(
        f"INSERT INTO {LEDGER}.deliveries (delivery_id, conversion_id, site_id, account_id, "
        "credentials_ref, lane_extra, event_id, status, attempts, request, received_at) "
        "VALUES (:delivery_id, :conversion_id, :site_id, :host, '', :lane_extra, :event_id, "
        "'pending', :attempts, :request, :received_at) ON CONFLICT (delivery_id) DO NOTHING"
    )
    for r in rows:
        accepted = events_pb2.ConversionAccepted.FromString(r.payload)
        request = events_pb2.DispatchRequested(
            delivery_id=r.delivery_id,
            conversion_id=r.conversion_id,
            trace=common_pb2.TraceContext(traceparent=r.traceparent, tracestate=r.tracestate),
            platform=common_pb2.PLATFORM_SGTM,
            target=events_pb2.DispatchTarget(account_id=r.host),
            config_revision=r.config_revision,
            conversion=accepted.conversion,
        )
        received = accepted.conversion.received_at
        bind.execute(
            insert,
            {
                "delivery_id": r.delivery_id,
                "conversion_id": r.conversion_id,
                "site_id": r.site_id,
                "host": r.host,
                "lane_extra": f"{r.site_id}@{r.config_revision}",
                "event_id": accepted.conversion.event_id,
                "attempts": r.attempts,
                "request": request.SerializeToString(),
                "received_at": received.ToDatetime(UTC) if received.seconds else None,
            },
        )
    op.drop_table("sgtm_deliveries", schema=schema)


def downgrade() -> None:
    raise NotImplementedError("the sGTM forwarder's ledger is gone for good")
