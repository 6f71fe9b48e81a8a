"""The PostgreSQL driver of the Store API: one database several bot processes share (storage/DESIGN.md).

- asyncpg runs on the store's own loop in one thread (the *portal*). The API's reads are synchronous: a read
  submits its query there and waits; ``reads_disk`` is always true, so callers on the bot's loop read in a
  worker thread, as for an old TinyDB partition. A read never runs on the portal's own thread.
- Every commit is one transaction under a transaction-level advisory lock: commits are serialised across
  the cluster, seq numbers are handed out in commit order (a digest that read up to seq N never misses a
  fact committed later with a smaller seq), and a reader sees a whole batch or none of it.
- Sources, topics and guild settings are few and read on every command: each process keeps them in memory.
  A commit that changes them bumps ``meta.state_version`` and NOTIFYs; every other process LISTENs, reloads
  the three tables and tells its subscribers which guilds changed (and reloads after a lost connection).
- Schema ``_schema.py``; commit writes ``_write.py``; rows, WHERE clauses, session settings ``_rows.py``; decoded
  facts by id and row version ``_cache.py``; the loop thread ``_portal.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
from collections.abc import AsyncIterator, Collection, Coroutine, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import asyncpg

from bot.errors import StoreError
from bot.model import Article, GuildSettings, Kind, SourceState, StoredFact, Topic
from storage import _codec
from storage._state import StateReads, merged
from storage._words import words
from storage.api import DEFAULT_HOT_WEEKS, Batch, CommitResult, GuildChange, Subscriber
from storage.postgres._cache import CACHE_FACTS, FactCache
from storage.postgres._portal import Portal
from storage.postgres._rows import (
    Where,
    article_row,
    aware,
    decode_state,
    encode_state,
    fact_row,
    init_connection,
    read_state,
    reason,
    server_settings,
    topic_list,
)
from storage.postgres._schema import DEFAULT_SCHEMA, SCHEMA_NAME, advisory_key, describe, migrate
from storage.postgres._write import bump, check_fence, write_articles, write_guild, write_rows, write_state

log = logging.getLogger("storage.postgres")  # the name it had as one module
T = TypeVar("T")
RECONNECT_S = 2.0  # between attempts to restore the listening connection
WARM_MAX = 250_000  # at most, when the recent window is larger (warm_search)


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
        self._cache = FactCache()  # decoded facts by id and row version

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
        settings = server_settings(self.schema, "sitrep")
        try:
            self._pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=self.pool_size,
                                                   server_settings=settings, init=init_connection)
            async with self._pool.acquire() as conn:
                await migrate(conn, self.schema, self._migrate_key, read_only=self.read_only, where=self.where)
                await self._load_state(conn)
            await self._listen()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreError(f"cannot open the PostgreSQL store at {self.where} (schema {self.schema}): "
                             f"{reason(exc)}") from None

    async def _listen(self) -> None:
        settings = server_settings(self.schema, "sitrep-listen")
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
        last_seq, version, rows = await read_state(conn)
        self._last_seq = max(self._last_seq, last_seq)
        if version <= self._state_version:
            return set()
        sources, topics, guilds = decode_state(*rows)
        changed = {g for g in set(guilds) | set(self._guilds) if guilds.get(g) != self._guilds.get(g)}
        self._sources, self._topics, self._guilds, self._state_version = sources, topics, guilds, version
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
        self._cache.capacity = max(CACHE_FACTS, min(WARM_MAX, int(count * 1.25)))
        newest = (f"SELECT id, rev, t, seq FROM (SELECT id, rev, t, seq FROM facts WHERE t >= $1 "
                  f"ORDER BY t DESC, seq DESC LIMIT {self._cache.capacity}) AS newest")
        await self._run(self._fetch_cached(newest, [since], "t, seq", None))  # oldest first: they leave first
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
            updated = await write_guild(conn, guild_id, change)
            last_seq, version = await bump(conn, self.channel, None, state=True)
        await self._installed(last_seq, version, Batch(guilds=(updated,)))
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
            if not await write_rows(conn, self.schema, article_rows, fact_rows, state, payloads):
                raise StoreError(f"the PostgreSQL store at {self.where} (schema {self.schema}) is not empty: "
                                 "nothing was imported")
            seq = max([last_seq, *(f.seq for f, _ in facts)])
            new_seq, version = await bump(conn, self.channel, seq, state=True)
        await self._installed(new_seq, version, state)
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
            last_seq, version = await bump(conn, self.channel, seq, state=state)
        await self._installed(last_seq, version if state else None, batch)
        return CommitResult(new_articles=result.new_articles, updated_articles=result.updated_articles,
                            new_facts=result.new_facts, removed_facts=result.removed_facts, last_seq=last_seq)

    async def _installed(self, last_seq: int, version: int | None, batch: Batch) -> None:
        """After a commit this process sees its own write at once: the next version in line is merged; any other
        (another process's change not loaded yet, or this process's commits ending out of order) is read back in
        one snapshot, installed only if newer, so memory never ends on an older record (else its NOTIFY will)."""
        self._last_seq = max(self._last_seq, last_seq)
        if version is not None and version == self._state_version + 1:
            self._state_version = version
            self._sources, self._topics, self._guilds = merged(self._sources, self._topics, self._guilds, batch)
        elif version is not None and self._pool is not None:
            with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                async with self._pool.acquire() as conn:
                    await self._load_state(conn)

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

    async def _fetch_cached(self, sql: str, args: Sequence[Any], order: str, limit: int | None,
                            unique: bool = True, rows_per_fact: int = 1) -> list[StoredFact]:
        assert self._pool is not None
        try:
            return await self._cache.fetch(self._pool, sql, args, order, limit, unique, rows_per_fact)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreError(f"cannot read the PostgreSQL store at {self.where}: {reason(exc)}") from None

    def _facts(self, where: str, args: Sequence[Any], order: str, limit: int | None) -> list[StoredFact]:
        sql = f"SELECT id, rev, t, seq FROM facts WHERE {where or 'true'}"
        return self._call(self._fetch_cached(sql, args, order, limit))

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
        return self._call(self._fetch_cached(sql, where.args, "t DESC, seq DESC", limit, unique=len(topics) == 1,
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

    def claims(self, *, topics: Collection[str], since: datetime | None = None) -> list[StoredFact]:  # one query
        return [f for f in self.facts(topics=topics, since=since) if f.fact.kind != "event"]

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
