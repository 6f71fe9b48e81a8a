"""The Store: Sitrep's repository API over TinyDB files (see storage/DESIGN.md).

Reads are plain methods answered from in-memory indexes: no file I/O, so they are safe to call on the
event loop and always see whole batches. Writes go through :meth:`Store.commit`, which serialises
batches, writes the touched partitions off the event loop as new generations, commits them by replacing
the manifest, and only then applies the batch to the in-memory indexes, in one step.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import re
from collections.abc import Collection
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.errors import StoreError
from bot.model import Article, GuildSettings, Kind, SourceState, StoredFact, Topic
from storage import _codec, _files, _lock
from storage._index import FactIndex
from storage.api import Batch, CommitResult, fact_id

MANIFEST = "manifest.json"
LEGACY_V0 = "sitrep.json"  # stock TinyDB, one file: what version 0 of Sitrep wrote
STATE = "state"
# Weekly fact partitions (facts-2025-W41); monthly ones (facts-2025-10) written by earlier versions still load.
_PART_FILE = re.compile(r"(?P<part>state|facts-\d{4}-(?:W\d{2}|\d{2}))\.g(?P<gen>\d+)\.json")


class Store:
    SCHEMA_VERSION = 1

    def __init__(self, data_dir: Path, *, read_only: bool = False) -> None:
        self.data_dir = data_dir
        self.read_only = read_only
        self._lock = asyncio.Lock()
        self._closed = False
        self._writer_lock: Path | None = None  # held (shared within this process) by a writable store
        self._generation = 0
        self._files: dict[str, str] = {}  # partition → current file name
        self._index = FactIndex()
        self._articles: dict[str, Article] = {}
        self._article_part: dict[str, str] = {}
        self._part_articles: dict[str, set[str]] = {}
        self._by_guid: dict[str, str] = {}
        self._by_hash: dict[str, str] = {}
        self._by_story: dict[str, set[str]] = {}
        self._sources: dict[str, SourceState] = {}
        self._topics: dict[str, Topic] = {}
        self._guilds: dict[int, GuildSettings] = {}

    # --- life cycle ---------------------------------------------------------------------------------

    @classmethod
    async def open(cls, data_dir: Path, *, read_only: bool = False) -> Store:
        """Open (creating, or migrating from an older schema) the store in ``data_dir``.

        A writable store takes the directory's writer lock (``_lock``) first and holds it until
        :meth:`close` or the end of the process: a second writing process is refused with ``StoreError``
        naming the holder's pid. ``read_only=True`` takes no lock, so it is never blocked by a writer; it
        creates, migrates, collects and commits nothing.

        Raises ``StoreError`` with a clear message, touching nothing, if the store is newer than this code
        or a file is corrupt.
        """
        return await asyncio.to_thread(cls.open_sync, data_dir, read_only=read_only)

    @classmethod
    def open_sync(cls, data_dir: Path, *, read_only: bool = False) -> Store:
        data_dir = Path(data_dir)
        if read_only:
            return cls._open_read_only(data_dir)
        store = cls(data_dir)
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
                from storage._migrate import migrate_v0

                migrate_v0(store, store.data_dir / LEGACY_V0)
        except BaseException:
            store._release()
            raise
        store._freeze()
        return store

    @classmethod
    def _open_read_only(cls, data_dir: Path) -> Store:
        manifest_path = data_dir / MANIFEST
        for _ in range(20):
            store = cls(data_dir, read_only=True)
            try:
                seen = manifest_path.read_bytes()
            except FileNotFoundError:
                if (data_dir / LEGACY_V0).exists():  # migrated in memory only: writing is the writer's job
                    from storage._migrate import migrate_v0

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
        # The loaded facts live as long as the process and hold no reference cycles (they are freed by
        # reference counting when replaced). Freezing them keeps the cyclic collector from walking them on
        # every full collection: at 100k facts each such walk stalled the event loop ~400 ms during ingest.
        gc.freeze()

    def _release(self) -> None:
        if self._writer_lock is not None:
            _lock.release(self._writer_lock)
            self._writer_lock = None

    async def warm_search(self) -> None:
        """Build the search index off the event loop (writes wait; reads go on). Call once after start-up."""
        async with self._lock:
            if self._index._words is None:
                await asyncio.to_thread(self._index.build_words)

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
                return CommitResult(last_seq=self._index.last_seq)
            plan = _Plan(self, batch, now=datetime.now(UTC))
            if plan.empty:
                return plan.result
            # Off the loop: only this task (holding the lock) ever changes the state they read.
            payloads = await asyncio.to_thread(plan.encode)
            await asyncio.to_thread(self._write, payloads)
            plan.apply()
            await asyncio.to_thread(self._collect_garbage)
            return plan.result

    def commit_sync(self, batch: Batch) -> CommitResult:
        """The same as :meth:`commit`, for scripts and migrations with no event loop."""
        if self._closed:
            raise StoreError("the store is closed")
        self._check_writable()
        if not batch:
            return CommitResult(last_seq=self._index.last_seq)
        plan = _Plan(self, batch, now=datetime.now(UTC))
        if not plan.empty:
            self._write(plan.encode())
            plan.apply()
            self._collect_garbage()
        return plan.result

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
        """
        return self._index.query(topics=topics, kind=kind, since=since, until=until, category=category,
                                 victim=victim, claimant=claimant, limit=limit)

    def fact(self, fact_id: str) -> StoredFact | None:
        """A fact by its id, or by a unique prefix of at least 4 characters."""
        return self._index.by_id_or_prefix(fact_id.strip().lower())

    def facts_after(self, seq: int, *, topics: Collection[str] | None = None) -> list[StoredFact]:
        """Facts committed after ``seq`` (oldest first), leaving out backlog facts: what a digest covers."""
        return self._index.after(seq, topics)

    def search(self, words: str, *, topics: Collection[str] | None = None, limit: int = 50) -> list[StoredFact]:
        """Facts whose quote, summary, actors or article title contain every word (case- and
        accent-insensitive), newest first."""
        return self._index.search(words, topics, limit)

    @property
    def last_seq(self) -> int:
        return self._index.last_seq

    # --- articles -----------------------------------------------------------------------------------

    def article(self, url: str) -> Article | None:
        """By canonical URL."""
        return self._articles.get(url)

    def article_by_guid(self, guid: str) -> Article | None:
        url = self._by_guid.get(guid)
        return self._articles.get(url) if url else None

    def article_by_hash(self, text_hash: str) -> Article | None:
        url = self._by_hash.get(text_hash)
        return self._articles.get(url) if url else None

    def recent_articles(self, *, topics: Collection[str] | None = None, limit: int = 50) -> list[Article]:
        """Newest first, by publication time."""
        wanted = set(topics) if topics is not None else None
        articles = (a for a in self._articles.values() if wanted is None or wanted.intersection(a.topics))
        return sorted(articles, key=_article_time, reverse=True)[:limit]

    def story_articles(self, story_id: str) -> list[Article]:
        """Every article linked to one story (the same incident from several outlets)."""
        return sorted((self._articles[u] for u in self._by_story.get(story_id, ())), key=_article_time)

    # --- sources, topics, guilds --------------------------------------------------------------------

    def sources(self, guild_id: int | None = None) -> list[SourceState]:
        """The sources a guild sees: config.toml's (``guild_id`` None on the source) and its own.
        ``guild_id=None``: config.toml's only."""
        return [s for s in self._sources.values() if s.guild_id is None or s.guild_id == guild_id]

    def all_sources(self) -> list[SourceState]:
        """Every source of every guild: what the poll job polls."""
        return list(self._sources.values())

    def source(self, source_id: str) -> SourceState | None:
        return self._sources.get(source_id)

    def topics(self, guild_id: int | None = None) -> list[Topic]:
        """Guild topics stored by /config (config.toml's topics are not stored: they live in Config).
        With ``guild_id=None``: every guild's topics (the poll job assigns articles to all of them)."""
        return [t for t in self._topics.values() if guild_id is None or t.guild_id == guild_id]

    def guild(self, guild_id: int) -> GuildSettings:
        """A guild's settings; the defaults if the guild has none stored yet."""
        return self._guilds.get(guild_id) or GuildSettings(guild_id=guild_id)

    def guilds(self) -> list[GuildSettings]:
        return list(self._guilds.values())

    def stats(self) -> dict[str, int]:
        """Counts for `ask sources` and logs: facts, articles, sources, guilds, partitions."""
        return {"facts": len(self._index), "articles": len(self._articles), "sources": len(self._sources),
                "topics": len(self._topics), "guilds": len(self._guilds), "partitions": len(self._files),
                "last_seq": self._index.last_seq}

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
        self._generation, self._files = generation, files
        # Loading creates a few million objects and no cycles: the cyclic collector would walk the growing
        # heap again and again for nothing (about 40% of the load time at 100k facts).
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            self._load_files(files)
        finally:
            if gc_was_enabled:
                gc.enable()
        self._index.last_seq = max(last_seq, self._index.last_seq)
        if not self.read_only:  # a reader must never remove what a writer is writing
            self._collect_garbage()

    def _load_files(self, files: dict[str, str]) -> None:
        for part, name in sorted(files.items()):
            path = self.data_dir / name
            try:
                tables = _files.read_tables(path)
                if part == STATE:
                    self._load_state(tables)
                else:
                    self._load_partition(part, tables)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise StoreError(f"store file {path} is corrupt ({exc!r}); it was left untouched") from None

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

    def _load_partition(self, part: str, tables: dict[str, list[dict[str, Any]]]) -> None:
        for doc in tables.get("articles", []):
            self._add_article(_codec.decode(Article, doc), part)
        facts = []
        for doc in tables.get("facts", []):
            article = self._articles.get(doc["url"])
            if article is None:
                continue
            facts.append((StoredFact(
                id=doc["id"], seq=doc["seq"], fact=_codec.decode_fact(doc["fact"]), article=article.ref,
                topics=tuple(doc["topics"]), stored_at=datetime.fromisoformat(doc["stored_at"]),
                story_id=article.story_id,
            ), part, bool(doc.get("backlog"))))
        self._index.add_many(facts)

    def _write(self, payloads: dict[str, dict[str, list[dict[str, Any]]] | dict[str, Any]]) -> None:
        """Write new generations of the touched partitions, then the manifest (the commit point)."""
        manifest = payloads.pop(MANIFEST)
        written: list[Path] = []
        try:
            for name, tables in payloads.items():
                written.append(self.data_dir / name)
                _files.write_tables(self.data_dir / name, tables)  # type: ignore[arg-type]
            _files.write_atomic(self.data_dir / MANIFEST,
                                json.dumps(manifest, indent=1, sort_keys=True).encode())
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

    # --- in-memory state (called only by _Plan.apply and the loaders) ---------------------------------

    def _add_article(self, article: Article, part: str) -> None:
        old = self._articles.get(article.url)
        if old is not None:
            self._unindex_article(old)
        self._articles[article.url] = article
        self._article_part[article.url] = part
        self._part_articles.setdefault(part, set()).add(article.url)
        if article.guid:
            self._by_guid[article.guid] = article.url
        self._by_hash[article.text_hash] = article.url
        if article.story_id:
            self._by_story.setdefault(article.story_id, set()).add(article.url)

    def _unindex_article(self, article: Article) -> None:
        if article.guid and self._by_guid.get(article.guid) == article.url:
            del self._by_guid[article.guid]
        if self._by_hash.get(article.text_hash) == article.url:
            del self._by_hash[article.text_hash]
        if article.story_id:
            self._by_story.get(article.story_id, set()).discard(article.url)


