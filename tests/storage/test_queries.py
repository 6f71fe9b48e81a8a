"""The queries commands ask: filters, id prefixes, word search, digests' facts_after, and edits."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.model import Casualty, Territory
from storage.api import ArticleFacts, Batch, Store, fact_id
from storage.tinydb.store import TinyStore
from tests.conftest import StoreSpec
from tests.storage._helpers import T0, article, casualty, event, facts_batch


@pytest.fixture
def store(store_spec: StoreSpec) -> Store:
    s = store_spec.open_sync()
    s.commit_sync(Batch(articles=(
        ArticleFacts(article("https://a/1", published=T0, topics=("gaza",)),
                     (casualty(12, victim="civilians", claimant="Gaza health ministry"),
                      casualty(3, category="injured", victim="soldiers", claimant="IDF"),
                      event("Strike on Rafah crossing"))),
        ArticleFacts(article("https://a/2", published=T0 - timedelta(days=20), topics=("ukraine",)),
                     (casualty(40, victim="soldiers", claimant="Ukraine"),
                      casualty(7, victim="civilians", claimant=None))),
        ArticleFacts(article("https://a/3", published=T0 - timedelta(days=60), topics=("gaza", "ukraine")),
                     (event("Talks resume in Cairo", actors=("Egypt", "Qatar")),)),
        ArticleFacts(article("https://a/4", published=None, topics=("sudan",)),
                     (casualty(100, category="displaced", victim="civilians", claimant="UNHCR"),)),
    )))
    return s


def _files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def urls(facts: list) -> list[str]:
    return [f.article.url for f in facts]


def test_all_facts_newest_article_first(store: Store) -> None:
    # a/4 has no publication time: it sorts by stored_at (now), so it is the newest
    assert urls(store.facts()) == ["https://a/4"] + ["https://a/1"] * 3 + ["https://a/2"] * 2 + ["https://a/3"]


def test_filter_by_topic(store: Store) -> None:
    assert set(urls(store.facts(topics=["gaza"]))) == {"https://a/1", "https://a/3"}
    assert len(store.facts(topics=["gaza", "ukraine"])) == 6  # a/3 is in both and counted once
    assert store.facts(topics=["nowhere"]) == []
    assert store.facts(topics=[]) == []


def test_filter_by_time(store: Store) -> None:
    assert set(urls(store.facts(since=T0 - timedelta(days=30), until=T0))) == {"https://a/1", "https://a/2"}
    assert set(urls(store.facts(topics=["gaza"], since=T0 - timedelta(days=7)))) == {"https://a/1"}
    assert urls(store.facts(until=T0 - timedelta(days=30))) == ["https://a/3"]
    assert store.facts(since=T0 + timedelta(days=365 * 50)) == []


def test_filter_by_kind_category_victim_claimant(store: Store) -> None:
    assert {f.fact.summary for f in store.facts(kind="event")} == {  # type: ignore[union-attr]
        "Strike on Rafah crossing", "Talks resume in Cairo"}
    assert len(store.facts(kind="casualty")) == 5
    assert [f.fact.count for f in store.facts(category="injured")] == [3]  # type: ignore[union-attr]
    assert sorted(f.fact.count for f in store.facts(victim="CIVILIANS")) == [7, 12, 100]  # type: ignore[union-attr]
    assert [f.fact.count for f in store.facts(claimant="ukraine")] == [40]  # type: ignore[union-attr]
    assert [f.fact.count for f in store.facts(claimant="")] == [7]  # unattributed  # type: ignore[union-attr]
    assert [f.fact.count for f in store.facts(topics=["ukraine"], victim="soldiers",  # type: ignore[union-attr]
                                              kind="casualty", category="killed")] == [40]


def test_limit(store: Store) -> None:
    assert store.facts(limit=2) == store.facts()[:2]
    assert len(store.facts(kind="casualty", limit=1)) == 1


def test_fact_by_id_and_prefix(store: Store) -> None:
    stored = store.facts(claimant="IDF")[0]
    assert store.fact(stored.id) == stored
    assert store.fact(stored.id[:6]) == stored
    assert store.fact(" " + stored.id[:5].upper() + " ") == stored  # typed by a person
    assert store.fact(stored.id[:3]) is None  # too short to look up
    assert store.fact("zzzzzzzzzz") is None


def test_ambiguous_prefix_finds_nothing(store_spec: StoreSpec) -> None:
    # find two facts whose ids share their first 4 characters (fact_id is deterministic: so is this)
    seen: dict[str, Casualty] = {}
    for n in range(100_000):
        c = casualty(n)
        prefix = fact_id("https://p/1", c)[:4]
        if prefix in seen:
            pair = (seen[prefix], c)
            break
        seen[prefix] = c
    store = store_spec.open_sync()
    store.commit_sync(facts_batch("https://p/1", pair))
    a, b = (fact_id("https://p/1", c) for c in pair)
    assert store.fact(a[:4]) is None  # ambiguous
    longest_common = next(i for i in range(10) if a[i] != b[i])
    assert store.fact(a[: longest_common + 1]).id == a  # type: ignore[union-attr]
    assert store.fact(b).id == b  # type: ignore[union-attr]


def test_search_folds_case_and_accents(store_spec: StoreSpec) -> None:
    store = store_spec.open_sync()
    store.commit_sync(facts_batch("https://s/1", [casualty(5, quote="Cinq soldats tués près de Zaporijjia, Pakistán.")],
                                  title="Frappe à Kherson"))
    store.commit_sync(facts_batch("https://s/2", [casualty(6, quote="Six soldiers killed near Pakistan border.")]))
    assert set(urls(store.search("PAKISTAN"))) == {"https://s/1", "https://s/2"}
    assert urls(store.search("tues pakistán")) == ["https://s/1"]
    assert urls(store.search("kherson")) == ["https://s/1"]  # the article title counts
    assert urls(store.search("Reuters soldiers")) == ["https://s/2"]  # the outlet too
    assert store.search("pakistan nowhere") == []
    assert store.search("  ,; ") == []
    assert store.search("pakistan", topics=["ukraine"]) == []
    assert len(store.search("pakistan", limit=1)) == 1


def test_edited_article_replaces_facts_keeping_unchanged_seq(store_spec: StoreSpec) -> None:
    store = store_spec.open_sync()
    kept, dropped, added = casualty(10), casualty(20), casualty(30)
    store.commit_sync(facts_batch("https://e/1", [kept, dropped], text="v1"))
    before = {f.fact: f for f in store.facts()}
    result = store.commit_sync(facts_batch("https://e/1", [kept, added], text="v2", title="Updated title"))
    assert (result.updated_articles, result.new_facts, result.removed_facts) == (1, 1, 1)
    for s in (store, store_spec.open_sync()):
        after = {f.fact: f for f in s.facts()}
        assert set(after) == {kept, added}
        assert after[kept].seq == before[kept].seq and after[kept].id == before[kept].id
        assert after[kept].article.title == "Updated title"
        assert after[added].seq > max(f.seq for f in before.values())
        assert s.fact(before[dropped].id) is None
        assert s.article("https://e/1").title == "Updated title"  # type: ignore[union-attr]
        # the digest announces only the new fact
        assert [f.fact for f in s.facts_after(max(f.seq for f in before.values()))] == [added]


def test_same_text_hash_is_a_no_op(store_spec: StoreSpec) -> None:
    store = store_spec.open_sync()
    store.commit_sync(facts_batch("https://n/1", [casualty(1)], text="same"))
    files = _files(store_spec.data_dir)
    facts = store.facts()
    result = store.commit_sync(facts_batch("https://n/1", [casualty(2), casualty(3)], text="same", title="Other"))
    assert (result.new_articles, result.updated_articles, result.new_facts) == (0, 0, 0)
    assert store.facts() == facts
    assert _files(store_spec.data_dir) == files  # TinyDB: no new generation written


def test_backlog_is_stored_but_not_announced(store_spec: StoreSpec) -> None:
    store = store_spec.open_sync()
    store.commit_sync(facts_batch("https://b/1", [casualty(1), casualty(2)], backlog=True))
    store.commit_sync(facts_batch("https://b/2", [casualty(3)]))
    for s in (store, store_spec.open_sync()):
        assert len(s.facts()) == 3
        assert len(s.search("people")) == 3
        assert [f.fact.count for f in s.facts_after(0)] == [3]  # type: ignore[union-attr]


def test_facts_after_is_oldest_first_and_filters_topics(store_spec: StoreSpec) -> None:
    store = store_spec.open_sync()
    store.commit_sync(facts_batch("https://f/1", [casualty(1)], topics=("gaza",)))
    mark = store.last_seq
    store.commit_sync(facts_batch("https://f/2", [casualty(2)], topics=("ukraine",)))
    store.commit_sync(facts_batch("https://f/3", [casualty(3)], topics=("gaza",)))
    assert [f.fact.count for f in store.facts_after(mark)] == [2, 3]  # type: ignore[union-attr]
    assert [f.fact.count for f in store.facts_after(mark, topics=["gaza"])] == [3]  # type: ignore[union-attr]
    assert store.facts_after(store.last_seq) == []


def test_seq_keeps_growing_across_reopen_and_removals(store_spec: StoreSpec) -> None:
    store = store_spec.open_sync()
    store.commit_sync(facts_batch("https://q/1", [casualty(1), casualty(2)], text="v1"))
    top = store.last_seq
    # the edit removes the newest fact: its seq must never be handed out again, even after a reopen
    store.commit_sync(facts_batch("https://q/1", [casualty(1)], text="v2"))
    store = store_spec.open_sync()
    assert store.last_seq == top
    result = store.commit_sync(facts_batch("https://q/2", [casualty(9)]))
    assert result.last_seq == top + 1
    assert store.facts(victim="civilians", limit=1)[0].seq == top + 1
    seqs = [f.seq for f in store_spec.open_sync().facts()]
    assert len(seqs) == len(set(seqs))


def test_recent_articles_and_lookups(store: Store) -> None:
    recent = store.recent_articles(limit=2)
    # newest first by publication time; a/4 has none and counts from when it was fetched (T0, as a/1)
    assert {a.url for a in recent} == {"https://a/1", "https://a/4"}
    assert [a.url for a in store.recent_articles()][2:] == ["https://a/2", "https://a/3"]
    assert [a.url for a in store.recent_articles(topics=["ukraine"])] == ["https://a/2", "https://a/3"]
    a1 = store.article("https://a/1")
    assert a1 is not None and store.article_by_hash(a1.text_hash) == a1
    assert store.article("https://nope") is None


def test_guid_and_story_lookups(store_spec: StoreSpec) -> None:
    store = store_spec.open_sync()
    store.commit_sync(Batch(articles=(
        ArticleFacts(article("https://g/1", guid="guid-1", story_id="st"), (casualty(1),)),
        ArticleFacts(article("https://g/2", published=T0 - timedelta(hours=1), story_id="st"), (casualty(1),)),
    )))
    for s in (store, store_spec.open_sync()):
        assert s.article_by_guid("guid-1").url == "https://g/1"  # type: ignore[union-attr]
        assert [a.url for a in s.story_articles("st")] == ["https://g/2", "https://g/1"]
        assert all(f.story_id == "st" for f in s.facts())
    assert store.stats()["facts"] == 2 and store.stats()["articles"] == 2


async def test_search_index_is_built_lazily_or_warmed_and_kept_in_step(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from bot.model import Article, Event
    from storage import ArticleFacts, Batch, TinyStore

    def article(n: int, words: str) -> ArticleFacts:
        a = Article(url=f"https://x.test/{n}", outlet="Wire", title=f"Story {n}", source_id="s",
                    published=datetime(2025, 10, n, tzinfo=UTC), text_hash=f"h{n}", topics=("t",))
        return ArticleFacts(a, (Event(summary=words, quote=words, date="2025-10-01", date_precision="day"),))

    store = await TinyStore.open(tmp_path)
    await store.commit(Batch(articles=(article(1, "Shelling near Kharlachi crossing"),)))
    reopened = await TinyStore.open(tmp_path)
    await reopened.warm_search()
    await reopened.commit(Batch(articles=(article(2, "Talks resume in Doha"),)))
    assert [f.fact.summary for f in reopened.search("kharlachi")] == ["Shelling near Kharlachi crossing"]
    assert [f.fact.summary for f in reopened.search("doha talks")] == ["Talks resume in Doha"]
    lazy = await TinyStore.open(tmp_path)  # never warmed: the first search builds the index
    assert len(lazy.search("crossing")) == 1


async def test_search_of_a_loaded_week_follows_edits(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from tests.storage._helpers import event

    now = datetime.now(UTC)
    store = await TinyStore.open(tmp_path)
    await store.commit(facts_batch("https://w/1", [event("Shelling near Kharlachi"), event("Curfew in Doha")],
                                   published=now, title="First report"))
    await store.warm_search()
    assert len(store.search("kharlachi")) == 1
    # an edit drops one fact, keeps the other (same id, new title) and adds one
    await store.commit(facts_batch("https://w/1", [event("Curfew in Doha"), event("Talks resume in Geneva")],
                                   published=now, title="Updated report", text="v2"))
    assert store.search("kharlachi") == []
    assert [f.article.title for f in store.search("doha curfew")] == ["Updated report"]  # once, as it is now
    assert [f.fact.summary for f in store.search("geneva")] == ["Talks resume in Geneva"]
    assert [f.fact.summary for f in store.search("updated report", limit=5)] == [
        "Talks resume in Geneva", "Curfew in Doha"]  # both facts, newest seq first


@pytest.mark.parametrize("at_once", [True, False])  # TinyDB: small files parsed in one call, big ones streamed
def test_claims_are_each_casualty_and_territory_fact_of_the_topics_once(store: Store, store_spec: StoreSpec,
                                                                        at_once: bool,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """What an export reads (one pass): claims only, no events, of any of the topics, each once, since a date; the
    same from a store opened afresh, whose old weeks (TinyDB) are read from their files."""
    import storage.tinydb._partitions

    monkeypatch.setattr(storage.tinydb._partitions, "AT_ONCE_BYTES", 1 << 20 if at_once else 0)
    posts = Territory(action="taken", object="posts", count=21, qualifier="more_than", by_side="Pakistan",
                      from_side="Afghanistan (Taliban)", claimant="Pakistan", quote="The army took more than 21 posts.")
    store.commit_sync(facts_batch("https://a/5", [posts, event("Border closed")], published=T0 - timedelta(days=90),
                                  topics=("gaza", "ukraine")))
    expected = {f.id for f in store.facts(topics=["gaza", "ukraine"]) if f.fact.kind != "event"}
    assert len(expected) == 5  # a/1's two casualties, a/2's two, a/5's territory claim (in both topics)
    store.close_sync()
    for reopened in (store_spec.open_sync(), store_spec.open_sync(read_only=True)):
        claims = reopened.claims(topics=["gaza", "ukraine"])
        assert sorted(f.id for f in claims) == sorted(expected)
        assert {f.id: f for f in claims} == {f.id: f for f in reopened.facts(topics=["gaza", "ukraine"])
                                             if f.id in expected}  # the very facts, with their articles
        assert {f.article.url for f in reopened.claims(topics=["ukraine"], since=T0 - timedelta(days=30))} == {
            "https://a/2"}
        assert reopened.claims(topics=["sudan"])[0].fact.category == "displaced"  # type: ignore[union-attr]
        assert reopened.claims(topics=[]) == [] and reopened.claims(topics=["nowhere"]) == []
        reopened.close_sync()
