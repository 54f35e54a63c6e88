"""Alembic migrations, one schema per service: its tables and its own version table live there."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, create_engine, text

from hubkit.db.engine import sync_url


def alembic_config(database_url: str, script_location: Path, schema: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", sync_url(database_url).replace("%", "%%"))
    config.attributes["schema"] = schema
    return config


def upgrade(database_url: str, script_location: Path, schema: str, revision: str = "head") -> None:
    """Bring `schema` to `revision`, creating the schema first.

    Runs once per rollout, before the services start: the k8s migration Job, or `make run`.
    """
    engine = create_engine(sync_url(database_url))
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    engine.dispose()
    command.upgrade(alembic_config(database_url, script_location, schema), revision)


def run_env(target_metadata: MetaData | None = None) -> None:
    """The body of every service's migrations/env.py (online mode only)."""
    from alembic import context

    config = context.config
    schema = config.attributes["schema"]
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            version_table_schema=schema,
            include_schemas=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
