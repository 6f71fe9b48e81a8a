"""Copying a whole store from one driver to the other (``python -m bot migrate``), and checking the copy.

- :func:`read_all` reads everything a store holds through the repository API (plus the backlog flag, which
  the API shows as "not in ``facts_after(0)``"): articles, facts with their id, seq, stored_at, backlog
  flag and topics, sources, topics, guild settings, and ``last_seq``.
- The target writes it with its driver's ``import_rows`` (``TinyStore.import_rows``, ``PgStore.import_rows``):
  unlike ``commit``, which gives every new fact the next seq, it keeps every seq as it is, so digest and
  alert watermarks in the guild settings stay true and nothing is posted twice.
- :func:`compare` checks the copy: per table, the number of records and a sha256 over the sorted canonical
  JSON of each record, computed the same way from both sides (the source as read, the target re-opened
  read-only after the copy).

:func:`write_tiny` is ``TinyStore.import_rows``'s body: it writes the partitions, their summaries, the state
file and a manifest in one commit, the way storage/tinydb/_plan.py lays them out.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.errors import StoreError
from bot.model import Article, GuildSettings, SourceState, StoredFact, Topic
from storage import _codec
from storage.api import Store
from storage.tinydb import _files, _lock, _summary
from storage.tinydb._index import FactIndex
from storage.tinydb._layout import (
    _BETWEEN,
    _HEAD,
    _TAIL,
    MANIFEST,
    SCHEMA_VERSION,
    STATE,
    SUM,
    _documents,
    _dump,
    _fact_json,
    partition_of,
)

if TYPE_CHECKING:
    from storage.tinydb.store import TinyStore

TABLES = ("articles", "facts", "sources", "topics", "guilds")


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything one store holds. ``facts`` pairs each fact with its backlog flag."""

    articles: list[Article]
    facts: list[tuple[StoredFact, bool]]
    sources: list[SourceState]
    topics: list[Topic]
    guilds: list[GuildSettings]
    last_seq: int

    def records(self, table: str) -> Iterable[Any]:
        """The canonical (JSON-ready) records of one table."""
        if table == "articles":
            return (_codec.encode(a) for a in self.articles)
        if table == "facts":
            return (fact_record(f, backlog) for f, backlog in self.facts)
        if table == "sources":
            return (_codec.encode(s) for s in self.sources)
        if table == "topics":
            return (_codec.encode(t) for t in self.topics)
        if table == "guilds":
            return (_codec.encode(g) for g in self.guilds)
        raise ValueError(table)

    def count(self, table: str) -> int:
        return len(getattr(self, table))

    def checksum(self, table: str) -> str:
        """sha256 over the sorted canonical JSON lines of the table's records: independent of read order."""
        lines = sorted(json.dumps(r, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
                       for r in self.records(table))
        digest = hashlib.sha256()
        for line in lines:
            digest.update(line.encode())
            digest.update(b"\n")
        return digest.hexdigest()


def fact_record(fact: StoredFact, backlog: bool) -> dict[str, Any]:
    return {"id": fact.id, "seq": fact.seq, "stored_at": fact.stored_at.isoformat(), "backlog": backlog,
            "topics": list(fact.topics), "story_id": fact.story_id, "article": _codec.encode(fact.article),
            "fact": _codec.encode_fact(fact.fact)}


def held(store: Store) -> dict[str, int]:
    """What a store holds, by table, only the tables that are not empty: a migration's target must be empty."""
    stats = store.stats()
    return {t: stats.get(t, 0) for t in TABLES if stats.get(t, 0)}


def read_all(store: Store) -> Snapshot:
    """Everything ``store`` holds, read through the repository API (old TinyDB partitions from disk)."""
    limit = store.stats().get("articles", 0) + 1
    while True:
        articles = store.recent_articles(limit=limit)
        if len(articles) < limit:
            break
        limit *= 2
    facts = store.facts()
    announced = {f.id for f in store.facts_after(0)}
    return Snapshot(articles=articles, facts=[(f, f.id not in announced) for f in facts],
                    sources=store.all_sources(), topics=store.topics(), guilds=store.guilds(),
                    last_seq=store.last_seq)


def import_snapshot(target: Any, snapshot: Snapshot) -> None:
    """Write ``snapshot`` into the empty ``target`` (a TinyStore or PgStore) with its ``import_rows``."""
    target.import_rows(snapshot.articles, snapshot.facts, sources=snapshot.sources, topics=snapshot.topics,
                       guilds=snapshot.guilds, last_seq=snapshot.last_seq)


@dataclass(frozen=True, slots=True)
class Check:
    table: str
    source: str  # a count, or last_seq
    target: str
    source_sum: str
    target_sum: str

    @property
    def ok(self) -> bool:
        return self.source == self.target and self.source_sum == self.target_sum


def compare(source: Snapshot, target: Snapshot) -> list[Check]:
    checks = [Check(t, str(source.count(t)), str(target.count(t)), source.checksum(t), target.checksum(t))
              for t in TABLES]
    checks.append(Check("last_seq", str(source.last_seq), str(target.last_seq), "", ""))
    return checks


def render(checks: Sequence[Check]) -> str:
    """The checks as a small table: table, counts on both sides, checksums (16 hex digits), ok or DIFFERS."""
    rows = [("table", "source", "target", "sha256 source", "sha256 target", "")]
    rows += [(c.table, c.source, c.target, c.source_sum[:16] or "-", c.target_sum[:16] or "-",
              "ok" if c.ok else "DIFFERS") for c in checks]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.rjust(w) if i in (1, 2) else cell.ljust(w)
                               for i, (cell, w) in enumerate(zip(r, widths, strict=True))).rstrip() for r in rows)


