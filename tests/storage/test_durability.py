"""What survives a reopen, what is refused, and what a failed write leaves behind: nothing."""

from __future__ import annotations

import errno
import json
import os
from datetime import datetime
from pathlib import Path

import pytest

import storage.tinydb._files
from bot.errors import StoreError
from bot.model import GuildSettings, SourceState, Topic
from storage import TinyStore
from storage.api import ArticleFacts, Batch
from storage.tinydb._lock import LOCK_FILE
from storage.tinydb.store import MANIFEST, partition_of
from storage.tinydb.store import TinyStore as Store
from tests.storage._helpers import T0, article, casualty, event, facts_batch, snapshot


def _state_of(store: Store) -> tuple:
    return (sorted(store.facts(), key=lambda f: f.id), store.recent_articles(limit=10**6), store.all_sources(),
            store.topics(), store.guilds(), store.stats())


def _populated(directory: Path) -> Store:
    store = TinyStore.open_sync(directory)
    store.commit_sync(Batch(
        articles=(ArticleFacts(article("https://d/1"), (casualty(1), event("Ceasefire announced"))),
                  ArticleFacts(article("https://d/2", published=T0.replace(year=2024)), (casualty(2),))),
        sources=(SourceState(id="reuters", name="Reuters", url="https://reuters/feed"),),
        topics=(Topic(id="gaza", name="Gaza", keywords=("gaza",), guild_id=7),),
        guilds=(GuildSettings(guild_id=7, digest_channel_id=99),),
    ))
    return store


def test_empty_store_opens_and_empty_batch_writes_nothing(tmp_path: Path) -> None:
    store = TinyStore.open_sync(tmp_path / "new")
    assert store.facts() == [] and store.guilds() == [] and store.last_seq == 0
    assert store.guild(5) == GuildSettings(guild_id=5)
    assert store.commit_sync(Batch()).last_seq == 0
    assert [p.name for p in (tmp_path / "new").iterdir()] == [LOCK_FILE]  # the writer lock, and no data


async def test_async_open_and_commit(tmp_path: Path) -> None:
    store = await TinyStore.open(tmp_path)
    result = await store.commit(facts_batch("https://x/1", [casualty(1), casualty(2)]))
    assert (result.new_articles, result.new_facts, result.last_seq) == (1, 2, 2)
    await store.close()
    await store.close()
    with pytest.raises(StoreError):
        await store.commit(facts_batch("https://x/2", [casualty(1)]))
    assert len((await TinyStore.open(tmp_path)).facts()) == 2


def test_sources_topics_guilds_upserts_and_removals_survive_reopen(tmp_path: Path) -> None:
    store = _populated(tmp_path)
    store.commit_sync(Batch(
        sources=(SourceState(id="reuters", name="Reuters", url="https://reuters/feed", etag='"abc"',
                             consecutive_failures=2, last_attempt=T0),
                 SourceState(id="mine", name="Mine", url="https://mine/feed", guild_id=7)),
        topics=(Topic(id="sudan", name="Sudan", keywords=("darfur",), guild_id=8),),
        guilds=(GuildSettings(guild_id=7, digest_channel_id=100, digest_watermark=3), GuildSettings(guild_id=8)),
    ))
    store.commit_sync(Batch(remove_sources=("mine", "never-existed"), remove_topics=("7:gaza",)))
    for s in (store, TinyStore.open_sync(tmp_path)):
        assert [x.id for x in s.all_sources()] == ["reuters"]
        assert s.source("reuters").etag == '"abc"'  # type: ignore[union-attr]
        assert s.source("reuters").last_attempt == T0  # type: ignore[union-attr]
        assert [t.key for t in s.topics()] == ["8:sudan"]
        assert s.topics(7) == []
        assert s.guild(7).digest_channel_id == 100 and s.guild(7).digest_watermark == 3
        assert sorted(g.guild_id for g in s.guilds()) == [7, 8]
        assert len(s.facts()) == 3  # state changes leave the facts alone


def test_guild_sources_are_private(tmp_path: Path) -> None:
    store = TinyStore.open_sync(tmp_path)
    store.commit_sync(Batch(sources=(SourceState(id="cfg", name="C", url="u"),
                                     SourceState(id="g1", name="G1", url="u1", guild_id=1),
                                     SourceState(id="g2", name="G2", url="u2", guild_id=2))))
    assert {s.id for s in store.sources(1)} == {"cfg", "g1"}
    assert {s.id for s in store.sources()} == {"cfg"}
    assert {s.id for s in store.all_sources()} == {"cfg", "g1", "g2"}


