"""The PostgreSQL driver's schema: the numbered SQL files of ``migrations/``, applied in order at open, and the
names a store is known by (its schema, its advisory-lock keys, where its server is)."""

from __future__ import annotations

import hashlib
import logging
import re
from importlib import resources
from urllib.parse import urlsplit

import asyncpg

from bot.errors import StoreError

log = logging.getLogger("storage.postgres")  # the driver's logger, as before the move into a package
SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
DEFAULT_SCHEMA = "sitrep"


def advisory_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for ``name`` (``hash()`` differs between processes)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


def describe(dsn: str) -> str:
    """Where a DSN points, for messages and logs: host, port and database, never the user or password."""
    try:
        parts = urlsplit(dsn)
        return f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path or '/'}"
    except ValueError:
        return "the configured PostgreSQL server"


def migrations() -> list[tuple[int, str, str]]:
    """The schema's migrations, in order: (version, file name, SQL)."""
    found = []
    for entry in resources.files("storage.postgres.migrations").iterdir():
        match = re.fullmatch(r"(\d{4})_\w+\.sql", entry.name)
        if match:
            found.append((int(match[1]), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


async def migrate(conn: asyncpg.Connection, schema: str, key: int, *, read_only: bool, where: str) -> None:
    """Bring ``schema`` to this code's version under a session advisory lock (``key``): two processes starting
    together do not both migrate. A read-only open never migrates; a schema newer than the code is refused."""
    await conn.execute("SELECT pg_advisory_lock($1)", key)
    try:
        if read_only:
            exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{schema}.meta")
            if not exists:
                raise StoreError(f"no Sitrep store in schema {schema} at {where}")
        else:
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            await conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
                               "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
        applied = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        known = migrations()
        newest = max((v for v, _, _ in known), default=0)
        if applied and max(applied) > newest:
            raise StoreError(f"the PostgreSQL store in schema {schema} is at schema version "
                             f"{max(applied)}, newer than this code ({newest}): upgrade Sitrep")
        for version, name, sql in known:
            if version in applied:
                continue
            if read_only:
                raise StoreError(f"the PostgreSQL store in schema {schema} needs migration {name}: "
                                 "open it once for writing (python -m bot run or poll)")
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                                   version, name)
            log.info("applied migration %s to schema %s", name, schema)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", key)
