"""The Store: Sitrep's repository API over TinyDB files (see storage/DESIGN.md).

Only a recent window of week partitions (``hot_weeks``) is loaded, with full indexes; every other
partition is known by a small summary (``_summary``) and read from its file when an answer needs it, then
kept in a small cache. Reads of the window are in-memory and safe on the event loop; a read that needs an
old partition (an old date range, a fact by id, a search over all history) does file I/O, so the bot runs
those in a worker thread (``asyncio.to_thread``). Writes go through :meth:`Store.commit`, which serialises
batches, plans and writes them off the event loop as new generations, commits them by replacing the
manifest, and only then applies the batch to memory, in one step.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.errors import StoreError
from bot.model import Article, GuildSettings, Kind, SourceState, StoredFact, Topic
from storage import _codec
from storage._state import State, StateReads
from storage._words import might_contain, search_text, words
from storage.api import DEFAULT_HOT_WEEKS, Batch, CommitResult, GuildChange, Subscriber
from storage.tinydb import _disk, _files, _lock
from storage.tinydb._layout import (
    LEGACY_V0,
    MANIFEST,
    SCHEMA_VERSION,
    SUM,
    Part,
    article_time,
    partition_of,
    span_end,
    stamp,
)
from storage.tinydb._migrate import read_v0
from storage.tinydb._partitions import Partitions
from storage.tinydb._plan import Plan
from storage.tinydb._summary import contains, count_range, id_key, prefix_range, text_key

__all__ = ["MANIFEST", "TinyStore", "partition_of"]  # partition_of and MANIFEST live in _layout (tests use them)


class TinyStore(StateReads):
    """The TinyDB driver of the repository API (:class:`storage.api.Store`): the embedded default."""

    SCHEMA_VERSION = SCHEMA_VERSION
    MANIFEST = MANIFEST  # the one file of fixed name: a directory holds a store when it has it (or LEGACY_V0)

    def __init__(self, data_dir: Path, *, read_only: bool = False, hot_weeks: int = DEFAULT_HOT_WEEKS) -> None:
        self.data_dir = data_dir
        self.read_only = read_only
        self.hot_weeks = hot_weeks
        self._lock = asyncio.Lock()  # one commit at a time
        self._closed = False
        self._writer_lock: Path | None = None  # held (shared within this process) by a writable store
        self._parts = Partitions(data_dir, read_only=read_only, hot_weeks=hot_weeks)
        self._mem = self._parts.mem
        self._sources: dict[str, SourceState] = {}
        self._topics: dict[str, Topic] = {}
        self._guilds: dict[int, GuildSettings] = {}

    # --- life cycle ---------------------------------------------------------------------------------

    @staticmethod
    def exists(data_dir: Path) -> bool:
        """Whether ``data_dir`` holds a TinyDB store (of this version's layout, or of version 0)."""
        return (data_dir / MANIFEST).is_file() or (data_dir / LEGACY_V0).is_file()

    @classmethod
    async def open(cls, data_dir: Path, *, read_only: bool = False, hot_weeks: int = DEFAULT_HOT_WEEKS) -> TinyStore:
        """Open (creating, or migrating from an older schema) the store in ``data_dir``, loading the last
        ``hot_weeks`` weeks of facts and the summaries of the others.

        A writable store takes the directory's writer lock (``_lock``) first and holds it until
        :meth:`close` or the end of the process: a second writing process is refused with ``StoreError``
        naming the holder's pid. ``read_only=True`` takes no lock, so it is never blocked by a writer; it
        creates, migrates, collects and commits nothing.

        Raises ``StoreError`` with a clear message, touching nothing, if the store is newer than this code
        or a file is corrupt.
        """
        return await asyncio.to_thread(cls.open_sync, data_dir, read_only=read_only, hot_weeks=hot_weeks)

    @classmethod
    def open_sync(cls, data_dir: Path, *, read_only: bool = False, hot_weeks: int = DEFAULT_HOT_WEEKS) -> TinyStore:
        data_dir = Path(data_dir)
        if read_only:
            return cls._open_read_only(data_dir, hot_weeks)
        store = cls(data_dir, hot_weeks=hot_weeks)
        try:
            store.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create data directory {data_dir}: {exc.strerror or exc}") from exc
        store._writer_lock = _lock.acquire(store.data_dir)
        try:
            manifest_path = store.data_dir / MANIFEST
            if manifest_path.exists():
                store._load(manifest_path)
            elif (store.data_dir / LEGACY_V0).exists():
                store._migrate_v0()
        except BaseException:
            store._release()
            raise
        store._freeze()
        return store

    @classmethod
    def _open_read_only(cls, data_dir: Path, hot_weeks: int) -> TinyStore:
        manifest_path = data_dir / MANIFEST
        for _ in range(20):
            store = cls(data_dir, read_only=True, hot_weeks=hot_weeks)
            try:
                seen = manifest_path.read_bytes()
            except FileNotFoundError:
                if (data_dir / LEGACY_V0).exists():  # migrated in memory only: writing is the writer's job
                    store._migrate_v0()
                break
            except OSError as exc:
                raise StoreError(f"cannot read {manifest_path}: {exc.strerror or exc}") from exc
            try:
                store._load(manifest_path)
                break
            except _files.MissingFile:
                # A writer committed (and collected the old generation) while we read: read the new one.
                with contextlib.suppress(OSError):
                    if manifest_path.read_bytes() != seen:
                        continue
                raise
        store._freeze()
        return store

    def _load(self, manifest_path: Path) -> None:
        self._sources, self._topics, self._guilds = _disk.load(self._parts, manifest_path)

    def _migrate_v0(self) -> None:
        """Version 0 (one TinyDB file) through the normal commit path, then the old file renamed; a read-only
        store applies it in memory only (seen as migrated, nothing written: the next writer migrates it)."""
        legacy = self.data_dir / LEGACY_V0
        batch = read_v0(legacy)
        if self.read_only:
            plan = Plan(self._parts, self._state(), batch, now=datetime.now(UTC))
            if not plan.empty:
                plan.encode()
                self._apply(plan)
            return
        self.commit_sync(batch)
        legacy.rename(legacy.with_name(legacy.name + ".v0-migrated"))

    def _freeze(self) -> None:
        # The loaded facts live long and hold no reference cycles (they are freed by reference counting
        # when replaced). Freezing them keeps the cyclic collector from walking them on every full
        # collection: at 100k facts each such walk stalled the event loop ~400 ms during ingest.
        gc.freeze()

    def _settle(self) -> None:
        """After a commit: collect what is garbage now, then freeze what is alive. A full collection only
        walks objects not frozen, i.e. those made since the last commit (a few ms); without this, the facts
        and index entries of a day of commits piled up unfrozen and a full collection, run by whichever
        thread allocated at the wrong moment, walked them all with the GIL held (100+ ms at 10k facts)."""
        gc.collect()
        gc.freeze()

    def _release(self) -> None:
        if self._writer_lock is not None:
            _lock.release(self._writer_lock)
            self._writer_lock = None

    async def warm_search(self) -> None:
        """Finish opening, off the event loop: load the rest of the recent window (open loads only the last
        OPEN_WEEKS), build the key filters and the word indexes. Call once after start-up; until then,
        answers are complete too, reading the rest of the window from disk as needed."""
        async with self._lock:
            await asyncio.to_thread(self._parts.load_pending)
            await asyncio.to_thread(self._parts.build_filters)
            for part in list(self._parts.hot.values()):
                if not part.index.has_words:
                    await asyncio.to_thread(part.index.build_words, self._mem)
            # The word index is a few hundred thousand long-lived sets: frozen too, or the next full
            # collection walks them all on the event loop (~150 ms at 100k facts, the first commit's stall).
            self._freeze()

    async def close(self) -> None:
        """Wait for the write in flight, then release the store (and its writer lock). Idempotent."""
        async with self._lock:
            self.close_sync()

    def close_sync(self) -> None:
        """Release the store and its writer lock, for scripts with no event loop. Idempotent."""
        self._closed = True
        self._release()

    # --- the one write ------------------------------------------------------------------------------

    async def commit(self, batch: Batch) -> CommitResult:
        """Write ``batch`` atomically and durably, then make it visible to readers all at once.

        Raises ``StoreError`` (disk full, read-only, unserialisable value, ...) having changed nothing, on
        disk or in memory.
        """
        async with self._lock:
            if self._closed:
                raise StoreError("the store is closed")
            self._check_writable()
            if not batch:
                return CommitResult(last_seq=self._parts.last_seq)
            # Off the loop: planning may read an old partition from disk, encoding is CPU work. Only this
            # task (holding the lock) ever changes what they read.
            plan = await asyncio.to_thread(Plan, self._parts, self._state(), batch, datetime.now(UTC))
            if plan.empty:
                return plan.result
            payloads = await asyncio.to_thread(plan.encode)
            await asyncio.to_thread(_disk.write, self.data_dir, payloads)
            self._apply(plan)
            self._settle()
            await asyncio.to_thread(_disk.collect_garbage, self._parts)
            return plan.result

    def commit_sync(self, batch: Batch) -> CommitResult:
        """The same as :meth:`commit`, for scripts and migrations with no event loop."""
        if self._closed:
            raise StoreError("the store is closed")
        self._check_writable()
        if not batch:
            return CommitResult(last_seq=self._parts.last_seq)
        plan = Plan(self._parts, self._state(), batch, now=datetime.now(UTC))
        if not plan.empty:
            _disk.write(self.data_dir, plan.encode())
            self._apply(plan)
            _disk.collect_garbage(self._parts)
        return plan.result

    async def update_guild(self, guild_id: int, change: GuildChange) -> GuildSettings:
        """Apply ``change`` to the guild's settings as they are now and commit them, with no other commit in
        between: /config, digest and alert records each change their own fields of one record, and a write
        from a copy read earlier would undo another's. One process writes a TinyDB store (the writer lock),
        so the commit lock is enough."""
        async with self._lock:
            if self._closed:
                raise StoreError("the store is closed")
            self._check_writable()
            updated = change(self.guild(guild_id))
            plan = await asyncio.to_thread(Plan, self._parts, self._state(), Batch(guilds=(updated,)),
                                     datetime.now(UTC))
            payloads = await asyncio.to_thread(plan.encode)
            await asyncio.to_thread(_disk.write, self.data_dir, payloads)
            self._apply(plan)
            await asyncio.to_thread(_disk.collect_garbage, self._parts)
            return updated

    def subscribe(self, callback: Subscriber) -> None:
        """Nothing to tell: only this process writes a TinyDB store, and its readers see each commit."""

    def import_rows(self, articles: Sequence[Article], facts: Sequence[tuple[StoredFact, bool]], *,
                    sources: Sequence[SourceState] = (), topics: Sequence[Topic] = (),
                    guilds: Sequence[GuildSettings] = (), last_seq: int = 0) -> None:
        """Bulk import into this empty store, for ``python -m bot migrate``: every fact as it is, with its
        backlog flag (``facts`` pairs them), keeping its id, seq and stored_at, which :meth:`commit` would
        not (it gives new facts the next seqs); ``last_seq`` is kept too. One atomic write, like a commit.
        Raises StoreError, writing nothing, if the store holds anything or a fact's article is missing."""
        from storage.tinydb._import import write_rows

        if self._closed:
            raise StoreError("the store is closed")
        self._check_writable()
        counts = self.stats()
        if any(counts[t] for t in ("articles", "facts", "sources", "topics", "guilds")):
            raise StoreError(f"the store in {self.data_dir} is not empty: nothing was imported")
        write_rows(self._parts, articles, facts, sources=sources, topics=topics, guilds=guilds, last_seq=last_seq)
        # Memory as a fresh open of the new manifest has it.
        self._parts = Partitions(self.data_dir, read_only=self.read_only, hot_weeks=self.hot_weeks)
        self._mem = self._parts.mem
        self._load(self.data_dir / MANIFEST)
        self._freeze()

    def _state(self) -> State:
        return self._sources, self._topics, self._guilds

    def _apply(self, plan: Plan) -> None:
        """Make a written plan visible: partitions, then the state. No await in here: readers on the loop see
        all of it or none."""
        plan.apply()
        if plan.state is not None:
            self._sources, self._topics, self._guilds = plan.state

    def _check_writable(self) -> None:
        if self.read_only:
            raise StoreError(f"the store in {self.data_dir} was opened read-only")

    # --- facts --------------------------------------------------------------------------------------

    def facts(
        self,
        *,
        topics: Collection[str] | None = None,
        kind: Kind | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        category: str | None = None,
        victim: str | None = None,
        claimant: str | None = None,
        limit: int | None = None,
    ) -> list[StoredFact]:
        """Facts matching every filter given, newest article first.

        ``topics`` are Topic.key values (a fact matches if it has any of them); ``since``/``until`` bound the
        article's publication time (its ``stored_at`` when it has none); ``victim`` and ``claimant`` match
        the canonical names exactly (case-insensitive); ``claimant=""`` asks for unattributed figures.
        Reads old partitions from disk when the answer reaches back before the loaded window.
        """
        lo = stamp(since) if since else float("-inf")
        hi = stamp(until) if until else float("inf")
        with self._mem:
            names = [n for n, s in self._parts.summaries.items()
                     if s.t_max >= lo and s.t_min <= hi and s.has_topic_kind(topics, kind)]
        wanted = set(topics) if topics is not None else None

        def keep(doc: dict[str, Any], _: dict[str, Any] | None) -> bool:
            return ((wanted is None or not wanted.isdisjoint(doc["topics"]))
                    and (kind is None or _codec.kind_of(doc["fact"]) == kind))

        return self._parts.newest_first(names, limit, keep, True, lambda part: part.index.query(
            topics=topics, kind=kind, since=since, until=until, category=category, victim=victim,
            claimant=claimant, limit=limit))

    def fact(self, fact_id: str) -> StoredFact | None:
        """A fact by its id, or by a unique prefix of at least 4 characters."""
        text = fact_id.strip().lower()
        with self._mem:
            for part in self._parts.hot.values():
                found = part.index.get(text)
                if found is not None:
                    return found
            if len(text) < 4:
                return None
            key = id_key(text)
            if key is not None:
                names = self._parts.holding("ids", key)
            else:
                span = prefix_range(text)
                if span is None:
                    return None
                counts = {n: count_range(s.ids, *span) for n, s in self._parts.summaries.items()}
                names = [n for n, c in counts.items() if c]
                if sum(counts.values()) != 1:
                    return None
        for name in names:
            part = self._parts.subset(name, lambda doc, _: str(doc["id"]).startswith(text), True)
            found = part.index.by_id_or_prefix(text)
            if found is not None:
                return found
        return None

    def facts_after(self, seq: int, *, topics: Collection[str] | None = None) -> list[StoredFact]:
        """Facts committed after ``seq`` (oldest first), leaving out backlog facts: what a digest covers."""
        with self._mem:
            names = [n for n, s in self._parts.summaries.items() if s.max_seq > seq and s.has_topic_kind(topics, None)]
        found: list[StoredFact] = []
        for name in names:
            part = self._parts.part(name)
            with self._mem:
                found += part.index.after(seq, topics)
        found.sort(key=lambda f: f.seq)
        return found

    def claims(self, *, topics: Collection[str], since: datetime | None = None) -> list[StoredFact]:
        """Every casualty and territory fact of any of ``topics`` (published since ``since``), each once, in no
        particular order: an export's rows, read in one pass; old weeks are streamed, not loaded."""
        return self._parts.claims(topics, since)

    def search(self, words_: str, *, topics: Collection[str] | None = None, limit: int = 50) -> list[StoredFact]:
        """Facts whose quote, summary, actors or article title contain every word (case- and
        accent-insensitive), newest first. Over all history: partitions whose vocabulary lacks a word are
        skipped, the others are read newest first until the answer is complete."""
        terms = words(words_)
        if not terms:
            return []
        with self._mem:
            names = [n for n, s in self._parts.summaries.items() if terms <= s.words and s.has_topic_kind(topics, None)]

        wanted = set(topics) if topics is not None else None

        def keep(doc: dict[str, Any], article: dict[str, Any] | None) -> bool:
            if wanted is not None and wanted.isdisjoint(doc["topics"]):
                return False
            fact, article = doc["fact"], article or {}
            return might_contain(search_text(
                fact.get("quote"), article.get("title"), article.get("outlet"), fact.get("summary"),
                fact.get("location"), fact.get("actors"), fact.get("victim"), fact.get("victim_text"),
                fact.get("claimant"), fact.get("claimant_text")), terms)

        def search(part: Part) -> list[StoredFact]:
            if not part.index.has_words:  # a loaded partition not warmed yet, or the few documents kept
                part.index.build_words(self._mem)
            return part.index.search(words_, topics, limit)

        # Old partitions are scanned, not indexed: their documents are tested for the words as substrings
        # first, and only those that pass are decoded (a word index for a whole week costs more than that).
        return self._parts.newest_first(names, limit, keep, False, search)

    def reads_disk(self, *, topics: Collection[str] | None = None, kind: Kind | None = None,
                   since: datetime | None = None, until: datetime | None = None, limit: int | None = None) -> bool:
        """Whether ``facts`` with these filters (and any others, within the ``since``/``until`` bounds) may
        have to read partitions that are not loaded, i.e. do file I/O: such answers belong off the event
        loop. With no argument: whether anything is not loaded (so a search over all history may read)."""
        return self._parts.reads_disk(topics=topics, kind=kind, since=since, until=until, limit=limit)

    def window_start(self) -> datetime:
        """The start of the loaded window: facts published since are answered from memory (once
        warm_search has loaded the whole window)."""
        return datetime.now(UTC) - timedelta(weeks=self.hot_weeks)

    def fact_reads_disk(self, fact_id: str) -> bool:
        """Whether :meth:`fact` may read a partition that is not loaded: the id (or prefix) is not a loaded
        fact's, and some other partition's summary holds a match."""
        return self._parts.fact_reads_disk(fact_id)

    @property
    def last_seq(self) -> int:
        return self._parts.last_seq

    # --- articles -----------------------------------------------------------------------------------

    def article(self, url: str) -> Article | None:
        """By canonical URL."""
        found = self._parts.articles.get(url)
        if found is not None:
            return found
        key = text_key(url)
        return self._parts.cold_article("urls", key, lambda a: a.url == url)

    def article_by_guid(self, guid: str) -> Article | None:
        url = self._parts.by_guid.get(guid)
        if url:
            return self._parts.articles.get(url)
        key = text_key(guid)
        return self._parts.cold_article("guids", key, lambda a: a.guid == guid)

    def article_by_hash(self, text_hash: str) -> Article | None:
        url = self._parts.by_hash.get(text_hash)
        if url:
            return self._parts.articles.get(url)
        key = text_key(text_hash)
        return self._parts.cold_article("hashes", key, lambda a: a.text_hash == text_hash)

    def recent_articles(self, *, topics: Collection[str] | None = None, limit: int = 50) -> list[Article]:
        """Newest first, by publication time."""
        wanted = set(topics) if topics is not None else None
        with self._mem:
            names = sorted((n for n, s in self._parts.summaries.items() if s.n_articles),
                           key=span_end, reverse=True)
        found: list[Article] = []
        for name in names:
            if len(found) >= limit:
                found = sorted(found, key=article_time, reverse=True)[:limit]
                if span_end(name) < article_time(found[-1]):
                    break
            part = self._parts.part(name)
            with self._mem:
                found += [a for a in part.articles.values() if wanted is None or wanted.intersection(a.topics)]
        return sorted(found, key=article_time, reverse=True)[:limit]

    def story_articles(self, story_id: str) -> list[Article]:
        """Every article linked to one story (the same incident from several outlets)."""
        key = text_key(story_id)
        with self._mem:
            found = [self._parts.articles[u] for u in self._parts.by_story.get(story_id, ())]
            names = [n for n, s in self._parts.summaries.items()
                     if n not in self._parts.hot and contains(s.stories, key)]
        for name in names:
            part = self._parts.part(name)
            with self._mem:
                found += [a for a in part.articles.values() if a.story_id == story_id]
        return sorted(found, key=article_time)

    # --- sources, topics and guilds: StateReads (storage/_state.py) --------------------------------------

    def stats(self) -> dict[str, int]:
        """Counts for `ask sources` and logs: facts, articles, sources, guilds, partitions."""
        with self._mem:
            return {"facts": sum(s.n_facts for s in self._parts.summaries.values()),
                    "articles": sum(s.n_articles for s in self._parts.summaries.values()),
                    "sources": len(self._sources), "topics": len(self._topics), "guilds": len(self._guilds),
                    "partitions": sum(1 for p in self._parts.files if not p.endswith(SUM)),
                    "last_seq": self._parts.last_seq}