def test_writes_touch_only_their_partitions(tmp_path: Path) -> None:
    store = _populated(tmp_path)
    before = snapshot(tmp_path)
    store.commit_sync(facts_batch("https://d/3", [casualty(3)]))
    after = snapshot(tmp_path)
    week = partition_of(T0)  # d/1 and d/3 are published in the same week
    assert after.keys() - before.keys() == {f"{week}.g2.json", f"{week}.sum.g2.json"}  # the week and its summary
    assert before.keys() - after.keys() == {f"{week}.g1.json", f"{week}.sum.g1.json"}  # old generation collected
    for name in before.keys() & after.keys() - {MANIFEST}:
        assert before[name] == after[name]


def test_migration_from_v0(tmp_path: Path) -> None:
    # version 0: one stock TinyDB file (written by hand here: tests do not import tinydb)
    url = "https://old/1"
    v0 = {
        "articles": {"1": {"url": url, "outlet": "AP", "title": "Old news", "published": "2024-05-01T10:00:00+00:00",
                           "source_id": "ap", "text_hash": "h1", "topics": ["gaza"]}},
        "facts": {"1": {"url": url, "fact": {"kind": "casualty", "category": "killed", "count": 4,
                                             "qualifier": "exact", "quote": "Four were killed.",
                                             "claimant": "AP"}},
                  "2": {"url": url, "fact": {"kind": "event", "summary": "Truce", "quote": "A truce began.",
                                             "date": "2024-05-01", "date_precision": "day", "actors": ["A", "B"]}}},
        "sources": {"1": {"id": "ap", "name": "AP", "url": "https://ap/feed", "etag": "e1"}},
        "topics": {"1": {"id": "gaza", "name": "Gaza", "keywords": ["gaza", "rafah"], "guild_id": 3}},
        "guilds": {"1": {"guild_id": 3, "digest_channel_id": 42, "digest_enabled": True}},
    }
    (tmp_path / "sitrep.json").write_text(json.dumps(v0), encoding="utf-8")
    store = TinyStore.open_sync(tmp_path)
    assert not (tmp_path / "sitrep.json").exists()
    assert json.loads((tmp_path / "sitrep.json.v0-migrated").read_text()) == v0  # kept, never deleted
    assert json.loads((tmp_path / MANIFEST).read_text())["schema"] == Store.SCHEMA_VERSION
    for s in (store, TinyStore.open_sync(tmp_path)):
        assert s.article(url).published == datetime.fromisoformat("2024-05-01T10:00:00+00:00")  # type: ignore[union-attr]
        facts = {f.kind: f for f in s.facts()}
        assert facts["casualty"].fact.count == 4  # type: ignore[union-attr]
        assert facts["event"].fact.actors == ("A", "B")  # type: ignore[union-attr]
        assert s.facts_after(0) == []  # migrated history is backlog: never announced again
        assert s.source("ap").etag == "e1"  # type: ignore[union-attr]
        assert s.topics(3)[0].keywords == ("gaza", "rafah")
        assert s.guild(3).digest_channel_id == 42 and s.guild(3).digest_enabled


def test_corrupt_v0_file_is_refused_and_kept(tmp_path: Path) -> None:
    (tmp_path / "sitrep.json").write_text('{"articles": {"1": {"url": ', encoding="utf-8")
    before = snapshot(tmp_path)
    with pytest.raises(StoreError, match="corrupt"):
        TinyStore.open_sync(tmp_path)
    assert snapshot(tmp_path) == before


def test_newer_schema_is_refused_and_nothing_touched(tmp_path: Path) -> None:
    _populated(tmp_path)
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    manifest["schema"] = Store.SCHEMA_VERSION + 1
    (tmp_path / MANIFEST).write_text(json.dumps(manifest))
    (tmp_path / f"{partition_of(T0)}.g9.json").write_text("{}")  # would be garbage to a v1 store: must stay
    before = snapshot(tmp_path)
    with pytest.raises(StoreError, match="newer"):
        TinyStore.open_sync(tmp_path)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("damage", ["truncate", "garbage", "not-an-object", "wrong-shape"])