def describe_held(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {table}" for table, n in counts.items())


@contextlib.contextmanager
def no_writer(data_dir: Path) -> Iterator[None]:
    """Hold the data directory's writer lock *shared* while the store is read (writing nothing): if a bot or
    poller is writing it, the copy is refused; and none can start writing until the copy is done, so what is
    copied is one consistent state."""
    path = data_dir / _lock.LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:  # never opened for writing
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            holder = _lock._read_pid(fd)
            who = f" (pid {holder})" if holder else ""
            raise StoreError(f"the data directory {data_dir} is in use by a Sitrep writer{who}; stop it first: "
                             "a store being written cannot be copied consistently") from None
        yield
    finally:
        os.close(fd)


# --- the TinyDB driver's bulk import ------------------------------------------------------------------------


def write_tiny(store: TinyStore, articles: Sequence[Article], facts: Sequence[tuple[StoredFact, bool]], *,
               sources: Sequence[SourceState], topics: Sequence[Topic], guilds: Sequence[GuildSettings],
               last_seq: int, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
    """``TinyStore.import_rows``: lay the rows out as weekly partitions (an article's week: its publication
    time, else when its first fact was stored, else when it was fetched), each with its summary, plus the
    state file, and commit them with one manifest. Then load the store as ``open`` would."""
    if held(store):
        raise StoreError(f"the store in {store.data_dir} is not empty: nothing was imported")
    by_url = {a.url: a for a in articles}
    if len(by_url) != len(articles):
        raise StoreError("cannot import: the same article URL twice")
    facts_of: dict[str, list[tuple[StoredFact, bool]]] = {}
    seen: set[str] = set()
    for fact, backlog in facts:
        if fact.article.url not in by_url:
            raise StoreError(f"cannot import fact {fact.id}: its article {fact.article.url} is not among the articles")
        if fact.id in seen:
            raise StoreError(f"cannot import: fact id {fact.id} twice")
        seen.add(fact.id)
        facts_of.setdefault(fact.article.url, []).append((fact, backlog))
    parts: dict[str, list[Article]] = {}
    for article in articles:
        stamps = [f.stored_at for f, _ in facts_of.get(article.url, ())]
        when = article.published or (min(stamps) if stamps else None) or article.fetched_at or now()
        parts.setdefault(partition_of(when), []).append(article)
    generation = store._generation + 1
    files: dict[str, str] = {}
    payloads: dict[str, Any] = {}
    for part, here in sorted(parts.items()):
        here.sort(key=lambda a: a.url)
        rows = [item for a in here for item in sorted(facts_of.get(a.url, ()), key=lambda i: i[0].seq)]
        data: list[bytes | memoryview] = [
            _HEAD + _documents([_dump(_codec.encode(a)) for a in here], 0) + _BETWEEN,
            _documents([_fact_json(f, backlog) for f, backlog in rows], 0), _TAIL]
        vocabulary: set[str] = set()
        for fact, _ in rows:
            vocabulary |= FactIndex._fact_words(fact)
        summary = _summary.summarise(here, [f for f, _ in rows], frozenset(vocabulary),
                                     sum(len(chunk) for chunk in data))
        files[part] = name = f"{part}.g{generation}.json"
        payloads[name] = data
        files[part + SUM] = sum_name = f"{part}{SUM}.g{generation}.json"
        payloads[sum_name] = _files.dump_tables(_summary.encode(summary))
    files[STATE] = state_name = f"{STATE}.g{generation}.json"
    payloads[state_name] = _files.dump_tables({"sources": [_codec.encode(s) for s in sources],
                                               "topics": [_codec.encode(t) for t in topics],
                                               "guilds": [_codec.encode(g) for g in guilds]})
    max_seq = max((f.seq for f, _ in facts), default=0)
    payloads[MANIFEST] = {"schema": SCHEMA_VERSION, "generation": generation, "files": files,
                          "last_seq": max(last_seq, max_seq, store._last_seq)}
    store._write(payloads)  # the manifest last: all of it, or (after a crash) none of it
    with store._mem:  # memory as a fresh open of the new manifest would have it
        store._summaries.clear()
        store._hot.clear()
        store._cold.clear()
        store._pending = []
        for index in (store._articles, store._article_part, store._by_guid, store._by_hash, store._by_story,
                      store._sources, store._topics, store._guilds):
            index.clear()
        store._filters = None
        store._load(store.data_dir / MANIFEST)
    gc.freeze()
