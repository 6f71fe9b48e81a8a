"""The TinyDB driver's bulk import (``TinyStore.import_rows``, for ``python -m bot migrate``): rows written as
they are, ids, seqs and backlog flags kept, as the partitions, summaries, state file and manifest that a
commit would have written (storage/tinydb/_plan.py lays them out the same way)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.errors import StoreError
from bot.model import Article, GuildSettings, SourceState, StoredFact, Topic
from storage import _codec
from storage._words import fact_words
from storage.tinydb import _disk, _files, _summary
from storage.tinydb._layout import (
    BETWEEN,
    HEAD,
    MANIFEST,
    SCHEMA_VERSION,
    STATE,
    SUM,
    TAIL,
    documents,
    dump,
    fact_json,
    partition_of,
)
from storage.tinydb._partitions import Partitions


def write_rows(parts: Partitions, articles: Sequence[Article], facts: Sequence[tuple[StoredFact, bool]], *,
               sources: Sequence[SourceState], topics: Sequence[Topic], guilds: Sequence[GuildSettings],
               last_seq: int, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
    """``TinyStore.import_rows``: lay the rows out as weekly partitions (an article's week: its publication
    time, else when its first fact was stored, else when it was fetched), each with its summary, plus the
    state file, and commit them with one manifest (``parts`` is the empty store's memory; the caller loads
    the store again, as ``open`` would)."""
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
    weeks: dict[str, list[Article]] = {}
    for article in articles:
        stamps = [f.stored_at for f, _ in facts_of.get(article.url, ())]
        when = article.published or (min(stamps) if stamps else None) or article.fetched_at or now()
        weeks.setdefault(partition_of(when), []).append(article)
    generation = parts.generation + 1
    files: dict[str, str] = {}
    payloads: dict[str, Any] = {}
    for part, here in sorted(weeks.items()):
        here.sort(key=lambda a: a.url)
        rows = [item for a in here for item in sorted(facts_of.get(a.url, ()), key=lambda i: i[0].seq)]
        data: list[bytes | memoryview] = [
            HEAD + documents([dump(_codec.encode(a)) for a in here], 0) + BETWEEN,
            documents([fact_json(f, backlog) for f, backlog in rows], 0), TAIL]
        vocabulary: set[str] = set()
        for fact, _ in rows:
            vocabulary |= fact_words(fact)
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
                          "last_seq": max(last_seq, max_seq, parts.last_seq)}
    _disk.write(parts.data_dir, payloads)  # the manifest last: all of it, or (after a crash) none of it