@pytest.mark.parametrize("target", ["manifest", "partition", "state"])
def test_corrupt_file_is_refused_and_left_untouched(tmp_path: Path, target: str, damage: str) -> None:
    _populated(tmp_path)
    files = json.loads((tmp_path / MANIFEST).read_text())["files"]
    name = {"manifest": MANIFEST, "partition": files[partition_of(T0)], "state": files["state"]}[target]
    path = tmp_path / name
    data = path.read_bytes()
    path.write_bytes({"truncate": data[: len(data) // 2], "garbage": b"\x00\xff{{", "not-an-object": b"[1, 2]",
                      "wrong-shape": b'{"facts": {"1": {"id": "x"}}, "sources": {"1": {"name": 3}}, "files": 1}',
                      }[damage])
    (tmp_path / f"{partition_of(T0)}.g9.json").write_text("{}")  # an unreferenced file: must not be collected
    before = snapshot(tmp_path)
    with pytest.raises(StoreError, match="corrupt"):
        TinyStore.open_sync(tmp_path)
    assert snapshot(tmp_path) == before


def test_partition_named_by_manifest_but_missing_is_refused(tmp_path: Path) -> None:
    _populated(tmp_path)
    files = json.loads((tmp_path / MANIFEST).read_text())["files"]
    (tmp_path / files[partition_of(T0.replace(year=2024))]).unlink()
    before = snapshot(tmp_path)
    with pytest.raises(StoreError):
        TinyStore.open_sync(tmp_path)
    assert snapshot(tmp_path) == before


def test_leftovers_of_an_uncommitted_batch_are_removed_on_open(tmp_path: Path) -> None:
    store = _populated(tmp_path)
    state = _state_of(store)
    (tmp_path / f"{partition_of(T0)}.g2.json").write_text('{"articles": {}, "facts": {}}')  # never committed
    (tmp_path / ".manifest.json.tmp").write_text("{")
    (tmp_path / "notes.txt").write_text("mine")  # not ours: never touched
    reopened = TinyStore.open_sync(tmp_path)
    assert _state_of(reopened) == state
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [LOCK_FILE, "manifest.json", "notes.txt", "state.g1.json",
         *(f"{partition_of(when)}{kind}.g1.json" for when in (T0, T0.replace(year=2024)) for kind in ("", ".sum"))])


