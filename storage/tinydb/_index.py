"""In-memory indexes over the stored facts of one partition (the store keeps one per loaded partition
and merges their answers). Every query is a bisect or a dict lookup followed by a short filter.

Sorted lists hold ``(time, seq, id)`` keys; a batch's keys are merged in (``_merge``), never re-sorted
with the whole list.
"""

from __future__ import annotations

import bisect
import contextlib
from array import array
from collections.abc import Collection, Iterable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, TypeVar

from bot.model import Kind, StoredFact
from storage._words import fact_words, words

Key = tuple[float, int, str]
T = TypeVar("T", bound=Any)
_EMPTY: array[int] = array("I")


def _time(fact: StoredFact) -> float:
    return (fact.article.published or fact.stored_at).timestamp()


def _stamp(when: datetime) -> float:
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


_FOLDED: dict[str | None, str] = {}  # sides and claimants repeat (and are interned): fold each once


def _folded(name: str | None) -> str:
    folded = _FOLDED.get(name)
    if folded is None:
        if len(_FOLDED) > 100_000:
            _FOLDED.clear()
        folded = _FOLDED[name] = (name or "").casefold()
    return folded


def _merge(ordered: list[T], new: list[T]) -> None:
    """Add ``new`` to the sorted list ``ordered``, keeping it sorted, on the event loop: a poll batch must
    not re-sort the whole history (a full sort of every index on each commit stalled the loop ~100 ms at
    100k facts). New facts are mostly the newest ones, so the common case is an append."""
    if not new:
        return
    new.sort()
    if not ordered or new[0] >= ordered[-1]:
        ordered.extend(new)
    elif len(new) * 64 < len(ordered):  # a few keys into a long list: memmove per key beats a sort
        for item in new:
            bisect.insort(ordered, item)
    else:
        ordered.extend(new)
        ordered.sort()