def _article_time(article: Article) -> datetime:
    return article.published or article.fetched_at or datetime.min.replace(tzinfo=UTC)


def partition_of(when: datetime) -> str:
    """The partition of an article published at ``when``: its ISO week. A poll batch lands in this week's
    partition, so the cost of a write is bounded by a week of news, not by a month or the whole history."""
    year, week, _ = when.astimezone(UTC).isocalendar()
    return f"facts-{year}-W{week:02d}"


class _Plan:
    """What a batch changes, computed against the current state without touching it. ``encode`` builds
    the new partition files; ``apply`` makes the change visible in memory, in one step."""

    def __init__(self, store: Store, batch: Batch, now: datetime) -> None:
        self.store, self.batch, self.now = store, batch, now
        self.articles: dict[str, tuple[Article, str]] = {}  # url → (article, partition)
        self.new_facts: list[tuple[StoredFact, str, bool]] = []
        self.removed: set[str] = set()
        self.touched: set[str] = set()
        seq = store._index.last_seq
        new_articles = updated = 0
        taken: set[str] = set()
        for item in batch.articles:
            article = item.article
            old = store._articles.get(article.url) or self._planned(article.url)
            if old is not None and old.text_hash == article.text_hash:
                continue
            part = store._article_part.get(article.url) or partition_of(article.published or now)
            self.articles[article.url] = (article, part)
            self.touched.add(part)
            if old is None:
                new_articles += 1
            else:
                updated += 1
            keep = store._index.ids_of_article(article.url)
            wanted: list[tuple[str, Any]] = []
            for fact in item.facts:
                fid = fact_id(article.url, fact)
                if fid in taken or (fid in store._index and fid not in keep):
                    continue  # the same fact twice, or an id collision: the first one wins
                taken.add(fid)
                wanted.append((fid, fact))
            self.removed |= keep - {fid for fid, _ in wanted}
            for fid, fact in wanted:
                existing = store._index.get(fid)
                if existing is not None:
                    stored = replace(existing, fact=fact, article=article.ref, topics=article.topics,
                                     story_id=article.story_id)
                else:
                    seq += 1
                    stored = StoredFact(id=fid, seq=seq, fact=fact, article=article.ref, topics=article.topics,
                                        stored_at=now, story_id=article.story_id)
                self.new_facts.append((stored, part, item.backlog and existing is None))
        self.state_changed = bool(batch.sources or batch.remove_sources or batch.topics or batch.remove_topics
                                  or batch.guilds)
        if self.state_changed:
            self.touched.add(STATE)
        self.touched |= {store._index.part_of(fid) for fid in self.removed}
        self.last_seq = seq
        self.result = CommitResult(
            new_articles=new_articles, updated_articles=updated,
            new_facts=sum(1 for f, _, _ in self.new_facts if f.seq > store._index.last_seq),
            removed_facts=len(self.removed), last_seq=seq,
        )

    def _planned(self, url: str) -> Article | None:
        planned = self.articles.get(url)
        return planned[0] if planned else None

    @property
    def empty(self) -> bool:
        return not self.touched

    def encode(self) -> dict[str, Any]:
        """New partition files (name → TinyDB tables) plus the new manifest. Raises StoreError on an
        unserialisable value before anything is written."""
        store = self.store
        generation = store._generation + 1
        files = dict(store._files)
        payloads: dict[str, Any] = {}
        for part in sorted(self.touched):
            name = f"{part}.g{generation}.json"
            payloads[name] = self._encode_state() if part == STATE else self._encode_partition(part)
            files[part] = name
        payloads[MANIFEST] = {"schema": Store.SCHEMA_VERSION, "generation": generation, "files": files,
                              "last_seq": self.last_seq}
        self.generation, self.files = generation, files
        return payloads

    def _encode_state(self) -> dict[str, list[Any]]:
        store, batch = self.store, self.batch
        sources = {**store._sources, **{s.id: s for s in batch.sources}}
        for sid in batch.remove_sources:
            sources.pop(sid, None)
        topics = {**store._topics, **{t.key: t for t in batch.topics}}
        for key in batch.remove_topics:
            topics.pop(key, None)
        guilds = {**store._guilds, **{g.guild_id: g for g in batch.guilds}}
        self.state = (sources, topics, guilds)
        return {"sources": [_codec.encode(s) for s in sources.values()],
                "topics": [_codec.encode(t) for t in topics.values()],
                "guilds": [_codec.encode(g) for g in guilds.values()]}

    def _encode_partition(self, part: str) -> dict[str, list[Any]]:
        store = self.store
        urls = set(store._part_articles.get(part, ())) | {u for u, (_, p) in self.articles.items() if p == part}
        articles = [self.articles[u][0] if u in self.articles else store._articles[u] for u in sorted(urls)]
        replaced = {f.id for f, p, _ in self.new_facts if p == part}
        facts = [(f, store._index.is_backlog(f.id)) for f in store._index.in_partition(part)
                 if f.id not in self.removed and f.id not in replaced]
        facts += [(f, backlog) for f, p, backlog in self.new_facts if p == part]
        return {
            "articles": [_codec.encode(a) for a in articles],
            "facts": [{"id": f.id, "seq": f.seq, "url": f.article.url, "topics": list(f.topics),
                       "stored_at": f.stored_at.isoformat(), "backlog": backlog, "fact": _codec.encode_fact(f.fact)}
                      for f, backlog in facts],
        }

    def apply(self) -> None:
        """Make the batch visible. No await in here: readers on the loop see all of it or none."""
        store = self.store
        for article, part in self.articles.values():
            store._add_article(article, part)
        store._index.remove(self.removed)
        store._index.add_many(self.new_facts)
        store._index.last_seq = self.last_seq
        if self.state_changed:
            sources, topics, guilds = self.state
            store._sources, store._topics, store._guilds = sources, topics, guilds
        store._generation, store._files = self.generation, self.files

