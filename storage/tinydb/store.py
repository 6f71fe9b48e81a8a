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
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.errors import StoreError
from bot.model import Article, GuildSettings, Kind, SourceState, StoredFact, Topic
from storage import _codec
from storage._state import StateReads
from storage.api import Batch, CommitResult, GuildChange, Subscriber
from storage.tinydb import _files, _lock, _summary
from storage.tinydb._index import might_contain, search_text, words
from storage.tinydb._layout import (
    _FILTER_BITS,
    _PART_FILE,
    COLD_CACHE,
    DEFAULT_HOT_WEEKS,
    LEGACY_V0,
    MANIFEST,
    OPEN_WEEKS,
    SCHEMA_VERSION,
    STATE,
    SUM,
    _article_time,
    _Keep,
    _key,
    _newest,
    _Part,
    _span_end,
    _stamp,
    partition_of,
)
from storage.tinydb._plan import _Plan
from storage.tinydb._summary import KeyFilter, Summary, contains, count_range, fact_time, id_key, prefix_range, text_key

__all__ = ["MANIFEST", "TinyStore", "partition_of"]  # partition_of and MANIFEST live in _layout


class TinyStore(StateReads):
    """The TinyDB driver of the repository API (:class:`storage.api.Store`): the embedded default."""

    SCHEMA_VERSION = SCHEMA_VERSION

    def __init__(self, data_dir: Path, *, read_only: bool = False, hot_weeks: int = DEFAULT_HOT_WEEKS) -> None:
        self.data_dir = data_dir
        self.read_only = read_only
        self.hot_weeks = hot_weeks
        self._lock = asyncio.Lock()  # one commit at a time
        # Guards what commits change (loaded partitions, the cache, summaries) against readers in worker
        # threads. Held only for in-memory work, never while a file is read.
        self._mem = threading.RLock()
        self._closed = False
        self._writer_lock: Path | None = None  # held (shared within this process) by a writable store
        self._generation = 0
        self._last_seq = 0
        self._files: dict[str, str] = {}  # partition → current file name
        self._summaries: dict[str, Summary] = {}  # every fact partition → its summary
        self._hot: dict[str, _Part] = {}  # the loaded partitions: the recent window, and any written since
        self._pending: list[str] = []  # partitions of the window that warm_search loads
        self._cold: OrderedDict[str, tuple[str, _Part]] = OrderedDict()  # partition → (file, content), LRU
        self._articles: dict[str, Article] = {}  # articles of the loaded partitions, by URL
        self._article_part: dict[str, str] = {}
        self._by_guid: dict[str, str] = {}
        self._by_hash: dict[str, str] = {}
        self._by_story: dict[str, set[str]] = {}
        self._sources: dict[str, SourceState] = {}
        self._topics: dict[str, Topic] = {}
        self._guilds: dict[int, GuildSettings] = {}
        self._filters: dict[str, KeyFilter] | None = None  # built off the loop, by warm_search or a commit

    # --- life cycle ---------------------------------------------------------------------------------

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
                from storage.tinydb._migrate import migrate_v0

                migrate_v0(store, store.data_dir / LEGACY_V0)
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
                    from storage.tinydb._migrate import migrate_v0

                    migrate_v0(store, data_dir / LEGACY_V0)
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
            await asyncio.to_thread(self._load_pending)
            await asyncio.to_thread(self._build_filters)
            for part in list(self._hot.values()):
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
                return CommitResult(last_seq=self._last_seq)
            # Off the loop: planning may read an old partition from disk, encoding is CPU work. Only this
            # task (holding the lock) ever changes what they read.
            plan = await asyncio.to_thread(_Plan, self, batch, datetime.now(UTC))
            if plan.empty:
                return plan.result
            payloads = await asyncio.to_thread(plan.encode)
            await asyncio.to_thread(self._write, payloads)
            plan.apply()
            self._settle()
            await asyncio.to_thread(self._collect_garbage)
            return plan.result

    def commit_sync(self, batch: Batch) -> CommitResult:
        """The same as :meth:`commit`, for scripts and migrations with no event loop."""
        if self._closed:
            raise StoreError("the store is closed")
        self._check_writable()
        if not batch:
            return CommitResult(last_seq=self._last_seq)
        plan = _Plan(self, batch, now=datetime.now(UTC))
        if not plan.empty:
            self._write(plan.encode())
            plan.apply()
            self._collect_garbage()
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
            plan = await asyncio.to_thread(_Plan, self, Batch(guilds=(updated,)), datetime.now(UTC))
            payloads = await asyncio.to_thread(plan.encode)
            await asyncio.to_thread(self._write, payloads)
            plan.apply()
            await asyncio.to_thread(self._collect_garbage)
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
        from storage.copy import write_tiny

        if self._closed:
            raise StoreError("the store is closed")
        self._check_writable()
        write_tiny(self, articles, facts, sources=sources, topics=topics, guilds=guilds, last_seq=last_seq)

    def _apply_in_memory(self, batch: Batch) -> None:
        """Apply ``batch`` to memory only: how a read-only store sees a v0 store it may not migrate."""
        plan = _Plan(self, batch, now=datetime.now(UTC))
        if not plan.empty:
            plan.encode()
            plan.apply()

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
        lo = _stamp(since) if since else float("-inf")
        hi = _stamp(until) if until else float("inf")
        with self._mem:
            names = [n for n, s in self._summaries.items()
                     if s.t_max >= lo and s.t_min <= hi and s.has_topic_kind(topics, kind)]
        wanted = set(topics) if topics is not None else None

        def keep(doc: dict[str, Any], _: dict[str, Any] | None) -> bool:
            return ((wanted is None or not wanted.isdisjoint(doc["topics"]))
                    and (kind is None or _codec.kind_of(doc["fact"]) == kind))

        return self._newest_first(names, limit, keep, True, lambda part: part.index.query(
            topics=topics, kind=kind, since=since, until=until, category=category, victim=victim,
            claimant=claimant, limit=limit))

    def fact(self, fact_id: str) -> StoredFact | None:
        """A fact by its id, or by a unique prefix of at least 4 characters."""
        text = fact_id.strip().lower()
        with self._mem:
            for part in self._hot.values():
                found = part.index.get(text)
                if found is not None:
                    return found
            if len(text) < 4:
                return None
            key = id_key(text)
            if key is not None:
                names = self._holding("ids", key)
            else:
                span = prefix_range(text)
                if span is None:
                    return None
                counts = {n: count_range(s.ids, *span) for n, s in self._summaries.items()}
                names = [n for n, c in counts.items() if c]
                if sum(counts.values()) != 1:
                    return None
        for name in names:
            found = self._subset(name, lambda doc, _: str(doc["id"]).startswith(text), True).index.by_id_or_prefix(text)
            if found is not None:
                return found
        return None

    def facts_after(self, seq: int, *, topics: Collection[str] | None = None) -> list[StoredFact]:
        """Facts committed after ``seq`` (oldest first), leaving out backlog facts: what a digest covers."""
        with self._mem:
            names = [n for n, s in self._summaries.items() if s.max_seq > seq and s.has_topic_kind(topics, None)]
        found: list[StoredFact] = []
        for name in names:
            part = self._part(name)
            with self._mem:
                found += part.index.after(seq, topics)
        found.sort(key=lambda f: f.seq)
        return found

    def search(self, words_: str, *, topics: Collection[str] | None = None, limit: int = 50) -> list[StoredFact]:
        """Facts whose quote, summary, actors or article title contain every word (case- and
        accent-insensitive), newest first. Over all history: partitions whose vocabulary lacks a word are
        skipped, the others are read newest first until the answer is complete."""
        terms = words(words_)
        if not terms:
            return []
        with self._mem:
            names = [n for n, s in self._summaries.items() if terms <= s.words and s.has_topic_kind(topics, None)]

        wanted = set(topics) if topics is not None else None

        def keep(doc: dict[str, Any], article: dict[str, Any] | None) -> bool:
            if wanted is not None and wanted.isdisjoint(doc["topics"]):
                return False
            fact, article = doc["fact"], article or {}
            return might_contain(search_text(
                fact.get("quote"), article.get("title"), article.get("outlet"), fact.get("summary"),
                fact.get("location"), fact.get("actors"), fact.get("victim"), fact.get("victim_text"),
                fact.get("claimant"), fact.get("claimant_text")), terms)

        def search(part: _Part) -> list[StoredFact]:
            if not part.index.has_words:  # a loaded partition not warmed yet, or the few documents kept
                part.index.build_words(self._mem)
            return part.index.search(words_, topics, limit)

        # Old partitions are scanned, not indexed: their documents are tested for the words as substrings
        # first, and only those that pass are decoded (a word index for a whole week costs more than that).
        return self._newest_first(names, limit, keep, False, search)

    def _newest_first(self, names: list[str], limit: int | None, keep: _Keep, use_cache: bool,
                      query: Callable[[_Part], list[StoredFact]]) -> list[StoredFact]:
        """Run ``query`` (which answers newest first) on partitions newest first (old ones reduced to the
        documents ``keep`` selects), until no older partition can change the newest ``limit``. Weeks do not
        overlap, so the answers usually concatenate in order; they are sorted only when they do not."""
        with self._mem:
            t_max = {n: self._summaries[n].t_max for n in names if n in self._summaries}
        found: list[StoredFact] = []
        ordered = True
        for name in sorted(t_max, key=t_max.__getitem__, reverse=True):
            if limit is not None and len(found) >= limit:
                if not ordered:
                    found, ordered = _newest(found, None), True
                del found[limit:]
                if t_max[name] < fact_time(found[-1]):
                    break
            part = self._subset(name, keep, use_cache)
            with self._mem:
                got = query(part)
            if got and found and _key(found[-1]) < _key(got[0]):
                ordered = False
            found += got
        if not ordered:
            found = _newest(found, None)
        return found if limit is None else found[:limit]

    def reads_disk(self, *, topics: Collection[str] | None = None, kind: Kind | None = None,
                   since: datetime | None = None, until: datetime | None = None, limit: int | None = None) -> bool:
        """Whether ``facts`` with these filters (and any others, within the ``since``/``until`` bounds) may
        have to read partitions that are not loaded, i.e. do file I/O: such answers belong off the event
        loop. With no argument: whether anything is not loaded (so a search over all history may read)."""
        lo = _stamp(since) if since else float("-inf")
        hi = _stamp(until) if until else float("inf")
        with self._mem:
            names = [n for n, s in self._summaries.items()
                     if s.t_max >= lo and s.t_min <= hi and s.has_topic_kind(topics, kind)]
            if all(n in self._hot for n in names):
                return False
            if limit is None or until is not None:  # the loaded weeks' counts say nothing about a bounded range
                return True
            loaded = 0
            for name in names:
                if name in self._hot:
                    summary = self._summaries[name]
                    per_topic = summary.counts.values() if topics is None else (
                        summary.counts.get(t, {}) for t in topics)
                    if topics is None:
                        loaded += summary.n_facts if kind is None else summary.kinds.get(kind, 0)
                    else:
                        loaded += sum(sum(c.values()) if kind is None else c.get(kind, 0) for c in per_topic)
            return loaded < limit

    def window_start(self) -> datetime:
        """The start of the loaded window: facts published since are answered from memory (once
        warm_search has loaded the whole window)."""
        return datetime.now(UTC) - timedelta(weeks=self.hot_weeks)

    def fact_reads_disk(self, fact_id: str) -> bool:
        """Whether :meth:`fact` may read a partition that is not loaded: the id (or prefix) is not a loaded
        fact's, and some other partition's summary holds a match."""
        text = fact_id.strip().lower()
        key = id_key(text)
        span = (key, key + 1) if key is not None else prefix_range(text) if len(text) >= 4 else None
        with self._mem:
            if span is None or any(text in part.index for part in self._hot.values()):
                return False
            return any(count_range(s.ids, *span, at_most=1) for n, s in self._summaries.items() if n not in self._hot)

    @property
    def last_seq(self) -> int:
        return self._last_seq

    # --- articles -----------------------------------------------------------------------------------

    def article(self, url: str) -> Article | None:
        """By canonical URL."""
        found = self._articles.get(url)
        if found is not None:
            return found
        key = text_key(url)
        return self._cold_article("urls", key, lambda a: a.url == url)

    def article_by_guid(self, guid: str) -> Article | None:
        url = self._by_guid.get(guid)
        if url:
            return self._articles.get(url)
        key = text_key(guid)
        return self._cold_article("guids", key, lambda a: a.guid == guid)

    def article_by_hash(self, text_hash: str) -> Article | None:
        url = self._by_hash.get(text_hash)
        if url:
            return self._articles.get(url)
        key = text_key(text_hash)
        return self._cold_article("hashes", key, lambda a: a.text_hash == text_hash)

    def _cold_article(self, field: str, key: int, match: Callable[[Article], bool]) -> Article | None:
        names = self._holding(field, key, cold_only=True)
        for name in names:
            part = self._part(name)
            with self._mem:
                found = next((a for a in part.articles.values() if match(a)), None)
            if found is not None:
                return found
        return None

    def recent_articles(self, *, topics: Collection[str] | None = None, limit: int = 50) -> list[Article]:
        """Newest first, by publication time."""
        wanted = set(topics) if topics is not None else None
        with self._mem:
            names = sorted((n for n, s in self._summaries.items() if s.n_articles),
                           key=_span_end, reverse=True)
        found: list[Article] = []
        for name in names:
            if len(found) >= limit:
                found = sorted(found, key=_article_time, reverse=True)[:limit]
                if _span_end(name) < _article_time(found[-1]):
                    break
            part = self._part(name)
            with self._mem:
                found += [a for a in part.articles.values() if wanted is None or wanted.intersection(a.topics)]
        return sorted(found, key=_article_time, reverse=True)[:limit]

    def story_articles(self, story_id: str) -> list[Article]:
        """Every article linked to one story (the same incident from several outlets)."""
        key = text_key(story_id)
        with self._mem:
            found = [self._articles[u] for u in self._by_story.get(story_id, ())]
            names = [n for n, s in self._summaries.items() if n not in self._hot and contains(s.stories, key)]
        for name in names:
            part = self._part(name)
            with self._mem:
                found += [a for a in part.articles.values() if a.story_id == story_id]
        return sorted(found, key=_article_time)

    # --- sources, topics and guilds: StateReads (storage/_state.py) --------------------------------------

    def stats(self) -> dict[str, int]:
        """Counts for `ask sources` and logs: facts, articles, sources, guilds, partitions."""
        with self._mem:
            return {"facts": sum(s.n_facts for s in self._summaries.values()),
                    "articles": sum(s.n_articles for s in self._summaries.values()),
                    "sources": len(self._sources), "topics": len(self._topics), "guilds": len(self._guilds),
                    "partitions": sum(1 for p in self._files if not p.endswith(SUM)),
                    "last_seq": self._last_seq}

    # --- partitions -----------------------------------------------------------------------------------

    def _is_hot(self, name: str, now: datetime | None = None, weeks: int | None = None) -> bool:
        return _span_end(name) >= (now or datetime.now(UTC)) - timedelta(weeks=self.hot_weeks if weeks is None
                                                                          else weeks)

    def _load_pending(self) -> None:
        """Load the partitions of the window that open left for later (see OPEN_WEEKS), newest first. In a
        worker thread: each is read and decoded without the memory lock, then installed under it."""
        for name in sorted(self._pending, key=_span_end, reverse=True):
            with self._mem:
                file = self._files.get(name)
                if file is None or name in self._hot:
                    continue
            part = self._read_part(name, file)
            with self._mem:
                if self._files.get(name) == file and name not in self._hot:
                    self._load_hot(part)
        self._pending = []

    def _resident(self, name: str, *, use_cache: bool) -> tuple[_Part | None, str]:
        """A partition already in memory (loaded, an empty one not written yet, or, with ``use_cache``, cached;
        a cache hit becomes the most recent), else None and the file to read it from."""
        with self._mem:
            loaded = self._hot.get(name)
            if loaded is not None:
                return loaded, ""
            file = self._files.get(name)
            if file is None:
                return _Part(name), ""
            cached = self._cold.get(name)
            if use_cache and cached is not None and cached[0] == file:
                self._cold.move_to_end(name)
                return cached[1], file
            return None, file

    def _part(self, name: str) -> _Part:
        """A partition's content: loaded, cached, or read now from its file (without holding ``_mem``).
        A partition not written yet is empty."""
        for _ in range(5):
            found, file = self._resident(name, use_cache=True)
            if found is not None:
                return found
            try:
                part = self._read_part(name, file)
            except _files.MissingFile:
                if self._files.get(name) != file:
                    continue  # a commit replaced (and collected) the generation we were reading
                raise
            with self._mem:
                if self._files.get(name) != file:
                    continue
                if name in self._hot:
                    return self._hot[name]
                self._cache(name, file, part)
                return part
        raise StoreError(f"partition {name} kept changing while it was read; try again")

    def _subset(self, name: str, keep: _Keep, use_cache: bool) -> _Part:
        """The facts of a partition that ``keep`` selects by their raw documents (fact, article), with their
        articles. A loaded partition (or, with ``use_cache``, a cached one) is returned whole; otherwise its
        file is read and only the selected documents are decoded (nothing is cached)."""
        for _ in range(5):
            found, file = self._resident(name, use_cache=use_cache)
            if found is not None:
                return found
            path = self.data_dir / file
            by_url: dict[str, dict[str, Any]] = {}

            def skip(table: str, doc: Any, tables: dict[str, list[dict[str, Any]]],
                     by_url: dict[str, dict[str, Any]] = by_url) -> bool:
                # Drop unwanted facts as they are parsed (when the articles came first, as we write them).
                if table != "facts" or "articles" not in tables or not isinstance(doc, dict):
                    return False
                if not by_url:
                    by_url.update((a["url"], a) for a in tables["articles"] if isinstance(a, dict) and "url" in a)
                return not keep(doc, by_url.get(doc.get("url")))  # type: ignore[arg-type]

            try:
                tables = _files.read_tables(path, skip=skip)
            except _files.MissingFile:
                if self._files.get(name) != file:
                    continue  # a commit replaced (and collected) the generation we were reading
                raise
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise StoreError(f"store file {path} is corrupt ({exc!r}); it was left untouched") from None
            try:
                articles = {doc["url"]: doc for doc in tables.get("articles", [])}
                facts = [doc for doc in tables.get("facts", []) if keep(doc, articles.get(doc["url"]))]
                urls = {doc["url"] for doc in facts}
                return _Part.decode(name, {"articles": [a for u, a in articles.items() if u in urls], "facts": facts})
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise StoreError(f"store file {path} is corrupt ({exc!r}); it was left untouched") from None
        raise StoreError(f"partition {name} kept changing while it was read; try again")

    def _cache(self, name: str, file: str, part: _Part) -> None:
        self._cold[name] = (file, part)
        self._cold.move_to_end(name)
        while len(self._cold) > COLD_CACHE:
            self._cold.popitem(last=False)

    def _read_part(self, name: str, file: str, *, at_once: bool = False) -> _Part:
        path = self.data_dir / file
        tables = _files.read_tables(path, at_once=at_once)
        try:
            return _Part.decode(name, tables)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise StoreError(f"store file {path} is corrupt ({exc!r}); it was left untouched") from None

    def _load_hot(self, part: _Part) -> None:
        self._hot[part.name] = part
        self._cold.pop(part.name, None)
        for article in part.articles.values():
            self._index_article(article, part.name)

    def _evict(self, keep: Collection[str], now: datetime) -> None:
        """Unload partitions that left the recent window (they stay readable from disk, and cached)."""
        for name in [n for n in self._hot if n not in keep and not self._is_hot(n, now)]:
            part = self._hot.pop(name)
            part.layout = None
            for article in part.articles.values():
                self._forget_article(article)
            if name in self._files:
                self._cache(name, self._files[name], part)

    # --- files --------------------------------------------------------------------------------------

    def _load(self, manifest_path: Path) -> None:
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            schema = int(manifest["schema"])
            files = dict(manifest["files"])
            generation = int(manifest["generation"])
            last_seq = int(manifest["last_seq"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"store manifest {manifest_path} is corrupt ({exc}); it was left untouched") from None
        if schema > self.SCHEMA_VERSION:
            raise StoreError(f"the store in {self.data_dir} has schema version {schema}, newer than this "
                             f"Sitrep understands ({self.SCHEMA_VERSION}); upgrade Sitrep (nothing was changed)")
        if not all(isinstance(v, str) for v in files.values()):
            raise StoreError(f"store manifest {manifest_path} is corrupt (a file name is not a string); "
                             f"it was left untouched")
        # Loading creates many objects and no cycles: the cyclic collector would walk the growing heap again
        # and again for nothing (about 40% of the load time at 100k facts).
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            summarised = self._load_files(files)
        finally:
            if gc_was_enabled:
                gc.enable()
        self._generation = generation
        self._last_seq = max([last_seq, *(s.max_seq for s in self._summaries.values())])
        if not self.read_only:  # a reader must never remove what a writer is writing
            if summarised:  # schema 1 → 2: write the summaries it lacked (a commit of summaries only)
                self._write_summaries(summarised)
            self._collect_garbage()

    def _load_files(self, files: dict[str, str]) -> dict[str, Summary]:
        """Load the state, every summary and the recent partitions; return the summaries that had to be
        computed (partitions of schema 1, which had none). Raises StoreError, writing nothing."""
        for name in files.values():
            if not (self.data_dir / name).is_file():  # TinyDB would read a missing file as an empty database
                raise _files.MissingFile(f"store file {self.data_dir / name}, named by the manifest, is missing; "
                                         f"the store was left untouched")
        parts = sorted(p for p in files if p != STATE and not p.endswith(SUM))
        self._files = {p: files[p] for p in [STATE, *parts, *(p + SUM for p in parts)] if p in files}
        if STATE in files:
            path = self.data_dir / files[STATE]
            try:
                self._load_state(_files.read_tables(path))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise StoreError(f"store file {path} is corrupt ({exc!r}); it was left untouched") from None
        now = datetime.now(UTC)
        computed: dict[str, Summary] = {}
        for part in parts:
            path = self.data_dir / files[part]
            size = path.stat().st_size
            summary = None
            if part + SUM in files:
                sum_path = self.data_dir / files[part + SUM]
                try:
                    summary = _summary.decode(_files.read_tables(sum_path))
                except (KeyError, TypeError, ValueError, AttributeError) as exc:
                    raise StoreError(f"store file {sum_path} is corrupt ({exc!r}); it was left untouched") from None
                if summary.size != size:
                    raise StoreError(f"store file {path} is corrupt (its size is {size} bytes, its summary says "
                                     f"{summary.size}); it was left untouched")
            if summary is not None and not self._is_hot(part, now, weeks=min(self.hot_weeks, OPEN_WEEKS)):
                self._summaries[part] = summary
                if self._is_hot(part, now):
                    self._pending.append(part)  # loaded by warm_search, off the event loop
                continue
            loaded = self._read_part(part, files[part], at_once=True)
            if summary is None:
                summary = _summary.summarise(loaded.articles.values(), loaded.index.facts(), loaded.words(), size)
                computed[part] = summary
            self._summaries[part] = summary
            if self._is_hot(part, now):
                self._load_hot(loaded)
        return computed

    def _write_summaries(self, summaries: dict[str, Summary]) -> None:
        generation = self._generation + 1
        files = dict(self._files)
        payloads: dict[str, Any] = {}
        for part, summary in summaries.items():
            name = f"{part}{SUM}.g{generation}.json"
            payloads[name] = _files.dump_tables(_summary.encode(summary))
            files[part + SUM] = name
        payloads[MANIFEST] = {"schema": self.SCHEMA_VERSION, "generation": generation, "files": files,
                              "last_seq": self._last_seq}
        self._write(payloads)
        self._generation, self._files = generation, files

    def _load_state(self, tables: dict[str, list[dict[str, Any]]]) -> None:
        for doc in tables.get("sources", []):
            source = _codec.decode(SourceState, doc)
            self._sources[source.id] = source
        for doc in tables.get("topics", []):
            topic = _codec.decode(Topic, doc)
            self._topics[topic.key] = topic
        for doc in tables.get("guilds", []):
            guild = _codec.decode(GuildSettings, doc)
            self._guilds[guild.guild_id] = guild

    def _write(self, payloads: dict[str, Any]) -> None:
        """Write new generations of the touched files (bytes), then the manifest (the commit point)."""
        manifest = payloads.pop(MANIFEST)
        written: list[Path] = []
        try:
            for name, data in payloads.items():
                written.append(self.data_dir / name)
                _files.write_atomic(self.data_dir / name, data)
            _files.write_atomic(self.data_dir / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode())
        except StoreError:
            for path in written:  # never named by a manifest: a failed commit leaves no files behind
                with contextlib.suppress(OSError):
                    path.unlink()
            raise

    def _collect_garbage(self) -> None:
        """Remove partition files the manifest does not name: old generations, and new ones a crash left
        before its manifest was written. Only files of our own naming pattern are ever removed."""
        current = set(self._files.values())
        with contextlib.suppress(OSError):
            for path in self.data_dir.iterdir():
                if (_PART_FILE.fullmatch(path.name) and path.name not in current) or (
                        path.name.startswith(".") and path.name.endswith(".tmp")):
                    with contextlib.suppress(OSError):
                        path.unlink()

    # --- articles of the loaded partitions (called by _Plan.apply and the loaders) --------------------

    def _index_article(self, article: Article, part: str) -> None:
        old = self._articles.get(article.url)
        if old is not None:
            self._unindex_article(old)
        self._articles[article.url] = article
        self._article_part[article.url] = part
        if article.guid:
            self._by_guid[article.guid] = article.url
        self._by_hash[article.text_hash] = article.url
        if article.story_id:
            self._by_story.setdefault(article.story_id, set()).add(article.url)

    def _forget_article(self, article: Article) -> None:
        if self._articles.get(article.url) is article:
            self._unindex_article(article)
            del self._articles[article.url]
            self._article_part.pop(article.url, None)

    def _unindex_article(self, article: Article) -> None:
        if article.guid and self._by_guid.get(article.guid) == article.url:
            del self._by_guid[article.guid]
        if self._by_hash.get(article.text_hash) == article.url:
            del self._by_hash[article.text_hash]
        if article.story_id:
            urls = self._by_story.get(article.story_id)
            if urls is not None:
                urls.discard(article.url)
                if not urls:
                    del self._by_story[article.story_id]

    def _partition_of_article(self, url: str) -> str | None:
        """The partition holding ``url``, loaded or not (reads old partitions whose summary may hold it)."""
        part = self._article_part.get(url)
        if part is not None:
            return part
        key = text_key(url)
        with self._mem:
            names = self._holding("urls", key, cold_only=True)
        return next((n for n in names if url in self._part(n).articles), None)

    def _known_id(self, fid: str) -> bool:
        """Whether any partition, loaded or not, holds a fact with this id (a collision check per new fact)."""
        key = id_key(fid)
        if key is None:
            with self._mem:
                return any(fid in p.index for p in self._hot.values())
        return bool(self._holding("ids", key))

    def _holding(self, field: str, key: int, *, cold_only: bool = False) -> list[str]:
        """The partitions whose summary's ``field`` (ids, urls, guids, hashes) holds ``key``. The filters
        answer "none" at once for nearly every key that is not stored; the rest is a bisect per partition."""
        filters = self._filters
        if filters is not None and key not in filters[field]:
            return []
        with self._mem:
            return [n for n, s in self._summaries.items()
                    if not (cold_only and n in self._hot) and contains(getattr(s, field), key)]

    def _build_filters(self) -> None:
        """Build the key filters from the summaries (in a worker thread: ~0.5 s at a million facts)."""
        if self._filters is not None:
            return
        with self._mem:
            summaries = list(self._summaries.values())
        filters = {field: KeyFilter(bits) for field, bits in _FILTER_BITS.items()}
        for summary in summaries:
            for field, keys in filters.items():
                for key in getattr(summary, field):
                    keys.add(key)
        with self._mem:
            for summary in self._summaries.values():  # anything committed meanwhile
                if not any(summary is old for old in summaries):
                    for field, keys in filters.items():
                        for key in getattr(summary, field):
                            keys.add(key)
            self._filters = filters

    def _remember(self, facts: Iterable[StoredFact], articles: Iterable[Article]) -> None:
        """Add the keys of newly written facts and articles to the filters."""
        if self._filters is None:
            return
        ids, urls, guids, hashes = (self._filters[f] for f in ("ids", "urls", "guids", "hashes"))
        for fact in facts:
            key = id_key(fact.id)
            if key is not None:
                ids.add(key)
        for article in articles:
            urls.add(text_key(article.url))
            hashes.add(text_key(article.text_hash))
            if article.guid:
                guids.add(text_key(article.guid))


