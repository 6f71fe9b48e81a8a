"""Partition summaries: what the store keeps in memory about every partition, loaded or not.

A summary is small next to its partition (integers and a vocabulary, no quotes or titles) and answers
which partitions a read must open: a fact id or an article URL/guid/text hash/story (sorted 64-bit keys,
bisected), a topic's facts of a kind (counts per topic and kind), a search (the partition's word set), a
digest (the highest seq), a date range (the lowest and highest fact time). It also records the size of
its partition file, so a damaged partition is refused at open without reading it.

Each partition's summary is its own stock TinyDB file (``facts-2025-W11.sum.g42.json``, one table
``summary`` holding one document), written with the partition in the same commit and named by the manifest.
"""

from __future__ import annotations

import bisect
import hashlib
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.model import Article, StoredFact

ID_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # storage.api.fact_id's alphabet, in order
_ID_VALUE = {c: i for i, c in enumerate(ID_ALPHABET)}
ID_LENGTH = 10


def id_key(fact_id: str) -> int | None:
    """A fact id as an integer whose order is the ids' string order (so a prefix is a range)."""
    if len(fact_id) != ID_LENGTH:
        return None
    value = 0
    for char in fact_id:
        digit = _ID_VALUE.get(char)
        if digit is None:
            return None
        value = value * 32 + digit
    return value


def prefix_range(prefix: str) -> tuple[int, int] | None:
    """The [low, high) range of id keys that start with ``prefix``."""
    if not 0 < len(prefix) <= ID_LENGTH:
        return None
    value = 0
    for char in prefix:
        digit = _ID_VALUE.get(char)
        if digit is None:
            return None
        value = value * 32 + digit
    shift = 5 * (ID_LENGTH - len(prefix))
    return value << shift, (value + 1) << shift


