"""Old partitions are not loaded: every answer is the same as with the whole history in memory."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.api import ArticleFacts, Batch
from storage.tinydb.store import TinyStore
from tests.storage._helpers import article, casualty, event

NOW = datetime.now(UTC)
TOPICS = ("gaza", "sudan", "ukraine")
PLACES = ("Rafah", "Khartoum", "Kharkiv", "Jabalia", "Omdurman")


def _history(directory: Path) -> None:
    """80 articles over 40 weeks up to now, 3 facts each, written in a few commits."""
    rng = random.Random(5)
    items = []
    for i in range(80):
        when = NOW - timedelta(days=280 * i / 80, hours=rng.randint(0, 12))
        place = rng.choice(PLACES)
        facts = (casualty(rng.randint(1, 50), victim=rng.choice(["civilians", "soldiers"]),
                          claimant=rng.choice(["UN", "Hamas", None]), quote=f"{i} people were killed in {place}."),
                 event(f"Strike on {place} number {i}", date=f"{when:%Y-%m-%d}"),
                 casualty(i + 100, category="injured", quote=f"{i + 100} injured near {place}, medics said."))
        items.append(ArticleFacts(article(f"https://h/{i}", published=when, topics=(rng.choice(TOPICS),),
                                          guid=f"g{i}", story_id=f"s{i % 7}", title=f"Report {i} from {place}"),
                                  facts, backlog=i % 5 == 0))
    store = TinyStore.open_sync(directory)
    for start in range(0, len(items), 13):
        store.commit_sync(Batch(articles=tuple(items[start:start + 13])))
    store.close_sync()


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> tuple[TinyStore, TinyStore]:
    directory = tmp_path_factory.mktemp("history")
    _history(directory)
    window = TinyStore.open_sync(directory, read_only=True, hot_weeks=3)
    everything = TinyStore.open_sync(directory, read_only=True, hot_weeks=1000)
    for store in (window, everything):  # open loads the last week; warm_search the rest of the window
        asyncio.run(store.warm_search())
    return window, everything


def _ids(facts: list) -> list[str]:  # type: ignore[type-arg]
    return [f.id for f in facts]


def test_only_the_recent_window_is_loaded(stores: tuple[TinyStore, TinyStore]) -> None:
    window, everything = stores
    assert 0 < len(window._parts.hot) < len(everything._parts.hot) == everything.stats()["partitions"] == 41
    assert window.stats() == everything.stats()


def test_a_store_not_warmed_yet_answers_the_same(tmp_path_factory: pytest.TempPathFactory,
                                                 stores: tuple[TinyStore, TinyStore]) -> None:
    _, everything = stores
    opened = TinyStore.open_sync(everything.data_dir, read_only=True, hot_weeks=1000)
    assert len(opened._parts.hot) <= 2 and opened._parts.pending  # the last week now, the rest when warmed
    assert _ids(opened.facts(limit=30)) == _ids(everything.facts(limit=30))
    assert _ids(opened.search("killed")) == _ids(everything.search("killed"))
    assert opened.stats() == everything.stats()


@pytest.mark.parametrize("query", [
    {}, {"limit": 7}, {"topics": ["sudan"], "limit": 5}, {"kind": "event", "limit": 12},
    {"since": NOW - timedelta(days=200), "until": NOW - timedelta(days=150)},
    {"topics": ["gaza", "ukraine"], "since": NOW - timedelta(days=100), "limit": 9},
    {"victim": "civilians", "category": "killed", "limit": 6}, {"claimant": "", "limit": 4},
    {"topics": ["nowhere"]}, {"until": NOW - timedelta(days=270)},
])
def test_fact_queries_match_the_whole_history(stores: tuple[TinyStore, TinyStore], query: dict) -> None:  # type: ignore[type-arg]
    window, everything = stores
    assert _ids(window.facts(**query)) == _ids(everything.facts(**query))


def test_lookups_reach_old_partitions(stores: tuple[TinyStore, TinyStore]) -> None:
    window, everything = stores
    oldest = everything.facts()[-1]
    assert window.fact(oldest.id) == oldest
    assert window.fact(oldest.id[:6]) == everything.fact(oldest.id[:6])
    assert window.fact("abcd") == everything.fact("abcd")
    for seq in (0, 100, 200):
        assert _ids(window.facts_after(seq)) == _ids(everything.facts_after(seq))
        assert _ids(window.facts_after(seq, topics=["gaza"])) == _ids(everything.facts_after(seq, topics=["gaza"]))
    assert window.article("https://h/79") == everything.article("https://h/79") is not None
    assert window.article_by_guid("g78") == everything.article_by_guid("g78") is not None
    hashed = everything.article("https://h/77")
    assert hashed is not None and window.article_by_hash(hashed.text_hash) == hashed
    assert window.story_articles("s3") == everything.story_articles("s3")
    assert window.recent_articles(limit=1000) == everything.recent_articles(limit=1000)
    assert window.recent_articles(topics=["sudan"], limit=3) == everything.recent_articles(topics=["sudan"], limit=3)


@pytest.mark.parametrize("words", ["killed", "Rafah injured", "report 79", "Khartoum strike", "nothing-here"])
def test_search_covers_all_history(stores: tuple[TinyStore, TinyStore], words: str) -> None:
    window, everything = stores
    assert _ids(window.search(words)) == _ids(everything.search(words))
    assert _ids(window.search(words, topics=["gaza"], limit=3)) == _ids(everything.search(words, topics=["gaza"],
                                                                                          limit=3))


def test_editing_an_old_article_loads_its_partition_and_keeps_seq(tmp_path: Path) -> None:
    _history(tmp_path)
    store = TinyStore.open_sync(tmp_path, hot_weeks=2)
    old = store.article("https://h/75")
    assert old is not None and "https://h/75" not in store._parts.articles  # not loaded
    before = {f.id: f.seq for f in store.facts() if f.article.url == old.url}
    result = store.commit_sync(Batch(articles=(ArticleFacts(
        article(old.url, published=old.published, topics=old.topics, text="edited", title=old.title),
        (casualty(1, quote="75 people were killed in an edit."), event("A new event", date=None))),),))
    assert (result.new_articles, result.updated_articles) == (0, 1)
    for s in (store, TinyStore.open_sync(tmp_path, hot_weeks=2)):
        after = {f.id: f.seq for f in s.facts() if f.article.url == old.url}
        assert len(after) == 2 and not set(after) & set(before)
        assert s.stats()["articles"] == 80


def test_reads_disk_tells_an_old_range_from_the_loaded_weeks(stores: tuple[TinyStore, TinyStore]) -> None:
    window, _ = stores
    assert not window.reads_disk(since=NOW - timedelta(days=7))
    assert not window.reads_disk(limit=5)  # the loaded weeks hold the newest five
    old = NOW - timedelta(days=200)
    # an old range: the loaded weeks hold plenty of facts, but none in the range (a 1.1 s ack on the loop)
    assert window.reads_disk(since=old, until=old + timedelta(days=30), limit=5)
    assert window.reads_disk(until=old, limit=5)
    assert window.reads_disk()  # a search over all history
