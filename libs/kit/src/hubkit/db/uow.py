"""Unit of work: one transaction, rolled back unless the caller commits explicitly."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker


class UnitOfWork:
    """`async with uow: ...; await uow.commit()` — leaving the block without commit rolls back.

    Services subclass it to attach their repositories to `self.session` in `_open`.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._session: AsyncSession | None = None
        self.committed = False

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("unit of work used outside `async with`")
        return self._session

    async def __aenter__(self) -> Self:
        self._session = self._sessions()
        self.committed = False
        self._open(self._session)
        return self

    def _open(self, session: AsyncSession) -> None:
        """Hook for subclasses: build repositories on the session."""

    async def commit(self) -> None:
        await self.session.commit()
        self.committed = True

    async def rollback(self) -> None:
        await self.session.rollback()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, self._session = self.session, None
        try:
            if not self.committed:
                await session.rollback()
        finally:
            await session.close()
