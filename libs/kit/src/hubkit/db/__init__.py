"""Database kit: async engine on psycopg 3, unit of work, per-schema migrations, outbox."""

from hubkit.db.engine import make_engine, sync_url
from hubkit.db.outbox import OutboxRelay, create_outbox_table, outbox_table, stage
from hubkit.db.uow import UnitOfWork

__all__ = [
    "OutboxRelay",
    "UnitOfWork",
    "create_outbox_table",
    "make_engine",
    "outbox_table",
    "stage",
    "sync_url",
]