def text_key(text: str) -> int:
    """A 64-bit key of a URL, guid or text hash (a collision only costs reading one partition in vain)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def fact_time(fact: StoredFact) -> float:
    return (fact.article.published or fact.stored_at).timestamp()


def _sorted(values: Iterable[int]) -> array[int]:
    return array("Q", sorted(set(values)))


def contains(keys: array[int], key: int) -> bool:
    i = bisect.bisect_left(keys, key)
    return i < len(keys) and keys[i] == key


def count_range(keys: array[int], lo: int, hi: int, at_most: int = 2) -> int:
    """How many keys lie in [lo, hi), counting no further than ``at_most``."""
    i = bisect.bisect_left(keys, lo)
    return min(at_most, bisect.bisect_left(keys, hi, i) - i)


class KeyFilter:
    """A bitmap over 64-bit keys: "not here" is certain, "maybe" is checked against the summaries. It only
    grows (a removed key stays a "maybe"), which keeps it correct without ever rebuilding it."""

    __slots__ = ("bits", "mask")

    def __init__(self, bits: int) -> None:
        self.bits = bytearray(bits // 8)
        self.mask = bits - 1

    def add(self, key: int) -> None:
        slot = key & self.mask
        self.bits[slot >> 3] |= 1 << (slot & 7)

    def __contains__(self, key: int) -> bool:
        slot = key & self.mask
        return bool(self.bits[slot >> 3] & (1 << (slot & 7)))


@dataclass(frozen=True, slots=True)
class Summary:
    size: int = 0  # bytes of the partition file
    n_facts: int = 0
    n_articles: int = 0
    max_seq: int = 0
    t_min: float = float("inf")
    t_max: float = float("-inf")
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # topic → kind → facts
    kinds: dict[str, int] = field(default_factory=dict)  # kind → facts (with or without topics)
    words: frozenset[str] = frozenset()  # every searchable word of the partition's facts (a superset after removals)
    ids: array[int] = field(default_factory=lambda: array("Q"))
    urls: array[int] = field(default_factory=lambda: array("Q"))
    guids: array[int] = field(default_factory=lambda: array("Q"))
    hashes: array[int] = field(default_factory=lambda: array("Q"))
    stories: array[int] = field(default_factory=lambda: array("Q"))

    def has_topic_kind(self, topics: Iterable[str] | None, kind: str | None) -> bool:
        if self.n_facts == 0:
            return False
        if topics is None:
            return kind is None or self.kinds.get(kind, 0) > 0
        counts = (self.counts.get(t, {}) for t in topics)
        return any((sum(c.values()) if kind is None else c.get(kind, 0)) > 0 for c in counts)


def summarise(articles: Iterable[Article], facts: Iterable[StoredFact], words: frozenset[str], size: int) -> Summary:
    """The summary of a partition holding ``articles`` and ``facts``; ``words`` is its vocabulary."""
    articles = list(articles)
    ids: list[int] = []
    counts: dict[str, dict[str, int]] = {}
    kinds: dict[str, int] = {}
    max_seq, t_min, t_max, n = 0, float("inf"), float("-inf"), 0
    for fact in facts:
        n += 1
        key = id_key(fact.id)
        if key is not None:
            ids.append(key)
        max_seq = max(max_seq, fact.seq)
        when = fact_time(fact)
        t_min, t_max = min(t_min, when), max(t_max, when)
        kinds[fact.kind] = kinds.get(fact.kind, 0) + 1
        for topic in fact.topics:
            per_kind = counts.setdefault(topic, {})
            per_kind[fact.kind] = per_kind.get(fact.kind, 0) + 1
    return Summary(
        size=size, n_facts=n, n_articles=len(articles), max_seq=max_seq, t_min=t_min, t_max=t_max, counts=counts,
        kinds=kinds, words=words, ids=_sorted(ids), urls=_sorted(text_key(a.url) for a in articles),
        guids=_sorted(text_key(a.guid) for a in articles if a.guid),
        hashes=_sorted(text_key(a.text_hash) for a in articles),
        stories=_sorted(text_key(a.story_id) for a in articles if a.story_id),
    )


def update(old: Summary, *, added: Iterable[StoredFact], removed: Iterable[StoredFact], articles: Iterable[Article],
           n_articles: int, words: frozenset[str], size: int) -> Summary:
    """``old`` after a commit removed ``removed`` (and the old versions of replaced facts), added ``added``
    and wrote ``articles`` (new or edited), without walking the rest of the partition: a commit into a big
    week stays cheap. Time bounds, seq and article keys only grow (a superset: a read in vain at worst)."""
    counts = {topic: dict(per_kind) for topic, per_kind in old.counts.items()}
    kinds = dict(old.kinds)
    ids = set(old.ids)
    n, max_seq, t_min, t_max = old.n_facts, old.max_seq, old.t_min, old.t_max
    for fact, sign in [*((f, -1) for f in removed), *((f, 1) for f in added)]:
        n += sign
        key = id_key(fact.id)
        if key is not None:
            (ids.add if sign > 0 else ids.discard)(key)
        kinds[fact.kind] = kinds.get(fact.kind, 0) + sign
        for topic in fact.topics:
            per_kind = counts.setdefault(topic, {})
            per_kind[fact.kind] = per_kind.get(fact.kind, 0) + sign
        if sign > 0:
            max_seq = max(max_seq, fact.seq)
            when = fact_time(fact)
            t_min, t_max = min(t_min, when), max(t_max, when)
    articles = list(articles)
    return Summary(
        size=size, n_facts=n, n_articles=n_articles, max_seq=max_seq, t_min=t_min, t_max=t_max,
        counts={t: {k: c for k, c in per_kind.items() if c} for t, per_kind in counts.items()},
        kinds={k: c for k, c in kinds.items() if c}, words=words, ids=_sorted(ids),
        urls=_sorted([*old.urls, *(text_key(a.url) for a in articles)]),
        guids=_sorted([*old.guids, *(text_key(a.guid) for a in articles if a.guid)]),
        hashes=_sorted([*old.hashes, *(text_key(a.text_hash) for a in articles)]),
        stories=_sorted([*old.stories, *(text_key(a.story_id) for a in articles if a.story_id)]),
    )


def encode(summary: Summary) -> dict[str, list[dict[str, Any]]]:
    """As TinyDB tables: one table ``summary`` with one document."""
    finite = summary.n_facts > 0
    return {"summary": [{
        "size": summary.size, "n_facts": summary.n_facts, "n_articles": summary.n_articles,
        "max_seq": summary.max_seq, "t_min": summary.t_min if finite else None,
        "t_max": summary.t_max if finite else None, "counts": summary.counts, "kinds": summary.kinds,
        "words": sorted(summary.words),
        "ids": summary.ids.tolist(), "urls": summary.urls.tolist(), "guids": summary.guids.tolist(),
        "hashes": summary.hashes.tolist(), "stories": summary.stories.tolist(),
    }]}


def decode(tables: dict[str, list[dict[str, Any]]]) -> Summary:
    """The inverse of :func:`encode`; raises KeyError/TypeError/ValueError on a malformed document."""
    (doc,) = tables["summary"]
    counts = {str(t): {str(k): int(v) for k, v in per_kind.items()} for t, per_kind in doc["counts"].items()}
    return Summary(
        size=int(doc["size"]), n_facts=int(doc["n_facts"]), n_articles=int(doc["n_articles"]),
        max_seq=int(doc["max_seq"]),
        t_min=float("inf") if doc["t_min"] is None else float(doc["t_min"]),
        t_max=float("-inf") if doc["t_max"] is None else float(doc["t_max"]),
        counts=counts, kinds={str(k): int(v) for k, v in doc["kinds"].items()},
        words=frozenset(doc["words"]), ids=array("Q", doc["ids"]), urls=array("Q", doc["urls"]),
        guids=array("Q", doc["guids"]), hashes=array("Q", doc["hashes"]), stories=array("Q", doc["stories"]),
    )
