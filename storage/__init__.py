"""Sitrep's store: the repository API (:class:`Store`) and its two drivers. The only package that imports
tinydb or asyncpg.

- ``TinyStore`` (the embedded default): TinyDB files in the data directory, one writing process.
- ``PgStore``: PostgreSQL at ``SITREP_DATABASE_URL``, shared by any number of bot processes.

Everything else opens a store with :func:`open_store` and sees only the :class:`Store` protocol; scripts that
name a driver (``migrate``, the benchmarks) take its class from here, and copy with ``storage.copy``. The
drivers' own modules (``storage/tinydb/``, ``storage/postgres/``) are reached only through this package. See
``storage/DESIGN.md`` for how each driver keeps its promises (atomic batches, seq order, durability).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.errors import ConfigError
from storage.api import ArticleFacts, Batch, CommitResult, Store, fact_id
from storage.tinydb import TinyStore

if TYPE_CHECKING:
    from bot.config import Config
    from storage.postgres import PgStore

__all__ = ["ArticleFacts", "Batch", "CommitResult", "PgStore", "Store", "TinyStore", "fact_id", "open_store"]


def __getattr__(name: str) -> Any:
    """``PgStore`` on first use: asyncpg is imported only by those who use PostgreSQL."""
    if name == "PgStore":
        from storage.postgres import PgStore

        return PgStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


async def open_store(config: Config, *, read_only: bool = False) -> Store:
    """The store ``config`` names: ``[storage] driver``, with the DSN of the PostgreSQL driver from the
    environment (``SITREP_DATABASE_URL``) only."""
    if config.storage.driver == "postgres":
        from bot.config import database_url
        from storage.postgres import PgStore

        dsn = database_url()
        if dsn is None:
            raise ConfigError("SITREP_DATABASE_URL", 'is not set, and config.toml says [storage] driver = '
                                                     '"postgres". Set it to the database URL, e.g. '
                                                     "postgresql://sitrep@db:5432/sitrep")
        return await PgStore.open(dsn, schema=config.storage.schema, read_only=read_only,
                                  hot_weeks=config.storage.hot_weeks)
    return await TinyStore.open(config.data_dir, read_only=read_only, hot_weeks=config.storage.hot_weeks)
