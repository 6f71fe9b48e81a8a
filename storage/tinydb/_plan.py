"""A commit's plan: what a batch changes, computed against the store without touching it, then encoded as
new files and applied to memory in one step (see storage/DESIGN.md, "Commit protocol")."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.model import Article, StoredFact
from storage import _codec
from storage._state import State, merged
from storage._words import fact_words
from storage.api import Batch, CommitResult, fact_id
from storage.tinydb import _files, _summary
from storage.tinydb._layout import (
    BETWEEN,
    HEAD,
    MANIFEST,
    SCHEMA_VERSION,
    STATE,
    SUM,
    TAIL,
    Layout,
    Part,
    documents,
    dump,
    fact_json,
    partition_of,
)
from storage.tinydb._partitions import Partitions
from storage.tinydb._summary import Summary


class Plan:
    """What a batch changes, computed against the current state without touching it (in a worker thread:
    it may read old partitions). ``encode`` builds the new files; ``apply`` makes the change visible in
    memory, in one step, on the event loop."""

    def __init__(self, memory: Partitions, state: State, batch: Batch, now: datetime) -> None:
        self.memory, self.state_now, self.batch, self.now = memory, state, batch, now
        self.state: State | None = None  # the new sources, topics and guilds, when the batch changes them
        memory.build_filters()
        self.articles: dict[str, tuple[Article, str]] = {}  # url → (article, partition)
        self.new_facts: list[tuple[StoredFact, str, bool]] = []
        self.removed: dict[str, set[str]] = {}  # partition → fact ids
        self.parts: dict[str, Part] = {}  # the touched fact partitions, as they are now
        self.touched: set[str] = set()
        seq = memory.last_seq
        new_articles = updated = 0
        taken: set[str] = set()
        for item in batch.articles:
            article = item.article
            stored_in = memory.partition_of_article(article.url)
            old = memory.part(stored_in).articles.get(article.url) if stored_in else None
            old = old or self._planned(article.url)
            if old is not None and old.text_hash == article.text_hash:
                continue
            part = stored_in or partition_of(article.published or now)
            if part not in self.parts:
                self.parts[part] = memory.part(part)
            content = self.parts[part]
            self.articles[article.url] = (article, part)
            self.touched.add(part)
            if old is None:
                new_articles += 1
            else:
                updated += 1
            ref = article.ref  # one per article, shared by its facts
            keep = content.index.ids_of_article(article.url)
            wanted: list[tuple[str, Any]] = []
            for fact in item.facts:
                fid = fact_id(article.url, fact)
                if fid in taken or (fid not in keep and memory.known_id(fid)):
                    continue  # the same fact twice, or an id collision: the first one wins
                taken.add(fid)
                wanted.append((fid, fact))
            gone = keep - {fid for fid, _ in wanted}
            if gone:
                self.removed.setdefault(part, set()).update(gone)
            for fid, fact in wanted:
                existing = content.index.get(fid)
                if existing is not None:
                    stored = replace(existing, fact=fact, article=ref, topics=article.topics,
                                     story_id=article.story_id)
                else:
                    seq += 1
                    stored = StoredFact(id=fid, seq=seq, fact=fact, article=ref, topics=article.topics,
                                        stored_at=now, story_id=article.story_id)
                self.new_facts.append((stored, part, item.backlog and existing is None))
        self.state_changed = bool(batch.sources or batch.remove_sources or batch.topics or batch.remove_topics
                                  or batch.guilds)
        if self.state_changed:
            self.touched.add(STATE)
        self.last_seq = seq
        self.result = CommitResult(
            new_articles=new_articles, updated_articles=updated,
            new_facts=sum(1 for f, _, _ in self.new_facts if f.seq > memory.last_seq),
            removed_facts=sum(len(ids) for ids in self.removed.values()), last_seq=seq,
        )

    def _planned(self, url: str) -> Article | None:
        planned = self.articles.get(url)
        return planned[0] if planned else None

    @property
    def empty(self) -> bool:
        return not self.touched

    def encode(self) -> dict[str, Any]:
        """New files (name → bytes) plus the new manifest. Raises StoreError on an unserialisable value
        before anything is written."""
        memory = self.memory
        generation = memory.generation + 1
        files = dict(memory.files)
        payloads: dict[str, Any] = {}
        self.summaries: dict[str, Summary] = {}
        self.layouts: dict[str, Layout] = {}
        for part in sorted(self.touched):
            name = f"{part}.g{generation}.json"
            files[part] = name
            if part == STATE:
                payloads[name] = _files.dump_tables(self._encode_state())
                continue
            payloads[name] = data = self._encode_partition(part, name)
            content = self.parts[part]
            added = [f for f, p, _ in self.new_facts if p == part]
            gone = [f for fid in self.removed.get(part, set()) | {f.id for f in added}
                    if (f := content.index.get(fid)) is not None]
            old = memory.summaries.get(part) or Summary()
            vocabulary = set(old.words)
            for fact in added:
                vocabulary |= fact_words(fact)
            n_articles = len(set(content.articles) | {u for u, (_, p) in self.articles.items() if p == part})
            summary = _summary.update(old, added=added, removed=gone, articles=[
                a for a, p in self.articles.values() if p == part], n_articles=n_articles,
                words=frozenset(vocabulary), size=sum(len(chunk) for chunk in data))
            self.summaries[part] = summary
            sum_name = f"{part}{SUM}.g{generation}.json"
            payloads[sum_name] = _files.dump_tables(_summary.encode(summary))
            files[part + SUM] = sum_name
        payloads[MANIFEST] = {"schema": SCHEMA_VERSION, "generation": generation, "files": files,
                              "last_seq": self.last_seq}
        self.generation, self.files = generation, files
        return payloads

    def _encode_state(self) -> dict[str, list[Any]]:
        self.state = sources, topics, guilds = merged(*self.state_now, self.batch)
        return {"sources": [_codec.encode(s) for s in sources.values()],
                "topics": [_codec.encode(t) for t in topics.values()],
                "guilds": [_codec.encode(g) for g in guilds.values()]}

    def _encode_partition(self, part: str, name: str) -> list[bytes | memoryview]:
        """The partition's new file ``name``. Each document is dumped on its own (no single call holds the
        GIL for a whole week). A batch that only adds to a partition this process wrote is spliced into a
        copy of the file as last written: the cost of a commit is its own documents, plus copying bytes."""
        content = self.parts[part]
        articles_here = [a for a, p in self.articles.values() if p == part]
        facts_here = [(f, backlog) for f, p, backlog in self.new_facts if p == part]
        layout = content.layout
        if (layout is not None and layout[0] == self.memory.files.get(part) and part not in self.removed
                and not any(a.url in content.articles for a in articles_here)
                and not any(f.id in content.index for f, _ in facts_here)):
            with contextlib.suppress(OSError):
                raw = (self.memory.data_dir / layout[0]).read_bytes()
                _, start, n_articles, n_facts = layout
                if raw.startswith(HEAD) and raw[start - len(BETWEEN):start] == BETWEEN and raw.endswith(TAIL):
                    view = memoryview(raw)  # slices of the old file are not copied: it is written in pieces
                    new_articles = documents([dump(_codec.encode(a)) for a in articles_here], n_articles)
                    new_facts = documents([fact_json(f, backlog) for f, backlog in facts_here], n_facts)
                    facts_at = start + len(new_articles)
                    self.layouts[part] = (name, facts_at, n_articles + len(articles_here),
                                          n_facts + len(facts_here))
                    return [view[:start - len(BETWEEN)], new_articles, BETWEEN, view[start:-len(TAIL)], new_facts,
                            TAIL]
        urls = set(content.articles) | {u for u, (_, p) in self.articles.items() if p == part}
        articles = [self.articles[u][0] if u in self.articles else content.articles[u] for u in sorted(urls)]
        replaced = {f.id for f, _ in facts_here}
        removed = self.removed.get(part, set())
        facts = [(f, content.index.is_backlog(f.id)) for f in content.index.facts()
                 if f.id not in removed and f.id not in replaced]
        facts += facts_here
        head = HEAD + documents([dump(_codec.encode(a)) for a in articles], 0) + BETWEEN
        self.layouts[part] = (name, len(head), len(articles), len(facts))
        return [head, documents([fact_json(f, backlog) for f, backlog in facts], 0), TAIL]

    def apply(self) -> None:
        """Make the batch visible. No await in here: readers on the loop see all of it or none."""
        memory = self.memory
        with memory.mem:
            for name, content in self.parts.items():
                if name not in memory.hot:
                    memory.load_hot(content)
            for article, part in self.articles.values():
                content = memory.hot[part]
                content.articles[article.url] = article
                memory.index_article(article, part)
            for part, ids in self.removed.items():
                memory.hot[part].index.remove(ids)
            by_part: dict[str, list[tuple[StoredFact, str, bool]]] = {}
            for item in self.new_facts:
                by_part.setdefault(item[1], []).append(item)
            for part, items in by_part.items():
                memory.hot[part].index.add_many(items)
            for part, layout in self.layouts.items():
                memory.hot[part].layout = layout
            memory.last_seq = self.last_seq
            memory.summaries.update(self.summaries)
            memory.remember((f for f, _, _ in self.new_facts), (a for a, _ in self.articles.values()))
            memory.generation, memory.files = self.generation, self.files
            memory.evict(keep=self.parts, now=self.now)
