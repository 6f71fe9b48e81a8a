"""Sitrep's store: the repository API (:class:`Store`) and its two drivers. The only package that imports
tinydb or asyncpg.

- ``TinyStore`` (the embedded default): TinyDB files in the data directory, one writing process.
- ``PgStore``: PostgreSQL at ``SITREP_DATABASE_URL``, shared by any number of bot processes.

Everything else opens a store with :func:`open_store` and sees only the :class:`Store` protocol. See
``storage/DESIGN.md`` for how each driver keeps its promises (atomic batches, seq order, durability).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.errors import ConfigError
from storage.api import ArticleFacts, Batch, CommitResult, Store, fact_id
from storage.tinydb.store import TinyStore

if TYPE_CHECKING:
    from bot.config import Config

__all__ = ["ArticleFacts", "Batch", "CommitResult", "Store", "TinyStore", "fact_id", "open_store"]


async def open_store(config: Config, *, read_only: bool = False) -> Store:
    """The store ``config`` names: ``[storage] driver``, with the DSN of the PostgreSQL driver from the
    environment (``SITREP_DATABASE_URL``) only."""
    if config.storage.driver == "postgres":
        from bot.config import database_url
        from storage.postgres.store import PgStore

        dsn = database_url()
        if dsn is None:
            raise ConfigError("SITREP_DATABASE_URL", 'is not set, and config.toml says [storage] driver = '
                                                     '"postgres". Set it to the database URL, e.g. '
                                                     "postgresql://sitrep@db:5432/sitrep")
        return await PgStore.open(dsn, schema=config.storage.schema, read_only=read_only,
                                  hot_weeks=config.storage.hot_weeks)
    return await TinyStore.open(config.data_dir, read_only=read_only, hot_weeks=config.storage.hot_weeks)