class FactIndex:
    def __init__(self) -> None:
        self.last_seq = 0
        self._facts: dict[str, StoredFact] = {}
        self._backlog: set[str] = set()
        self._by_article: dict[str, set[str]] = {}
        self._all: list[Key] = []
        self._by_topic: dict[str, list[Key]] = {}
        self._by_kind: dict[tuple[str | None, str], list[Key]] = {}  # (topic or None for all, kind) → keys
        self._by_seq: list[tuple[int, str]] = []
        self._ids: list[str] = []
        # The word index behind search is built on first use (or by Store.warm_search after start-up): word →
        # positions in ``_order`` (4 bytes each: a set of ids per word took ~1 KB a fact). A position whose
        # fact was removed or replaced since is stale, and skipped (``_order[i]`` is no longer in ``_facts``).
        self._words: dict[str, array[int]] | None = None
        self._order: list[StoredFact] = []

    def __len__(self) -> int:
        return len(self._facts)

    def __contains__(self, fact_id: str) -> bool:
        return fact_id in self._facts

    def get(self, fact_id: str) -> StoredFact | None:
        return self._facts.get(fact_id)

    def is_backlog(self, fact_id: str) -> bool:
        return fact_id in self._backlog

    def ids_of_article(self, url: str) -> set[str]:
        return set(self._by_article.get(url, ()))

    # --- changes ------------------------------------------------------------------------------------

    def add_many(self, items: Iterable[tuple[StoredFact, str, bool]]) -> None:
        """Add (or replace, by id) facts with their partition and backlog flag."""
        items = list(items)
        replaced = {f.id for f, _, _ in items if f.id in self._facts}
        if replaced:
            self.remove(replaced)
        new_keys: list[Key] = []
        topic_keys: dict[str, list[Key]] = {}
        kind_keys: dict[tuple[str | None, str], list[Key]] = {}
        new_seq: list[tuple[int, str]] = []
        new_ids: list[str] = []
        for fact, _, backlog in items:
            self._facts[fact.id] = fact
            if backlog:
                self._backlog.add(fact.id)
            self._by_article.setdefault(fact.article.url, set()).add(fact.id)
            key = (_time(fact), fact.seq, fact.id)
            new_keys.append(key)
            kind_keys.setdefault((None, fact.kind), []).append(key)
            for topic in fact.topics:
                topic_keys.setdefault(topic, []).append(key)
                kind_keys.setdefault((topic, fact.kind), []).append(key)
            new_seq.append((fact.seq, fact.id))
            new_ids.append(fact.id)
            if self._words is not None:
                self._index_words(self._words, self._order, fact)
            self.last_seq = max(self.last_seq, fact.seq)
        _merge(self._all, new_keys)
        for topic, keys in topic_keys.items():
            _merge(self._by_topic.setdefault(topic, []), keys)
        for pair, keys in kind_keys.items():
            _merge(self._by_kind.setdefault(pair, []), keys)
        _merge(self._by_seq, new_seq)
        _merge(self._ids, new_ids)

    def remove(self, ids: Collection[str]) -> None:
        gone = {i for i in ids if i in self._facts}
        if not gone:
            return
        topics: set[str] = set()
        for fact_id in gone:
            fact = self._facts.pop(fact_id)
            self._backlog.discard(fact_id)
            self._by_article.get(fact.article.url, set()).discard(fact_id)
            topics.update(fact.topics)
        self._all = [k for k in self._all if k[2] not in gone]
        for topic in topics:
            self._by_topic[topic] = [k for k in self._by_topic[topic] if k[2] not in gone]
        for pair in [p for p in self._by_kind if p[0] is None or p[0] in topics]:
            self._by_kind[pair] = [k for k in self._by_kind[pair] if k[2] not in gone]
        self._by_seq = [k for k in self._by_seq if k[1] not in gone]
        self._ids = [i for i in self._ids if i not in gone]

    # --- queries ------------------------------------------------------------------------------------

    def query(self, *, topics: Collection[str] | None, kind: Kind | None, since: datetime | None,
              until: datetime | None, category: str | None, victim: str | None, claimant: str | None,
              limit: int | None) -> list[StoredFact]:
        casualty_only = category is not None or victim is not None or claimant is not None
        if casualty_only and kind not in (None, "casualty"):
            return []
        of_kind = "casualty" if casualty_only else kind  # walk only that kind's keys
        if of_kind is None:
            lists = [self._all] if topics is None else [self._by_topic.get(t, []) for t in topics]
        else:
            lists = [self._by_kind.get((None, of_kind), [])] if topics is None else [
                self._by_kind.get((t, of_kind), []) for t in topics]
        lo = _stamp(since) if since else float("-inf")
        hi = _stamp(until) if until else float("inf")
        keys: list[Key] = []
        for keyed in lists:
            start = bisect.bisect_left(keyed, (lo,))
            end = bisect.bisect_right(keyed, (hi, float("inf")))
            keys.extend(keyed[start:end])
        if len(lists) > 1:
            keys = sorted(set(keys))
        facts = self._facts
        if not casualty_only:
            newest = keys if limit is None else keys[max(0, len(keys) - limit):]
            return [facts[fact_id] for _, _, fact_id in reversed(newest)]
        victim_f = victim.casefold() if victim is not None else None
        claimant_f = claimant.casefold() if claimant is not None else None
        out: list[StoredFact] = []
        for _, _, fact_id in reversed(keys):
            stored = facts[fact_id]
            fact = stored.fact
            if category is not None and fact.category != category:  # type: ignore[union-attr]
                continue
            if victim_f is not None and _folded(fact.victim) != victim_f:  # type: ignore[union-attr]
                continue
            if claimant_f is not None and _folded(fact.claimant) != claimant_f:  # type: ignore[union-attr]
                continue
            out.append(stored)
            if limit is not None and len(out) >= limit:
                break
        return out

    def by_id_or_prefix(self, text: str) -> StoredFact | None:
        if text in self._facts:
            return self._facts[text]
        if len(text) < 4:
            return None
        i = bisect.bisect_left(self._ids, text)
        matches: list[str] = []
        while i < len(self._ids) and self._ids[i].startswith(text) and len(matches) < 2:
            matches.append(self._ids[i])
            i += 1
        return self._facts[matches[0]] if len(matches) == 1 else None

    def after(self, seq: int, topics: Collection[str] | None) -> list[StoredFact]:
        wanted = set(topics) if topics is not None else None
        start = bisect.bisect_right(self._by_seq, (seq, "\uffff"))
        out = []
        for _, fact_id in self._by_seq[start:]:
            if fact_id in self._backlog:
                continue
            fact = self._facts[fact_id]
            if wanted is None or wanted.intersection(fact.topics):
                out.append(fact)
        return out

    @classmethod
    def _index_words(cls, index: dict[str, array[int]], order: list[StoredFact], fact: StoredFact) -> None:
        position = len(order)
        order.append(fact)
        for word in fact_words(fact):
            postings = index.get(word)
            if postings is None:
                index[word] = postings = array("I")
            postings.append(position)

    def build_words(self, lock: AbstractContextManager[Any] | None = None) -> None:
        """Build the word index from the facts as they are now, without holding ``lock`` (the lock that
        guards changes) while it works: facts added meanwhile are patched in under it (removed ones are
        stale positions, skipped by search)."""
        snapshot = list(self._facts.values())  # one C-level copy: atomic under the GIL
        index: dict[str, array[int]] = {}
        order: list[StoredFact] = []
        for fact in snapshot:
            self._index_words(index, order, fact)
        with lock or contextlib.nullcontext():
            seen = {id(f) for f in snapshot}
            for fact in self._facts.values():
                if id(fact) not in seen:  # added or replaced meanwhile
                    self._index_words(index, order, fact)
            self._words, self._order = index, order

    @property
    def has_words(self) -> bool:
        return self._words is not None

    def facts(self) -> list[StoredFact]:
        return list(self._facts.values())

    def search(self, text: str, topics: Collection[str] | None, limit: int) -> list[StoredFact]:
        terms = words(text)
        if not terms:
            return []
        if self._words is None:
            self.build_words()
        assert self._words is not None
        postings = sorted((self._words.get(t, _EMPTY) for t in terms), key=len)
        positions = set(postings[0])
        for more in postings[1:]:
            positions.intersection_update(more)
        wanted = set(topics) if topics is not None else None
        found = []
        for position in positions:
            fact = self._order[position]
            if self._facts.get(fact.id) is fact and (wanted is None or wanted.intersection(fact.topics)):
                found.append(fact)
        found.sort(key=lambda f: (_time(f), f.seq), reverse=True)
        return found[:limit]
