"""The files of a store and the partitions in memory: names, constants, the shape of a partition file, and
the small helpers that the Store and a commit's plan share (see storage/DESIGN.md)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bot.model import Article, ArticleRef, StoredFact
from storage import _codec
from storage._words import fact_words
from storage.tinydb._index import FactIndex
from storage.tinydb._summary import fact_time

SCHEMA_VERSION = 2  # 2: every fact partition has a summary file (1: none; 0: one TinyDB file)
MANIFEST = "manifest.json"
LEGACY_V0 = "sitrep.json"  # stock TinyDB, one file: what version 0 of Sitrep wrote
STATE = "state"
SUM = ".sum"  # a partition's summary is the partition "facts-2025-W11.sum"
OPEN_WEEKS = 1  # weeks of the window that open loads at once (a week's answers); warm_search loads the rest
Layout = tuple[str, int, int, int]  # a partition file: (name, where its facts table starts, articles, facts)
HEAD, BETWEEN, TAIL = b'{"articles":{', b'},"facts":{', b"}}"
Keep = Callable[[dict[str, Any], dict[str, Any] | None], bool]  # (fact document, its article's) → keep it
# Bitmaps of every key a summary holds (see Store._filters): 8 MB for fact ids, 2 MB for each article key,
# a few % full at a million facts (250,000 articles).
FILTER_BITS = {"ids": 1 << 26, "urls": 1 << 24, "guids": 1 << 24, "hashes": 1 << 24}
# A file up to this size is parsed in one json.loads (about 10 ms with the GIL held, three times faster than
# one document at a time) when a read wants most of it: an export.
AT_ONCE_BYTES = 1 << 20
CLAIM_KINDS = frozenset({"casualty", "territory"})  # what an export reads (Store.claims)
COLD_CACHE = 4  # old partitions kept decoded after a read (each is a week of facts)
# Weekly fact partitions (facts-2025-W41); monthly ones (facts-2025-10) written by earlier versions still load.
PART_FILE = re.compile(r"(?P<part>state|facts-\d{4}-(?:W\d{2}|\d{2})(?:\.sum)?)\.g(?P<gen>\d+)\.json")


class Part:
    """One fact partition in memory: its articles, and an index over its facts."""

    __slots__ = ("articles", "index", "layout", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self.articles: dict[str, Article] = {}
        self.index = FactIndex()
        # The file as this process last wrote it: (name, where its facts table starts, articles, facts). A
        # commit that only adds to the partition splices its new documents into a copy of that file instead
        # of encoding every document of the week again.
        self.layout: Layout | None = None

    @classmethod
    def decode(cls, name: str, tables: dict[str, list[dict[str, Any]]]) -> Part:
        part = cls(name)
        for doc in tables.get("articles", []):
            article = _codec.decode(Article, doc)
            part.articles[article.url] = article
        refs = {url: (a.ref, a.story_id) for url, a in part.articles.items()}
        part.index.add_many(decode_facts(name, tables.get("facts", []), refs))
        return part

    def words(self) -> frozenset[str]:
        found: set[str] = set()
        for fact in self.index.facts():
            found |= fact_words(fact)
        return frozenset(found)


def decode_facts(name: str, docs: list[dict[str, Any]], articles: dict[str, tuple[ArticleRef, str | None]],
                 ) -> list[tuple[StoredFact, str, bool]]:
    """The fact documents of partition ``name`` as (fact, partition, backlog), given each article's reference
    (one, shared by its facts) and story; a fact whose article is not among ``articles`` is left out."""
    facts = []
    stamps: dict[str, datetime] = {}  # the facts of one commit share their stored_at
    for doc in docs:
        article = articles.get(doc["url"])
        if article is None:
            continue
        stored_at = stamps.get(doc["stored_at"]) or stamps.setdefault(
            doc["stored_at"], datetime.fromisoformat(doc["stored_at"]))
        facts.append((StoredFact(
            id=doc["id"], seq=doc["seq"], fact=_codec.decode_fact(doc["fact"]), article=article[0],
            topics=tuple(_codec.short(t) for t in doc["topics"]), stored_at=stored_at, story_id=article[1],
        ), name, bool(doc.get("backlog"))))
    return facts


def documents(docs: list[bytes], before: int) -> bytes:
    """Documents as the body of a TinyDB table ("1":{...},"2":{...}), numbered after ``before`` others."""
    return b",".join(b'"%d":%s' % (i, doc) for i, doc in enumerate(docs, before + 1)).join(
        [b"," if before and docs else b"", b""])


def fact_json(fact: StoredFact, backlog: bool) -> bytes:
    return dump({"id": fact.id, "seq": fact.seq, "url": fact.article.url, "topics": list(fact.topics),
                  "stored_at": fact.stored_at.isoformat(), "backlog": backlog, "fact": _codec.encode_fact(fact.fact)})


def dump(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def stamp(when: datetime) -> float:
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def sort_key(fact: StoredFact) -> tuple[float, int, str]:
    return fact_time(fact), fact.seq, fact.id


def newest(facts: list[StoredFact], limit: int | None) -> list[StoredFact]:
    facts.sort(key=sort_key, reverse=True)
    return facts if limit is None else facts[:limit]


def article_time(article: Article) -> datetime:
    return article.published or article.fetched_at or datetime.min.replace(tzinfo=UTC)


def span_end(part: str) -> datetime:
    """When a partition's period ends: the Monday after its ISO week, or the first day of the next month."""
    year, period = part.removeprefix("facts-").split("-")
    if period.startswith("W"):
        end = date.fromisocalendar(int(year), int(period[1:]), 1) + timedelta(days=7)
    else:
        month = int(period)
        end = date(int(year) + month // 12, month % 12 + 1, 1)
    return datetime(end.year, end.month, end.day, tzinfo=UTC)


def partition_of(when: datetime) -> str:
    """The partition of an article published at ``when``: its ISO week. A poll batch lands in this week's
    partition, so the cost of a write is bounded by a week of news, not by a month or the whole history."""
    year, week, _ = when.astimezone(UTC).isocalendar()
    return f"facts-{year}-W{week:02d}"


