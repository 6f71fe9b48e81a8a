"""Readers on the event loop never see half a batch while the writer commits."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from pathlib import Path

from bot.model import GuildSettings
from storage.api import ArticleFacts, Batch
from storage.tinydb.store import TinyStore
from tests.storage._helpers import T0, article, casualty

N = 6  # facts per article
BATCHES = 50


def _batch(i: int) -> Batch:
    # two articles in two month partitions, and the guild's state, in one batch
    return Batch(
        articles=tuple(ArticleFacts(article(f"https://c/{i}/{j}", published=T0 - timedelta(days=40 * j)),
                                    tuple(casualty(k, claimant=f"claimant{i}") for k in range(N)))
                       for j in range(2)),
        guilds=(GuildSettings(guild_id=1, digest_watermark=i),),
    )


async def test_readers_never_see_a_partial_batch(tmp_path: Path) -> None:
    store = await TinyStore.open(tmp_path)
    done = asyncio.Event()
    reads = 0

    async def reader() -> None:
        nonlocal reads
        while not done.is_set():
            per_article = Counter(f.article.url for f in store.facts())
            assert set(per_article.values()) <= {N}, per_article
            batches = {url.split("/")[3] for url in per_article}
            assert all(per_article[f"https://c/{b}/{j}"] == N for b in batches for j in range(2))
            committed = len(batches)
            assert store.guild(1).digest_watermark == committed - 1 if committed else True
            assert len(store.facts_after(0)) == 2 * N * committed
            assert store.stats()["articles"] == 2 * committed
            assert store.last_seq == 2 * N * committed
            assert len(store.search("people killed")) == min(50, 2 * N * committed)
            reads += 1
            # a real (sub-millisecond) wait: a loop that never idles would starve the writer's thread of the GIL
            await asyncio.sleep(0.0005)

    task = asyncio.create_task(reader())
    results = []
    for i in range(BATCHES):
        results.append(await store.commit(_batch(i)))
    done.set()
    await task
    assert reads > 0  # the reader really ran while the writer committed
    assert [r.new_facts for r in results] == [2 * N] * BATCHES
    assert len((await TinyStore.open(tmp_path)).facts()) == 2 * N * BATCHES


async def test_concurrent_commits_are_serialised(tmp_path: Path) -> None:
    store = await TinyStore.open(tmp_path)
    results = await asyncio.gather(*(store.commit(_batch(i)) for i in range(20)))
    assert sorted(r.last_seq for r in results) == [2 * N * (i + 1) for i in range(20)]
    reopened = await TinyStore.open(tmp_path)
    assert sorted(f.seq for f in reopened.facts()) == list(range(1, 2 * N * 20 + 1))
