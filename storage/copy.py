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

The copy sees each driver only through the repository API and ``import_rows``; :func:`no_writer` (the TinyDB
driver's: a shared hold of its writer lock) keeps a running bot from writing the source meanwhile.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.model import Article, GuildSettings, SourceState, StoredFact, Topic
from storage import _codec
from storage.api import Store
from storage.tinydb import no_writer

__all__ = ["TABLES", "Check", "Snapshot", "compare", "describe_held", "held", "import_snapshot", "no_writer",
           "read_all", "render"]

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
