"""Database kit: async engine on psycopg 3, unit of work, per-schema migrations, outbox."""

from hubkit.db.engine import make_engine, sync_url
from hubkit.db.outbox import OutboxRelay, outbox_table, stage
from hubkit.db.uow import UnitOfWork

__all__ = ["OutboxRelay", "UnitOfWork", "make_engine", "outbox_table", "stage", "sync_url"]
