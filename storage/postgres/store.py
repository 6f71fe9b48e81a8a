"""The PostgreSQL driver of the repository API (:class:`storage.api.Store`): one database that several bot
processes share (see storage/DESIGN.md, "The PostgreSQL driver").

- asyncpg runs on a loop of the store's own, in one thread (the *portal*). The API's reads are synchronous
  (briefing is pure and synchronous), so a read submits its query to that loop and waits for the answer;
  ``reads_disk`` is always true, and callers on the bot's loop run such reads in a worker thread, as they do
  for an old TinyDB partition. A read never runs on the portal's own thread.
- Every commit is one transaction under a transaction-level advisory lock: commits are serialised across
  the cluster, seq numbers are handed out in commit order (a digest that read up to seq N never misses a
  fact committed later with a smaller seq), and a reader sees a whole batch or none of it.
- Sources, topics and guild settings are few and read on every command and job: each process keeps them
  in memory. A commit that changes them bumps ``meta.state_version`` and sends a NOTIFY; every other
  process LISTENs, reloads the three tables, and tells its subscribers which guilds changed. If the
  listening connection drops, notifications may have been missed, so the process reconnects and reloads.
- The schema is numbered SQL files in ``storage/postgres/migrations/``, applied at open under a session advisory lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import itertools
import json
import logging
import re
from collections.abc import AsyncIterator, Collection, Coroutine, Sequence
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any, TypeVar
from urllib.parse import urlsplit

import asyncpg

from bot.errors import StoreError
from bot.model import Article, GuildSettings, Kind, SourceState, StoredFact, Topic
from storage import _codec
from storage._state import StateReads, merged
from storage._words import words
from storage.api import DEFAULT_HOT_WEEKS, Batch, CommitResult, GuildChange, Subscriber
from storage.postgres._portal import Portal
from storage.postgres._rows import (
    FACT_ROW,
    Where,
    article_row,
    aware,
    encode_state,
    fact_row,
    init_connection,
    reason,
    stored,
    topic_list,
)
from storage.postgres._write import check_fence, write_articles, write_fact_topics, write_state

log = logging.getLogger(__name__)
T = TypeVar("T")
SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
DEFAULT_SCHEMA = "sitrep"
_FACT_COLUMNS = "id, seq, topics, stored_at, story_id, article, fact"
RECONNECT_S = 2.0  # between attempts to restore the listening connection
CACHE_FACTS = 50_000  # decoded facts kept per process at least (~1.5 KB each); the database holds the rest
FETCH_ROWS = 5_000  # rows decoded per round trip
WARM_MAX = 250_000  # at most, when the recent window is larger (warm_search)


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


class PgStore(StateReads):
    """See the module docstring. Open with :meth:`open` (or :meth:`open_sync` in scripts)."""

    def __init__(self, dsn: str, *, schema: str = DEFAULT_SCHEMA, read_only: bool = False,
                 hot_weeks: int = DEFAULT_HOT_WEEKS, pool_size: int = 4) -> None:
        if not SCHEMA_NAME.fullmatch(schema):
            raise StoreError(f"invalid PostgreSQL schema name {schema!r}: lower-case letters, digits and _")
        self.dsn = dsn
        self.schema = schema
        self.read_only = read_only
        self.hot_weeks = hot_weeks
        self.pool_size = pool_size
        self.where = describe(dsn)
        self.channel = f"sitrep_{schema}"  # NOTIFY channels are database-wide: one per schema
        self._write_key = advisory_key(f"sitrep-write:{schema}")
        self._migrate_key = advisory_key(f"sitrep-migrate:{schema}")
        self._portal: Portal | None = None
        self._pool: asyncpg.Pool | None = None
        self._listener: asyncpg.Connection | None = None
        self._reconnect: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()  # reloads after a NOTIFY
        self._closed = False
        self._last_seq = 0
        self._state_version = -1
        self._sources: dict[str, SourceState] = {}
        self._topics: dict[str, Topic] = {}
        self._guilds: dict[int, GuildSettings] = {}
        self._subscribers: list[tuple[asyncio.AbstractEventLoop, Subscriber]] = []
        # "id:rev" → the fact decoded at that version, first in first out. An edited fact gets a new key; its
        # old one is never asked again and leaves in turn.
        self._decoded: dict[str, StoredFact] = {}
        self._capacity = CACHE_FACTS  # grows to hold the recent window (warm_search)

    # --- life cycle ---------------------------------------------------------------------------------

    @classmethod
    async def open(cls, dsn: str, **options: Any) -> PgStore:
        """Connect, create the schema or migrate it to this code's version, load the state tables and start
        listening. Raises ``StoreError`` (naming the server, never the credentials) if the server cannot be
        reached or the schema is newer than this code."""
        store = cls(dsn, **options)
        store._portal = Portal()
        try:
            await store._portal.run(store._open())
        except BaseException:
            await store._portal.run(store._shutdown())
            store._portal.stop()
            raise
        return store

    @classmethod
    def open_sync(cls, dsn: str, **options: Any) -> PgStore:
        store = cls(dsn, **options)
        store._portal = Portal()
        try:
            store._portal.call(store._open())
        except BaseException:
            store._portal.call(store._shutdown())
            store._portal.stop()
            raise
        return store

    async def _open(self) -> None:
        settings = {"search_path": self.schema, "application_name": "sitrep"}
        try:
            self._pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=self.pool_size,
                                                   server_settings=settings, init=init_connection)
            async with self._pool.acquire() as conn:
                await self._migrate(conn)
                await self._load_state(conn)
            await self._listen()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreError(f"cannot open the PostgreSQL store at {self.where} (schema {self.schema}): "
                             f"{reason(exc)}") from None

    async def _migrate(self, conn: asyncpg.Connection) -> None:
        await conn.execute("SELECT pg_advisory_lock($1)", self._migrate_key)
        try:
            if self.read_only:
                exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{self.schema}.meta")
                if not exists:
                    raise StoreError(f"no Sitrep store in schema {self.schema} at {self.where}")
            else:
                await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
                await conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
                                   "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
            applied = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
            known = migrations()
            newest = max((v for v, _, _ in known), default=0)
            if applied and max(applied) > newest:
                raise StoreError(f"the PostgreSQL store in schema {self.schema} is at schema version "
                                 f"{max(applied)}, newer than this code ({newest}): upgrade Sitrep")
            for version, name, sql in known:
                if version in applied:
                    continue
                if self.read_only:
                    raise StoreError(f"the PostgreSQL store in schema {self.schema} needs migration {name}: "
                                     "open it once for writing (python -m bot run or poll)")
                async with conn.transaction():
                    await conn.execute(sql)
                    await conn.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                                       version, name)
                log.info("applied migration %s to schema %s", name, self.schema)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", self._migrate_key)

    async def _listen(self) -> None:
        settings = {"search_path": self.schema, "application_name": "sitrep-listen"}
        self._listener = await asyncpg.connect(self.dsn, server_settings=settings)
        await self._listener.add_listener(self.channel, self._notified)
        self._listener.add_termination_listener(self._listener_lost)

    def _listener_lost(self, _conn: asyncpg.Connection) -> None:
        if not self._closed and (self._reconnect is None or self._reconnect.done()):
            self._reconnect = asyncio.get_running_loop().create_task(self._relisten())

    async def _relisten(self) -> None:
        """The listening connection dropped: notifications may have been missed, so once listening again,
        reload the state and tell subscribers that any guild may have changed."""
        while not self._closed:
            try:
                await self._listen()
                assert self._pool is not None
                async with self._pool.acquire() as conn:
                    changed = await self._load_state(conn)
                self._tell(changed | set(self._guilds))
                log.info("listening again on %s", self.where)
                return
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("cannot listen on %s: %s; retrying in %.0f s", self.where, reason(exc), RECONNECT_S)
                await asyncio.sleep(RECONNECT_S)

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        if self._closed:
            return
        task = asyncio.get_running_loop().create_task(self._refresh(json.loads(payload)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _refresh(self, note: dict[str, Any]) -> None:
        self._last_seq = max(self._last_seq, int(note.get("seq", 0)))
        if int(note.get("state", -1)) <= self._state_version or self._pool is None or self._closed:
            return
        try:
            async with self._pool.acquire() as conn:
                changed = await self._load_state(conn)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("cannot reload settings from %s: %s", self.where, reason(exc))
            return
        self._tell(changed)

    async def _load_state(self, conn: asyncpg.Connection) -> set[int]:
        """Read the state tables in one snapshot and install them if they are newer than memory. Returns the
        guilds whose settings differ from what memory held."""
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            meta = await conn.fetchrow("SELECT last_seq, state_version FROM meta")
            sources = await conn.fetch("SELECT doc FROM sources ORDER BY id")
            topics = await conn.fetch("SELECT doc FROM topics ORDER BY key")
            guilds = await conn.fetch("SELECT doc FROM guilds ORDER BY guild_id")
        self._last_seq = max(self._last_seq, meta["last_seq"])
        if meta["state_version"] <= self._state_version:
            return set()
        new_guilds = {g.guild_id: g for g in (_codec.decode(GuildSettings, r["doc"]) for r in guilds)}
        changed = {g for g in set(new_guilds) | set(self._guilds) if new_guilds.get(g) != self._guilds.get(g)}
        self._sources = {s.id: s for s in (_codec.decode(SourceState, r["doc"]) for r in sources)}
        self._topics = {t.key: t for t in (_codec.decode(Topic, r["doc"]) for r in topics)}
        self._guilds = new_guilds
        self._state_version = meta["state_version"]
        return changed

    def subscribe(self, callback: Subscriber) -> None:
        """Call ``callback`` (on the caller's loop) with the guilds whose settings another process changed."""
        self._subscribers.append((asyncio.get_running_loop(), callback))

    def _tell(self, guilds: set[int]) -> None:
        if not guilds:
            return
        frozen = frozenset(guilds)
        for loop, callback in self._subscribers:
            with contextlib.suppress(RuntimeError):  # that loop is closed: its process part is gone
                loop.call_soon_threadsafe(callback, frozen)

    async def warm_search(self) -> None:
        """Decode the recent window (``hot_weeks``, as the TinyDB driver loads it) into the cache, off the
        caller's loop, before the bot connects: answers about recent weeks then only fetch ids and versions.
        The cache grows to hold the window (plus a quarter), up to WARM_MAX facts."""
        since = self.window_start()
        count = await self._run(self._fetch_value("SELECT count(*) FROM facts WHERE t >= $1", since))
        self._capacity = max(CACHE_FACTS, min(WARM_MAX, int(count * 1.25)))
        newest = (f"SELECT id, rev, t, seq FROM (SELECT id, rev, t, seq FROM facts WHERE t >= $1 "
                  f"ORDER BY t DESC, seq DESC LIMIT {self._capacity}) AS newest")
        await self._run(self._fetch_facts(newest, [since], "t, seq", None))  # oldest first: they leave first
        gc.collect()
        gc.freeze()  # long-lived and acyclic: the cyclic collector need not walk them (as TinyStore does)

    async def close(self) -> None:
        if self._portal is None:
            return
        await self._portal.run(self._shutdown())
        self._portal.stop()
        self._portal = None

    def close_sync(self) -> None:
        if self._portal is None:
            return
        self._portal.call(self._shutdown())
        self._portal.stop()
        self._portal = None

    async def _shutdown(self) -> None:
        self._closed = True
        pending = [*self._tasks, *([self._reconnect] if self._reconnect else [])]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close(timeout=5)
        if self._pool is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._pool.close(), 10)

    # --- writes ---------------------------------------------------------------------------------------

    async def commit(self, batch: Batch) -> CommitResult:
        """Write ``batch`` in one transaction. Raises ``StoreError`` having changed nothing."""
        return await self._run(self._commit(batch, datetime.now(UTC)))

    def commit_sync(self, batch: Batch) -> CommitResult:
        return self._call(self._commit(batch, datetime.now(UTC)))

    async def update_guild(self, guild_id: int, change: GuildChange) -> GuildSettings:
        """Apply ``change`` to the guild's settings as committed now, in one transaction under the write
        lock: a /config on one process and a digest record on another never undo each other."""
        return await self._run(self._update_guild(guild_id, change))

    async def _update_guild(self, guild_id: int, change: GuildChange) -> GuildSettings:
        async with self._transaction() as conn:
            row = await conn.fetchrow("SELECT doc FROM guilds WHERE guild_id = $1", guild_id)
            current = _codec.decode(GuildSettings, row["doc"]) if row else GuildSettings(guild_id=guild_id)
            updated = change(current)
            await conn.execute("INSERT INTO guilds (guild_id, doc) VALUES ($1, $2) ON CONFLICT (guild_id) DO "
                               "UPDATE SET doc = EXCLUDED.doc", guild_id, _codec.encode(updated))
            last_seq, version = await self._bump(conn, None, state=True)
        self._installed(last_seq, version, Batch(guilds=(updated,)))
        return updated

    def import_rows(self, articles: Sequence[Article], facts: Sequence[tuple[StoredFact, bool]], *,
                    sources: Sequence[SourceState] = (), topics: Sequence[Topic] = (),
                    guilds: Sequence[GuildSettings] = (), last_seq: int = 0) -> None:
        """Bulk import into this empty store, for ``python -m bot migrate``: every fact as it is, with its
        backlog flag (``facts`` pairs them), keeping its id, seq and stored_at, which :meth:`commit` would
        not (it gives new facts the next seqs); ``meta.last_seq`` becomes ``last_seq``. One transaction (a
        COPY into articles and facts) under the write lock. Raises StoreError, writing nothing, if the
        schema holds anything or a fact's article is missing."""
        self._call(self._import_rows(articles, facts, Batch(sources=tuple(sources), topics=tuple(topics),
                                                            guilds=tuple(guilds)), last_seq))

    async def _import_rows(self, articles: Sequence[Article], facts: Sequence[tuple[StoredFact, bool]],
                           state: Batch, last_seq: int) -> None:
        payloads = encode_state(state)
        article_rows = [article_row(a) for a in articles]
        fact_rows = [fact_row(f, backlog) for f, backlog in facts]
        async with self._transaction() as conn:
            if await conn.fetchval("SELECT EXISTS (SELECT FROM facts) OR EXISTS (SELECT FROM articles) OR "
                                   "EXISTS (SELECT FROM sources) OR EXISTS (SELECT FROM topics) OR "
                                   "EXISTS (SELECT FROM guilds)"):
                raise StoreError(f"the PostgreSQL store at {self.where} (schema {self.schema}) is not empty: "
                                 "nothing was imported")
            await conn.copy_records_to_table("articles", records=article_rows, schema_name=self.schema, columns=[
                "url", "sort_time", "guid", "text_hash", "story_id", "topics", "doc"])
            await conn.copy_records_to_table("facts", records=fact_rows, columns=list(FACT_ROW),
                                             schema_name=self.schema)
            await write_fact_topics(conn, self.schema, fact_rows)
            await write_state(conn, state, payloads)
            seq = max([last_seq, *(f.seq for f, _ in facts)])
            new_seq, version = await self._bump(conn, seq, state=True)
        self._installed(new_seq, version, state)
        assert self._pool is not None
        # A bulk load leaves the planner without statistics, and the visibility map unset (no index-only
        # scans), until autovacuum gets round to it: plans chosen blind were 20x slower than with them.
        await self._pool.execute("VACUUM (ANALYZE) articles, facts, fact_topics")

    def _check_writable(self) -> None:
        if self._closed:
            raise StoreError("the store is closed")
        if self.read_only:
            raise StoreError(f"the PostgreSQL store at {self.where} was opened read-only")

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[asyncpg.Connection]:
        """One write transaction, serialised with every other process's writes by an advisory lock held to
        its end. Errors leave nothing behind (the transaction rolls back) and come out as StoreError."""
        self._check_writable()
        assert self._pool is not None
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", self._write_key)
                yield conn
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreError(f"cannot write to the PostgreSQL store at {self.where}: {reason(exc)}") from None

    async def _bump(self, conn: asyncpg.Connection, last_seq: int | None, *, state: bool) -> tuple[int, int]:
        """Record the new last seq and state version, and NOTIFY the other processes (sent at commit)."""
        row = await conn.fetchrow(
            "UPDATE meta SET last_seq = GREATEST(last_seq, COALESCE($1, 0)), "
            "state_version = state_version + $2 RETURNING last_seq, state_version", last_seq, int(state))
        await conn.execute("SELECT pg_notify($1, $2)", self.channel,
                           json.dumps({"seq": row["last_seq"], "state": row["state_version"]}))
        return row["last_seq"], row["state_version"]

    async def _commit(self, batch: Batch, now: datetime) -> CommitResult:
        self._check_writable()
        if not batch:
            return CommitResult(last_seq=self._last_seq)
        payloads = encode_state(batch)  # refuses an unserialisable value before the transaction
        async with self._transaction() as conn:
            if batch.fence is not None:
                await check_fence(conn, batch.fence)
            seq = await conn.fetchval("SELECT last_seq FROM meta")
            first_seq = seq
            result, seq = await write_articles(conn, self.schema, batch, now, seq)
            await write_state(conn, batch, payloads)
            state = bool(batch.sources or batch.remove_sources or batch.topics or batch.remove_topics
                         or batch.guilds)
            if seq == first_seq and not state and not (result.new_articles or result.updated_articles):
                return CommitResult(last_seq=seq)
            last_seq, version = await self._bump(conn, seq, state=state)
        self._installed(last_seq, version if state else None, batch)
        return CommitResult(new_articles=result.new_articles, updated_articles=result.updated_articles,
                            new_facts=result.new_facts, removed_facts=result.removed_facts, last_seq=last_seq)

    def _installed(self, last_seq: int, version: int | None, batch: Batch) -> None:
        """After a commit: this process sees its own write at once (the others on its NOTIFY)."""
        self._last_seq = max(self._last_seq, last_seq)
        if version is None:
            return
        if version != self._state_version + 1:  # another process's change is not loaded yet: its NOTIFY
            self._state_version = min(self._state_version, version - 1)  # will reload everything
        else:
            self._state_version = version
        self._sources, self._topics, self._guilds = merged(self._sources, self._topics, self._guilds, batch)

    # --- reads ----------------------------------------------------------------------------------------

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._portal is None:
            coro.close()
            raise StoreError("the store is closed")
        return self._portal.call(coro)

    async def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._portal is None:
            coro.close()
            raise StoreError("the store is closed")
        return await self._portal.run(coro)

    async def _fetch_value(self, sql: str, *args: Any) -> Any:
        rows = await self._fetch(sql, *args)
        return rows[0][0] if rows else None

    async def _fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        assert self._pool is not None
        try:
            return await self._pool.fetch(sql, *args)  # type: ignore[no-any-return]
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreError(f"cannot read the PostgreSQL store at {self.where}: {reason(exc)}") from None

    def _facts(self, where: str, args: Sequence[Any], order: str, limit: int | None) -> list[StoredFact]:
        sql = f"SELECT id, rev, t, seq FROM facts WHERE {where or 'true'}"
        return self._call(self._fetch_facts(sql, args, order, limit))

    async def _fetch_facts(self, sql: str, args: Sequence[Any], order: str, limit: int | None,
                           unique: bool = True, rows_per_fact: int = 1) -> list[StoredFact]:
        """The facts ``sql`` selects (``id, rev, t, seq`` of each), in ``order``, at most ``limit`` (of which
        ``sql`` may give ``rows_per_fact`` rows per fact), in one snapshot: first the ids and row
        versions, then only the rows this process has not decoded at that version. Moving and decoding rows
        was most of an answer's time (~20 µs a fact; a 30-day topic at a million facts is 13,000); the cache
        keeps decoded facts as immutable objects shared by every answer, by id and version. Without
        ``unique``, ids may repeat (a fact in two asked topics): the first counts.

        The cache is first in, first out: the recent window is decoded oldest first (``warm_search``) and new
        facts come after, so what leaves first is the oldest fact, the one least likely to be asked again; a
        least-recently-used order cost a dict move per fact of every answer (a third of a big answer's time).
        """
        assert self._pool is not None
        cache = self._decoded
        # One row, one array of "id:rev" keys: asyncpg builds one list in C (not a Record per fact), and the
        # database sorts once.
        top = f" ORDER BY {order} LIMIT {int(limit) * rows_per_fact}" if limit is not None else ""
        sql = f"SELECT array_agg(id || ':' || rev ORDER BY {order}) FROM ({sql}{top}) AS selected(id, rev, t, seq)"
        try:
            async with self._pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
                keys: list[str] = await conn.fetchval(sql, *args) or []
                if not unique:  # a fact in two of the topics: the same key twice (one version per snapshot)
                    keys = list(dict.fromkeys(keys))
                hits = list(map(cache.get, keys))
                missing = [key.partition(":")[0] for key, hit in zip(keys, hits, strict=True) if hit is None]
                for start in range(0, len(missing), FETCH_ROWS):  # a few thousand rows in memory at a time
                    for row in await conn.fetch(f"SELECT rev, {_FACT_COLUMNS} FROM facts WHERE id = ANY($1)",
                                                missing[start:start + FETCH_ROWS]):
                        cache[f"{row['id']}:{row['rev']}"] = stored(row)
                if missing:
                    hits = list(map(cache.get, keys))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreError(f"cannot read the PostgreSQL store at {self.where}: {reason(exc)}") from None
        found = [hit for hit in hits if hit is not None]
        if len(cache) > self._capacity:
            for key in list(itertools.islice(cache, len(cache) - self._capacity)):
                del cache[key]
        return found if limit is None else found[:limit]

    def facts(self, *, topics: Collection[str] | None = None, kind: Kind | None = None,
              since: datetime | None = None, until: datetime | None = None, category: str | None = None,
              victim: str | None = None, claimant: str | None = None,
              limit: int | None = None) -> list[StoredFact]:
        """As ``TinyStore.facts``: every filter given, newest article first."""
        casualty_only = category is not None or victim is not None or claimant is not None
        if casualty_only and kind not in (None, "casualty"):
            return []
        of_kind = "casualty" if casualty_only else kind
        if topics is not None and victim is None and claimant is None:  # the topics' own ordered index
            return self._topic_facts(list(topics), of_kind, category, aware(since), aware(until), limit)
        where = Where()  # a side's or a claimant's figures: their own index, with the topics in it
        where.add("topics && {}", topic_list(topics))
        where.add("kind = {}", of_kind)
        where.add("t >= {}", aware(since))
        where.add("t <= {}", aware(until))
        where.add("category = {}", category)
        where.add("victim = {}", victim.casefold() if victim is not None else None)
        where.add("claimant = {}", claimant.casefold() if claimant is not None else None)
        return self._facts(where.sql, where.args, "t DESC, seq DESC", limit)

    def _topic_facts(self, topics: list[str], kind: Kind | None, category: str | None, since: datetime | None,
                     until: datetime | None, limit: int | None) -> list[StoredFact]:
        """A topic's facts by kind and time: an index-only scan of ``fact_topics`` (ordered as answers are)
        gives ids and versions without touching the facts table. A fact in several of the topics asked comes
        once per topic, so a limit reads that many rows per topic."""
        if not topics:
            return []
        where = Where()
        where.add("topic = ANY({})", topics)
        where.add("kind = {}", kind)
        where.add("t >= {}", since)
        where.add("t <= {}", until)
        where.add("category = {}", category)
        sql = f"SELECT fact_id, rev, t, seq FROM fact_topics WHERE {where.sql}"
        return self._call(self._fetch_facts(sql, where.args, "t DESC, seq DESC", limit, unique=len(topics) == 1,
                                            rows_per_fact=len(topics)))

    def fact(self, fact_id: str) -> StoredFact | None:
        """By id, or by a unique prefix of at least 4 characters."""
        text = fact_id.strip().lower()
        if not text:
            return None
        if len(text) < 4:
            found = self._facts("id = $1", [text], "id", 1)
        else:
            found = self._facts("id >= $1 AND id < $2", [text, text[:-1] + chr(ord(text[-1]) + 1)], "id", 2)
            exact = [f for f in found if f.id == text]
            found = exact or found
        return found[0] if len(found) == 1 else None

    def facts_after(self, seq: int, *, topics: Collection[str] | None = None) -> list[StoredFact]:
        where = Where()
        where.add("seq > {}", seq)
        where.add("NOT backlog")
        where.add("topics && {}", topic_list(topics))
        return self._facts(where.sql, where.args, "seq", None)

    def search(self, words_: str, *, topics: Collection[str] | None = None, limit: int = 50) -> list[StoredFact]:
        """Facts whose text holds every word (folded: case and accents aside), newest first: the words
        column, computed at commit by the same function the TinyDB driver indexes with."""
        terms = words(words_)
        if not terms:
            return []
        where = Where()
        where.add("words @> {}", sorted(terms))
        where.add("topics && {}", topic_list(topics))
        return self._facts(where.sql, where.args, "t DESC, seq DESC", limit)

    def reads_disk(self, *, topics: Collection[str] | None = None, kind: Kind | None = None,
                   since: datetime | None = None, until: datetime | None = None, limit: int | None = None) -> bool:
        """Every fact read is a query to the server: off the event loop."""
        return True

    def fact_reads_disk(self, fact_id: str) -> bool:
        return True

    def window_start(self) -> datetime:
        """The start of the recent window that answers without a date range cover (``hot_weeks``), as the
        TinyDB driver: the two drivers answer the same question the same way."""
        return datetime.now(UTC) - timedelta(weeks=self.hot_weeks)

    @property
    def last_seq(self) -> int:
        return self._last_seq

    # --- articles -------------------------------------------------------------------------------------

    def _articles(self, where: str, args: Sequence[Any], order: str, limit: int | None) -> list[Article]:
        sql = f"SELECT doc FROM articles WHERE {where} ORDER BY {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [_codec.decode(Article, row["doc"]) for row in self._call(self._fetch(sql, *args))]

    def article(self, url: str) -> Article | None:
        return next(iter(self._articles("url = $1", [url], "url", 1)), None)

    def article_by_guid(self, guid: str) -> Article | None:
        return next(iter(self._articles("guid = $1", [guid], "sort_time DESC, url", 1)), None)

    def article_by_hash(self, text_hash: str) -> Article | None:
        return next(iter(self._articles("text_hash = $1", [text_hash], "sort_time DESC, url", 1)), None)

    def recent_articles(self, *, topics: Collection[str] | None = None, limit: int = 50) -> list[Article]:
        where = Where()
        where.add("topics && {}", topic_list(topics))
        return self._articles(where.sql or "true", where.args, "sort_time DESC, url", limit)

    def story_articles(self, story_id: str) -> list[Article]:
        return self._articles("story_id = $1", [story_id], "sort_time, url", None)

    # --- sources, topics and guilds: StateReads (storage/_state.py), from memory -------------------------

    def stats(self) -> dict[str, int]:
        rows = self._call(self._fetch(
            "SELECT (SELECT count(*) FROM facts) AS facts, (SELECT count(*) FROM articles) AS articles"))
        return {"facts": rows[0]["facts"], "articles": rows[0]["articles"], "sources": len(self._sources),
                "topics": len(self._topics), "guilds": len(self._guilds), "partitions": 0,
                "last_seq": self._last_seq}
