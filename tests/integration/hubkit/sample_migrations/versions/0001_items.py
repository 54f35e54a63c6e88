"""Create the sample items table and the outbox."""

import sqlalchemy as sa
from alembic import op

from hubkit.db import create_outbox_table

revision = "0001"
down_revision = None


def upgrade() -> None:
    schema = op.get_context().config.attributes["schema"]
    op.create_table(
        "items",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("n", sa.Integer),
        schema=schema,
    )
    create_outbox_table(schema)