@pytest.mark.parametrize("failing", ["fsync", "replace-manifest", "replace-partition"])
def test_disk_full_changes_nothing_and_store_stays_usable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          failing: str) -> None:
    store = _populated(tmp_path)
    state, before = _state_of(store), snapshot(tmp_path)
    real_replace = os.replace

    def full(*_: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def replace(src: str | Path, dst: str | Path) -> None:
        target = Path(dst).name
        if (failing == "replace-manifest") == (target == MANIFEST):
            full()
        real_replace(src, dst)

    if failing == "fsync":
        monkeypatch.setattr(storage.tinydb._files.os, "fsync", full)
    else:
        monkeypatch.setattr(storage.tinydb._files.os, "replace", replace)
    batch = Batch(articles=(ArticleFacts(article("https://d/9"), (casualty(9),)),
                            ArticleFacts(article("https://d/8", published=T0.replace(year=2023)), (casualty(8),))),
                  guilds=(GuildSettings(guild_id=7, digest_watermark=50),))
    with pytest.raises(StoreError, match="No space left"):
        store.commit_sync(batch)
    assert _state_of(store) == state
    assert snapshot(tmp_path) == before
    monkeypatch.undo()
    result = store.commit_sync(batch)
    assert result.new_facts == 2 and store.guild(7).digest_watermark == 50
    assert _state_of(TinyStore.open_sync(tmp_path)) == _state_of(store)


async def test_disk_full_async_commit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = _populated(tmp_path)
    state, before = _state_of(store), snapshot(tmp_path)

    def full(*_: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(storage.tinydb._files.os, "fsync", full)
    with pytest.raises(StoreError):
        await store.commit(facts_batch("https://d/9", [casualty(9)]))
    assert _state_of(store) == state and snapshot(tmp_path) == before
    monkeypatch.undo()
    assert (await store.commit(facts_batch("https://d/9", [casualty(9)]))).new_facts == 1


class Opaque:
    pass


@pytest.mark.parametrize("bad", [
    "naive-published", "naive-guild-time", "object-in-fact", "object-in-source",
])
def test_unserialisable_values_are_rejected_before_anything_is_written(tmp_path: Path, bad: str) -> None:
    store = _populated(tmp_path)
    state, before = _state_of(store), snapshot(tmp_path)
    good = ArticleFacts(article("https://ok/1", published=T0.replace(year=2022)), (casualty(5),))
    batch = {
        "naive-published": Batch(articles=(good, ArticleFacts(article("https://u/1", published=datetime(2025, 1, 1)),
                                                              (casualty(1),)))),
        "naive-guild-time": Batch(articles=(good,),
                                  guilds=(GuildSettings(guild_id=7, last_digest_at=datetime(2025, 1, 1)),)),
        "object-in-fact": Batch(articles=(good, ArticleFacts(article("https://u/2"),
                                                             (casualty(1, victim=Opaque()),)))),  # type: ignore[arg-type]
        "object-in-source": Batch(articles=(good,), sources=(SourceState(id="s", name="S", url="u",
                                                                         etag=Opaque()),)),  # type: ignore[arg-type]
    }[bad]
    with pytest.raises(StoreError, match="refusing"):
        store.commit_sync(batch)
    assert _state_of(store) == state
    assert snapshot(tmp_path) == before


def test_monthly_partitions_of_earlier_versions_still_load_and_stay(tmp_path: Path) -> None:
    store = _populated(tmp_path)
    state = _state_of(store)
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    week = partition_of(T0)
    os.replace(tmp_path / manifest["files"][week], tmp_path / "facts-2025-03.g1.json")  # as an older version wrote
    manifest["files"]["facts-2025-03"] = "facts-2025-03.g1.json"
    del manifest["files"][week]
    (tmp_path / MANIFEST).write_text(json.dumps(manifest))
    reopened = TinyStore.open_sync(tmp_path)
    assert _state_of(reopened)[:5] == state[:5]
    reopened.commit_sync(facts_batch("https://d/9", [casualty(9)]))
    again = TinyStore.open_sync(tmp_path)
    assert again.fact(next(f.id for f in again.facts() if f.article.url == "https://d/9")) is not None
    assert (tmp_path / "facts-2025-03.g1.json").exists()  # still named by the manifest: never collected


def _as_schema_1(directory: Path) -> None:
    """Rewrite a store as schema 1 wrote it: week partitions and no summaries."""
    manifest = json.loads((directory / MANIFEST).read_text())
    for part in [p for p in manifest["files"] if p.endswith(".sum")]:
        (directory / manifest["files"].pop(part)).unlink()
    manifest["schema"] = 1
    (directory / MANIFEST).write_text(json.dumps(manifest))


def test_schema_1_store_gets_its_summaries_on_open(tmp_path: Path) -> None:
    state = _state_of(_populated(tmp_path))
    _as_schema_1(tmp_path)
    before = snapshot(tmp_path)
    reader = TinyStore.open_sync(tmp_path, read_only=True)  # summarised in memory only
    assert _state_of(reader) == state and snapshot(tmp_path) == before
    reopened = TinyStore.open_sync(tmp_path)
    assert _state_of(reopened) == state
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert manifest["schema"] == Store.SCHEMA_VERSION
    assert {p for p in manifest["files"] if p.endswith(".sum")} == {
        f"{partition_of(T0)}.sum", f"{partition_of(T0.replace(year=2024))}.sum"}
    for name in before:  # the partitions themselves are not rewritten
        if name != MANIFEST:
            assert (tmp_path / name).read_bytes() == before[name][0]
    assert _state_of(TinyStore.open_sync(tmp_path)) == state


def test_damaged_old_partition_of_the_same_size_is_refused_when_read(tmp_path: Path) -> None:
    _populated(tmp_path)
    files = json.loads((tmp_path / MANIFEST).read_text())["files"]
    path = tmp_path / files[partition_of(T0)]
    path.write_bytes(b"[" + b" " * (path.stat().st_size - 2) + b"]")  # same size: only reading finds it
    before = snapshot(tmp_path)
    store = TinyStore.open_sync(tmp_path, hot_weeks=1)  # T0 is long past: its week is read on demand
    with pytest.raises(StoreError, match="corrupt"):
        store.facts()
    assert snapshot(tmp_path) == before


def test_commits_that_only_add_write_a_whole_tinydb_file(tmp_path: Path) -> None:
    store = TinyStore.open_sync(tmp_path)
    for i in range(4):  # the first writes the week, the next ones add to it, the last one edits
        store.commit_sync(facts_batch(f"https://a/{i % 3}", [casualty(i), casualty(i + 10)], text=f"v{i // 3}"))
    files = json.loads((tmp_path / MANIFEST).read_text())["files"]
    tables = json.loads((tmp_path / files[partition_of(T0)]).read_text())  # plain JSON, TinyDB's shape
    assert sorted(tables) == ["articles", "facts"]
    assert sorted(int(k) for k in tables["facts"]) == list(range(1, 7))
    assert sorted(d["url"] for d in tables["articles"].values()) == ["https://a/0", "https://a/1", "https://a/2"]
    assert {d["fact"]["count"] for d in tables["facts"].values()} == {1, 11, 2, 12, 3, 13}
    assert _state_of(TinyStore.open_sync(tmp_path)) == _state_of(store)
