"""Async SQLAlchemy 2 engine on psycopg 3 from a plain postgresql:// URL."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def sync_url(url: str) -> str:
    """`postgresql://...` → `postgresql+psycopg://...` (psycopg 3 serves both sync and async)."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError("database URL must start with postgresql://")


def make_engine(url: str, *, pool_size: int = 10, **kwargs: Any) -> AsyncEngine:
    return create_async_engine(
        sync_url(url), pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, **kwargs
    )
