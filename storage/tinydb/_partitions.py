"""The TinyDB driver's partitions in memory (see storage/DESIGN.md, "Reads"): the loaded window with its
indexes, the small cache of old partitions read from disk, every partition's summary, and the articles of
the loaded partitions by URL, guid, text hash and story. A read that needs a partition that is not loaded
reads its file here (without holding the memory lock); a commit's plan changes it in one step.
"""

from __future__ import annotations

import gc
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.errors import StoreError
from bot.model import Article, ArticleRef, Kind, StoredFact
from storage import _codec
from storage.api import DEFAULT_HOT_WEEKS
from storage.tinydb import _files
from storage.tinydb._layout import (
    AT_ONCE_BYTES,
    CLAIM_KINDS,
    COLD_CACHE,
    FILTER_BITS,
    Keep,
    Part,
    decode_facts,
    newest,
    sort_key,
    span_end,
    stamp,
)
from storage.tinydb._summary import KeyFilter, Summary, contains, count_range, fact_time, id_key, prefix_range, text_key


class Partitions:
    """What a TinyDB store holds in memory. ``mem`` guards it against readers in worker threads; it is held
    only for in-memory work, never while a file is read. Only the commit in flight changes it."""

    def __init__(self, data_dir: Path, *, read_only: bool = False, hot_weeks: int = DEFAULT_HOT_WEEKS) -> None:
        self.data_dir, self.read_only, self.hot_weeks = data_dir, read_only, hot_weeks
        self.mem = threading.RLock()
        self.generation = 0
        self.last_seq = 0
        self.files: dict[str, str] = {}  # partition → current file name
        self.summaries: dict[str, Summary] = {}  # every fact partition → its summary
        self.hot: dict[str, Part] = {}  # the loaded partitions: the recent window, and any written since
        self.pending: list[str] = []  # partitions of the window that warm_search loads
        self.cold: OrderedDict[str, tuple[str, Part]] = OrderedDict()  # partition → (file, content), LRU
        self.articles: dict[str, Article] = {}  # articles of the loaded partitions, by URL
        self.article_part: dict[str, str] = {}
        self.by_guid: dict[str, str] = {}
        self.by_hash: dict[str, str] = {}
        self.by_story: dict[str, set[str]] = {}
        self.filters: dict[str, KeyFilter] | None = None  # built off the loop, by warm_search or a commit

    def is_hot(self, name: str, now: datetime | None = None, weeks: int | None = None) -> bool:
        return span_end(name) >= (now or datetime.now(UTC)) - timedelta(weeks=self.hot_weeks if weeks is None
                                                                          else weeks)

    def load_pending(self) -> None:
        """Load the partitions of the window that open left for later (see OPEN_WEEKS), newest first. In a
        worker thread: each is read and decoded without the memory lock, then installed under it."""
        for name in sorted(self.pending, key=span_end, reverse=True):
            with self.mem:
                file = self.files.get(name)
                if file is None or name in self.hot:
                    continue
            part = self.read_part(name, file)
            with self.mem:
                if self.files.get(name) == file and name not in self.hot:
                    self.load_hot(part)
        self.pending = []

    def resident(self, name: str, *, use_cache: bool) -> tuple[Part | None, str]:
        """A partition already in memory (loaded, an empty one not written yet, or, with ``use_cache``, cached;
        a cache hit becomes the most recent), else None and the file to read it from."""
        with self.mem:
            loaded = self.hot.get(name)
            if loaded is not None:
                return loaded, ""
            file = self.files.get(name)
            if file is None:
                return Part(name), ""
            cached = self.cold.get(name)
            if use_cache and cached is not None and cached[0] == file:
                self.cold.move_to_end(name)
                return cached[1], file
            return None, file

    def part(self, name: str) -> Part:
        """A partition's content: loaded, cached, or read now from its file (without holding ``_mem``).
        A partition not written yet is empty."""
        for _ in range(5):
            found, file = self.resident(name, use_cache=True)
            if found is not None:
                return found
            try:
                part = self.read_part(name, file)
            except _files.MissingFile:
                if self.files.get(name) != file:
                    continue  # a commit replaced (and collected) the generation we were reading
                raise
            with self.mem:
                if self.files.get(name) != file:
                    continue
                if name in self.hot:
                    return self.hot[name]
                self.cache(name, file, part)
                return part
        raise StoreError(f"partition {name} kept changing while it was read; try again")

    def subset(self, name: str, keep: Keep, use_cache: bool) -> Part:
        """The facts of a partition that ``keep`` selects by their raw documents (fact, article), with their
        articles. A loaded partition (or, with ``use_cache``, a cached one) is returned whole; otherwise its
        file is read and only the selected documents are decoded (nothing is cached)."""
        for _ in range(5):
            found, file = self.resident(name, use_cache=use_cache)
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
                if self.files.get(name) != file:
                    continue  # a commit replaced (and collected) the generation we were reading
                raise
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise StoreError(f"store file {path} is corrupt ({exc!r}); it was left untouched") from None
            try:
                articles = {doc["url"]: doc for doc in tables.get("articles", [])}
                facts = [doc for doc in tables.get("facts", []) if keep(doc, articles.get(doc["url"]))]
                urls = {doc["url"] for doc in facts}
                return Part.decode(name, {"articles": [a for u, a in articles.items() if u in urls], "facts": facts})
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise StoreError(f"store file {path} is corrupt ({exc!r}); it was left untouched") from None
        raise StoreError(f"partition {name} kept changing while it was read; try again")

    def cache(self, name: str, file: str, part: Part) -> None:
        self.cold[name] = (file, part)
        self.cold.move_to_end(name)
        while len(self.cold) > COLD_CACHE:
            self.cold.popitem(last=False)

    def read_part(self, name: str, file: str, *, at_once: bool = False) -> Part:
        path = self.data_dir / file
        tables = _files.read_tables(path, at_once=at_once)
        try:
            return Part.decode(name, tables)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise StoreError(f"store file {path} is corrupt ({exc!r}); it was left untouched") from None

    def load_hot(self, part: Part) -> None:
        self.hot[part.name] = part
        self.cold.pop(part.name, None)
        for article in part.articles.values():
            self.index_article(article, part.name)

    def evict(self, keep: Collection[str], now: datetime) -> None:
        """Unload partitions that left the recent window (they stay readable from disk, and cached)."""
        for name in [n for n in self.hot if n not in keep and not self.is_hot(n, now)]:
            part = self.hot.pop(name)
            part.layout = None
            for article in part.articles.values():
                self.forget_article(article)
            if name in self.files:
                self.cache(name, self.files[name], part)

    def index_article(self, article: Article, part: str) -> None:
        old = self.articles.get(article.url)
        if old is not None:
            self._unindex_article(old)
        self.articles[article.url] = article
        self.article_part[article.url] = part
        if article.guid:
            self.by_guid[article.guid] = article.url
        self.by_hash[article.text_hash] = article.url
        if article.story_id:
            self.by_story.setdefault(article.story_id, set()).add(article.url)

    def forget_article(self, article: Article) -> None:
        if self.articles.get(article.url) is article:
            self._unindex_article(article)
            del self.articles[article.url]
            self.article_part.pop(article.url, None)

    def _unindex_article(self, article: Article) -> None:
        if article.guid and self.by_guid.get(article.guid) == article.url:
            del self.by_guid[article.guid]
        if self.by_hash.get(article.text_hash) == article.url:
            del self.by_hash[article.text_hash]
        if article.story_id:
            urls = self.by_story.get(article.story_id)
            if urls is not None:
                urls.discard(article.url)
                if not urls:
                    del self.by_story[article.story_id]

    def partition_of_article(self, url: str) -> str | None:
        """The partition holding ``url``, loaded or not (reads old partitions whose summary may hold it)."""
        part = self.article_part.get(url)
        if part is not None:
            return part
        key = text_key(url)
        with self.mem:
            names = self.holding("urls", key, cold_only=True)
        return next((n for n in names if url in self.part(n).articles), None)

    def known_id(self, fid: str) -> bool:
        """Whether any partition, loaded or not, holds a fact with this id (a collision check per new fact)."""
        key = id_key(fid)
        if key is None:
            with self.mem:
                return any(fid in p.index for p in self.hot.values())
        return bool(self.holding("ids", key))

    def holding(self, field: str, key: int, *, cold_only: bool = False) -> list[str]:
        """The partitions whose summary's ``field`` (ids, urls, guids, hashes) holds ``key``. The filters
        answer "none" at once for nearly every key that is not stored; the rest is a bisect per partition."""
        filters = self.filters
        if filters is not None and key not in filters[field]:
            return []
        with self.mem:
            return [n for n, s in self.summaries.items()
                    if not (cold_only and n in self.hot) and contains(getattr(s, field), key)]

    def build_filters(self) -> None:
        """Build the key filters from the summaries (in a worker thread: ~0.5 s at a million facts)."""
        if self.filters is not None:
            return
        with self.mem:
            summaries = list(self.summaries.values())
        filters = {field: KeyFilter(bits) for field, bits in FILTER_BITS.items()}
        for summary in summaries:
            for field, keys in filters.items():
                for key in getattr(summary, field):
                    keys.add(key)
        with self.mem:
            for summary in self.summaries.values():  # anything committed meanwhile
                if not any(summary is old for old in summaries):
                    for field, keys in filters.items():
                        for key in getattr(summary, field):
                            keys.add(key)
            self.filters = filters

    def remember(self, facts: Iterable[StoredFact], articles: Iterable[Article]) -> None:
        """Add the keys of newly written facts and articles to the filters."""
        if self.filters is None:
            return
        ids, urls, guids, hashes = (self.filters[f] for f in ("ids", "urls", "guids", "hashes"))
        for fact in facts:
            key = id_key(fact.id)
            if key is not None:
                ids.add(key)
        for article in articles:
            urls.add(text_key(article.url))
            hashes.add(text_key(article.text_hash))
            if article.guid:
                guids.add(text_key(article.guid))



    def newest_first(self, names: list[str], limit: int | None, keep: Keep, use_cache: bool,
                      query: Callable[[Part], list[StoredFact]]) -> list[StoredFact]:
        """Run ``query`` (which answers newest first) on partitions newest first (old ones reduced to the
        documents ``keep`` selects), until no older partition can change the newest ``limit``. Weeks do not
        overlap, so the answers usually concatenate in order; they are sorted only when they do not."""
        with self.mem:
            t_max = {n: self.summaries[n].t_max for n in names if n in self.summaries}
        found: list[StoredFact] = []
        ordered = True
        for name in sorted(t_max, key=t_max.__getitem__, reverse=True):
            if limit is not None and len(found) >= limit:
                if not ordered:
                    found, ordered = newest(found, None), True
                del found[limit:]
                if t_max[name] < fact_time(found[-1]):
                    break
            part = self.subset(name, keep, use_cache)
            with self.mem:
                got = query(part)
            if got and found and sort_key(found[-1]) < sort_key(got[0]):
                ordered = False
            found += got
        if not ordered:
            found = newest(found, None)
        return found if limit is None else found[:limit]

    def cold_article(self, field: str, key: int, match: Callable[[Article], bool]) -> Article | None:
        names = self.holding(field, key, cold_only=True)
        for name in names:
            part = self.part(name)
            with self.mem:
                found = next((a for a in part.articles.values() if match(a)), None)
            if found is not None:
                return found
        return None

    # --- what the summaries tell before anything is read -------------------------------------------------

    def reads_disk(self, *, topics: Collection[str] | None, kind: Kind | None, since: datetime | None,
                   until: datetime | None, limit: int | None) -> bool:
        """``TinyStore.reads_disk``: whether such a query may read a partition that is not loaded."""
        lo = stamp(since) if since else float("-inf")
        hi = stamp(until) if until else float("inf")
        with self.mem:
            names = [n for n, s in self.summaries.items()
                     if s.t_max >= lo and s.t_min <= hi and s.has_topic_kind(topics, kind)]
            if all(n in self.hot for n in names):
                return False
            if limit is None or until is not None:  # the loaded weeks' counts say nothing about a bounded range
                return True
            loaded = 0
            for name in names:
                if name in self.hot:
                    summary = self.summaries[name]
                    per_topic = summary.counts.values() if topics is None else (
                        summary.counts.get(t, {}) for t in topics)
                    if topics is None:
                        loaded += summary.n_facts if kind is None else summary.kinds.get(kind, 0)
                    else:
                        loaded += sum(sum(c.values()) if kind is None else c.get(kind, 0) for c in per_topic)
            return loaded < limit

    def fact_reads_disk(self, fact_id: str) -> bool:
        """``TinyStore.fact_reads_disk``: whether a fact by this id or prefix may be in a partition not loaded."""
        text = fact_id.strip().lower()
        key = id_key(text)
        span = (key, key + 1) if key is not None else prefix_range(text) if len(text) >= 4 else None
        with self.mem:
            if span is None or any(text in part.index for part in self.hot.values()):
                return False
            return any(count_range(s.ids, *span, at_most=1) for n, s in self.summaries.items()
                       if n not in self.hot)

    # --- an export's read: every claim, once --------------------------------------------------------------

    def claims(self, topics: Collection[str], since: datetime | None) -> list[StoredFact]:
        """``TinyStore.claims``: loaded and cached partitions from memory; every other one streamed from its
        file, only the claims of ``topics`` decoded, straight into the answer (no index built, nothing cached)."""
        lo = stamp(since) if since else float("-inf")
        wanted = frozenset(topics)
        with self.mem:
            names = [n for n, s in self.summaries.items()
                     if s.t_max >= lo and any(s.has_topic_kind(wanted, k) for k in CLAIM_KINDS)]
        found: list[StoredFact] = []
        # Decoding creates many objects and no cycles: the cyclic collector would walk the growing answer again
        # and again for nothing (a third of the time at 100k facts), as at open (_disk.load).
        enabled = gc.isenabled()
        gc.disable()
        try:
            for name in names:
                found += (f for f in self.claims_of(name, wanted) if fact_time(f) >= lo)
        finally:
            if enabled:
                gc.enable()
        return found

    @staticmethod
    def at_once(path: Path) -> bool:
        """Whether to parse this file in one call (C speed; the GIL held throughout): small ones only."""
        try:
            return path.stat().st_size <= AT_ONCE_BYTES
        except OSError:
            return False  # read_tables says what is wrong

    def claims_of(self, name: str, wanted: frozenset[str]) -> list[StoredFact]:
        for _ in range(5):
            part, file = self.resident(name, use_cache=True)
            if part is not None:
                with self.mem:
                    return [f for f in part.index.facts()
                            if f.fact.kind in CLAIM_KINDS and not wanted.isdisjoint(f.topics)]
            path = self.data_dir / file

            def skip(table: str, doc: Any, _: dict[str, list[dict[str, Any]]]) -> bool:
                return (table == "facts" and isinstance(doc, dict)
                        and not (_codec.kind_of(doc["fact"]) in CLAIM_KINDS and not wanted.isdisjoint(doc["topics"])))

            try:
                if self.at_once(path):
                    tables = _files.read_tables(path, at_once=True)
                    docs = [doc for doc in tables.get("facts", []) if not skip("facts", doc, tables)]
                else:
                    tables = _files.read_tables(path, skip=skip)
                    docs = tables.get("facts", [])
                urls = {doc["url"] for doc in docs}
                refs = {doc["url"]: (_codec.decode(ArticleRef, doc), doc.get("story_id"))
                        for doc in tables.get("articles", []) if doc["url"] in urls}
                return [f for f, _, _ in decode_facts(name, docs, refs)]
            except _files.MissingFile:
                if self.files.get(name) != file:
                    continue  # a commit replaced (and collected) the generation we were reading
                raise
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise StoreError(f"store file {path} is corrupt ({exc!r}); it was left untouched") from None
        raise StoreError(f"partition {name} kept changing while it was read; try again")
