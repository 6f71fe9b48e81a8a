"""Slash commands end to end: the real discord.py client, a fake Discord, facts polled from loopback."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from tests.client.conftest import GUILD_A, MEMBER, World
from tests.fakediscord import OWNER_ID


async def test_bot_logs_in_without_privileged_intents(world: World) -> None:
    intents = world.fake.identify["intents"]
    privileged = (1 << 1) | (1 << 8) | (1 << 15)  # members, presences, message content
    assert intents & privileged == 0
    assert {c["name"] for c in world.fake.commands} >= {"casualties", "territory", "incident", "timeline", "brief",
                                                        "fact", "search", "sources", "config"}


async def test_casualties_shows_contested_claims_side_by_side(world: World) -> None:
    reply = await world.fake.slash(GUILD_A, MEMBER, "casualties", {"topic": "pak-afg"})
    assert reply.callback_type == 4
    text = reply.text
    assert "40 Pakistani soldiers killed — claimed by Taliban government · Afghanistan (Taliban)" in text
    assert "admitted by Pakistan" in text
    assert "more than 150 Taliban fighters killed — claimed by Pakistan" in text
    assert reply.data["allowed_mentions"] == {"parse": []}


async def test_territory_claims_stand_with_their_claimant(world: World) -> None:
    reply = await world.fake.slash(GUILD_A, MEMBER, "territory", {"topic": "pak-afg"})
    assert reply.callback_type == 4
    assert "Claimed by Pakistan's military" in reply.text
    assert "19 posts destroyed by Pakistan" in reply.text
    assert "never added up" in reply.text
    week = await world.fake.slash(GUILD_A, MEMBER, "territory", {"topic": "pak-afg", "since": "7d"})
    assert week.callback_type == 4 and "in the last 7d" in week.text


async def test_incident_shows_a_contested_incident_with_both_claimants_and_its_note(world: World) -> None:
    choices = await world.fake.autocomplete(GUILD_A, MEMBER, "incident", "incident", "Kurram",
                                            others={"topic": "pak-afg"})
    two_outlets = next(c for c in choices if "(2 outlets)" in c["name"])
    reply = await world.fake.slash(GUILD_A, MEMBER, "incident", {"incident": two_outlets["value"], "topic": "pak-afg"})
    text = reply.text
    assert "Contested: claimants' figures for Pakistan killed differ" in text
    assert "40 Pakistani soldiers killed — claimed by Taliban government" in text
    assert "admitted by Pakistan's military" in text
    assert "Corroborated by 2 independent outlets" in text
    assert "Reported by 2 outlets" in text


async def test_every_read_command_answers_from_stored_facts(world: World) -> None:
    brief = await world.fake.slash(GUILD_A, MEMBER, "brief", {"topic": "sudan"})
    assert "El Fasher" in brief.text
    timeline = await world.fake.slash(GUILD_A, MEMBER, "timeline", {"topic": "pak-afg"})
    assert "<t:" in timeline.text  # exact days as Discord timestamps: every user sees their own time zone
    search = await world.fake.slash(GUILD_A, MEMBER, "search", {"words": "Kurram"})
    assert "Kurram" in search.text or "40 Pakistani soldiers" in search.text
    sources = await world.fake.slash(GUILD_A, MEMBER, "sources")
    assert "Frontier Wire · ok" in sources.text
    fact_id = re.search(r"`([a-z2-9]{10})`", timeline.text).group(1)
    provenance = await world.fake.slash(GUILD_A, MEMBER, "fact", {"id": fact_id})
    assert "Outlet:" in provenance.text and "http://127.0.0.1" in provenance.text


async def test_bad_option_gets_a_short_ephemeral_error(world: World) -> None:
    reply = await world.fake.slash(GUILD_A, MEMBER, "casualties", {"topic": "atlantis"})
    assert reply.ephemeral
    assert "unknown topic 'atlantis'" in reply.text
    reply = await world.fake.slash(GUILD_A, MEMBER, "timeline", {"from": "last tuesday"})
    assert reply.ephemeral and "YYYY" in reply.text
    reply = await world.fake.slash(GUILD_A, MEMBER, "fact", {"id": "nope"})
    assert reply.ephemeral and "no fact with id" in reply.text


async def test_topic_autocomplete(world: World) -> None:
    choices = await world.fake.autocomplete(GUILD_A, MEMBER, "casualties", "topic", "sud")
    assert choices == [{"name": "Sudan war", "value": "sudan"}]


async def test_answers_are_acknowledged_fast_while_a_poll_cycle_writes(world: World) -> None:
    import asyncio

    world.outlets.phase = 2
    cycle = asyncio.create_task(world.poller.run_cycle())
    replies = [await world.fake.slash(GUILD_A, MEMBER, "casualties", {"topic": "pak-afg"}) for _ in range(5)]
    await cycle
    assert all(r.callback_type == 4 for r in replies)
    assert max(r.ack_ms for r in replies) < 3000  # Discord's deadline; typically a few ms


async def test_long_answers_page_and_only_the_asker_can_turn_pages(world: World) -> None:
    from datetime import UTC, date, datetime, timedelta

    from bot.model import Article, Event
    from storage import ArticleFacts, Batch
    from tests.client.conftest import OTHER

    events = tuple(Event(summary=f"Clash number {i} near the crossing " + "with many details " * 8, quote=f"q{i}",
                         date=(date(2025, 1, 1) + timedelta(days=i)).isoformat(), date_precision="day")
                   for i in range(120))
    article = Article(url="https://example.org/long", outlet="Archive", title="Archive", source_id="x",
                      published=datetime.now(UTC) - timedelta(days=1), text_hash="long", topics=("pak-afg",))
    await world.store.commit(Batch(articles=(ArticleFacts(article, events),)))
    reply = await world.fake.slash(GUILD_A, MEMBER, "timeline", {"topic": "pak-afg"})
    message = reply.data
    buttons = [c for row in message["components"] for c in row["components"]]
    assert [b["custom_id"] for b in buttons] == ["sitrep:prev", "sitrep:next"]
    assert "page 1/" in message["embeds"][0]["footer"]["text"]
    original = world.fake.original_message(reply)
    refused = await world.fake.click(GUILD_A, OTHER, original, "sitrep:next")
    assert refused.callback_type == 4 and refused.ephemeral and "Only the person who asked" in refused.text
    turned = await world.fake.click(GUILD_A, MEMBER, original, "sitrep:next")
    assert turned.callback_type == 7  # the message itself is updated in place
    assert "page 2/" in turned.data["embeds"][0]["footer"]["text"]


async def test_only_the_owner_can_resync_commands_and_at_most_once_a_minute(world: World) -> None:
    before = world.fake.command_syncs
    refused = await world.fake.slash(GUILD_A, MEMBER, "sync")
    assert "Only the bot's owner" in refused.text and world.fake.command_syncs == before
    synced = await world.fake.slash(GUILD_A, OWNER_ID, "sync")
    assert "Synced" in synced.text and world.fake.command_syncs == before + 1
    again = await world.fake.slash(GUILD_A, OWNER_ID, "sync")
    assert "try again in" in again.text and world.fake.command_syncs == before + 1


async def test_casualties_chart_arrives_as_a_png_attachment_after_a_deferral(world: World) -> None:
    reply = await world.fake.slash(GUILD_A, MEMBER, "casualties", {"topic": "pak-afg", "chart": True},
                                   timeout=30)  # the first chart of a process loads matplotlib and its fonts
    assert reply.callback_type == 5 and reply.ack_ms < 3000  # deferred at once, drawn off the event loop
    message = reply.final
    (attachment,) = message["attachments"]
    assert attachment["filename"] == "casualties-pak-afg.png"
    assert 10_000 < attachment["size"] < 8 * 1024 * 1024  # a real image, within Discord's attachment limit
    assert "claimed by Taliban government · Afghanistan (Taliban)" in reply.text  # the text answer is there too
    assert message["allowed_mentions"] == {"parse": []}
    plain = await world.fake.slash(GUILD_A, MEMBER, "casualties", {"topic": "pak-afg"})
    assert plain.callback_type == 4 and not plain.final.get("attachments")


async def test_charts_asked_at_once_are_each_answered(world: World) -> None:
    import asyncio

    from tests.client.conftest import OTHER

    replies = await asyncio.gather(*(world.fake.slash(GUILD_A, user, "casualties", {"topic": topic, "chart": True},
                                                      timeout=30)
                                     for user, topic in ((MEMBER, "pak-afg"), (OTHER, "sudan"))))
    assert [r.callback_type for r in replies] == [5, 5]
    assert [r.final["attachments"][0]["filename"] for r in replies] == ["casualties-pak-afg.png",
                                                                        "casualties-sudan.png"]


async def test_search_index_is_ready_before_the_first_interaction(world: World,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # A /search that arrived before the word index existed built it on the event loop: 3-5 s at 100k facts,
    # so Discord showed "The application did not respond". The bot warms it before it connects.
    from storage.tinydb._index import FactIndex

    def no_build(self: FactIndex) -> None:
        raise AssertionError("the word index was built while answering an interaction")

    monkeypatch.setattr(FactIndex, "build_words", no_build)
    search = await world.fake.slash(GUILD_A, MEMBER, "search", {"words": "Kurram"})
    assert search.callback_type == 4 and "Kurram" in search.text


@pytest.mark.parametrize("driver", ["tinydb"])  # partitions are the TinyDB driver's
async def test_answers_from_old_partitions_are_read_off_the_loop(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    from datetime import UTC, datetime, timedelta

    import storage.tinydb._files
    from storage import ArticleFacts, Batch
    from tests.storage._helpers import article, casualty, facts_batch

    old = datetime.now(UTC) - timedelta(days=400)
    quote = "Seventeen were killed in Zanzibarville, the council said."
    await world.store.commit(Batch(articles=(ArticleFacts(
        article("https://old.example/1", published=old, topics=("pak-afg",)), (casualty(17, quote=quote),)),)))
    await world.store.commit(facts_batch("https://new.example/1", [casualty(2)], topics=("pak-afg",)))
    old_fact = next(f for f in world.store.facts(topics=["pak-afg"]) if f.fact.quote == quote)
    assert world.store.fact_reads_disk(old_fact.id)  # the old week was unloaded by the second commit

    readers: list[str] = []
    real_read = storage.tinydb._files.read_tables

    def read_tables(path: Path, **options):  # type: ignore[no-untyped-def]
        readers.append(threading.current_thread().name)
        return real_read(path, **options)

    monkeypatch.setattr(storage.tinydb._files, "read_tables", read_tables)
    world.store._parts.cold.clear()
    reply = await world.fake.slash(GUILD_A, MEMBER, "fact", {"id": old_fact.id})
    assert reply.callback_type == 5 and quote in reply.text  # deferred before the read, however quick it is
    search = await world.fake.slash(GUILD_A, MEMBER, "search", {"words": "Zanzibarville"})
    assert "Zanzibarville" in search.text
    assert readers and threading.main_thread().name not in readers
    recent = await world.fake.slash(GUILD_A, MEMBER, "casualties", {"topic": "pak-afg"})
    assert recent.callback_type == 4  # the last 30 days are in memory: answered directly


async def test_an_answer_that_reads_slowly_is_deferred_before_discords_3_s(world: World,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    import cogs.info

    monkeypatch.setattr(cogs.info, "ACK_WITHIN", 0.05)
    release = threading.Event()
    real = world.bot.briefing.search

    def slow(*args, **kwargs):  # type: ignore[no-untyped-def]
        assert release.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(world.bot.briefing, "search", slow)
    asyncio.get_running_loop().call_later(0.3, release.set)  # the read ends well after the deferral
    reply = await world.fake.slash(GUILD_A, MEMBER, "search", {"words": "Kurram"})
    assert reply.callback_type == 5 and reply.ack_ms < 300 and "Kurram" in reply.text


async def test_answers_from_memory_are_built_off_the_event_loop(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """A /casualties over the recent weeks takes ~60 ms of CPU at a million facts: built on the event loop, it held
    up every other interaction and the gateway meanwhile. It is built in a worker thread, and still answered
    directly (no "thinking" step) when it is ready within ACK_WITHIN."""
    import threading

    builders: list[str] = []
    real = world.bot.briefing.casualties

    def casualties(*args, **kwargs):  # type: ignore[no-untyped-def]
        builders.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(world.bot.briefing, "casualties", casualties)
    reply = await world.fake.slash(GUILD_A, MEMBER, "casualties", {"topic": "pak-afg"})
    assert reply.callback_type == 4 and "claimed by Pakistan" in reply.text
    assert builders and threading.main_thread().name not in builders


@pytest.mark.parametrize("driver", ["tinydb"])  # the commit's file write is the TinyDB driver's
async def test_commands_are_answered_while_a_commit_is_in_flight(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """A poll's commit stuck in its file write (a slow disk) holds up no answer: those over the recent weeks come
    directly, one that reads an old week is acknowledged at once and completed; the commit lands afterwards."""
    import threading
    from datetime import UTC, datetime, timedelta

    import storage.tinydb._files
    from storage import ArticleFacts, Batch
    from tests.storage._helpers import article, casualty, facts_batch

    quote = "Eleven were killed in Quietvale, the council said."
    await world.store.commit(Batch(articles=(ArticleFacts(article(
        "https://old.example/q", published=datetime.now(UTC) - timedelta(days=400), topics=("pak-afg",)),
        (casualty(11, quote=quote),)),)))
    await world.store.commit(facts_batch("https://new.example/q", [casualty(2)], topics=("pak-afg",)))
    old_fact = next(f for f in world.store.facts(topics=["pak-afg"]) if f.fact.quote == quote)

    writing, release = threading.Event(), threading.Event()
    real_write = storage.tinydb._files.write_atomic

    def slow_write(path: Path, data: bytes) -> None:
        writing.set()
        assert release.wait(10), "the test never released the commit"
        real_write(path, data)

    monkeypatch.setattr(storage.tinydb._files, "write_atomic", slow_write)
    commit = asyncio.ensure_future(world.store.commit(facts_batch("https://new.example/stuck", [casualty(5)],
                                                                  topics=("pak-afg",))))
    try:
        assert await asyncio.to_thread(writing.wait, 10)
        for name, options in [("casualties", {"topic": "pak-afg"}), ("timeline", {"topic": "pak-afg"}),
                              ("brief", {"topic": "pak-afg"}), ("search", {"words": "Kurram"}), ("sources", {})]:
            reply = await world.fake.slash(GUILD_A, MEMBER, name, options)
            assert reply.callback_type == 4 and reply.ack_ms < 1000, (name, reply.callback_type, reply.ack_ms)
        old = await world.fake.slash(GUILD_A, MEMBER, "fact", {"id": old_fact.id})
        assert old.callback_type == 5 and old.ack_ms < 1000 and quote in old.text
        assert not commit.done()  # all of it answered while the commit was still writing
    finally:
        release.set()
    await commit
    assert any(f.article.url == "https://new.example/stuck" for f in world.store.facts(topics=["pak-afg"]))
