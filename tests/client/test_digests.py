"""Scheduled digests: posted at their slot, exactly once, across restarts, 429s and lost channels."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import discord
import pytest

from bot.client import DigestScheduler, digest_nonce, latest_slot, part_nonce
from bot.model import GuildSettings
from storage import Batch
from tests.client.conftest import ADMIN, CHANNEL_A, CHANNEL_A2, CHANNEL_GONE, GUILD_A, World
from tests.fakediscord import MANAGE_GUILD, MEMBER_PERMISSIONS


async def _enable(world: World, channel: int = CHANNEL_A, **changes: object) -> GuildSettings:
    settings = replace(world.store.guild(GUILD_A), digest_channel_id=channel, digest_enabled=True,
                       digest_time="08:00", timezone="Asia/Karachi", **changes)
    await world.store.commit(Batch(guilds=(settings,)))
    return settings


async def test_digest_posts_only_whats_new_once_per_slot(world: World) -> None:
    await _enable(world)
    slot = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # 08:00 in Karachi
    assert await world.bot.digests.run(GUILD_A, slot=slot) == "posted"
    posted = world.fake.messages_in(CHANNEL_A)
    assert len(posted) == 1
    text = posted[0]["embeds"][0]["description"]
    assert "23 soldiers (Pakistan) killed" in text  # new since the backlog
    assert "Kharlachi" not in text  # backlog from the first poll is never announced
    assert posted[0]["allowed_mentions"] == {"parse": []}
    assert await world.bot.digests.run(GUILD_A, slot=slot) == "already posted"
    assert await world.bot.digests.run(GUILD_A, slot=slot + timedelta(days=1)) == "nothing new"
    assert len(world.fake.messages_in(CHANNEL_A)) == 1


async def test_restart_across_the_digest_time_posts_exactly_one_catch_up(world: World) -> None:
    await _enable(world)
    now = datetime(2026, 11, 25, 4, 30, tzinfo=UTC)  # 09:30 in Karachi: the 08:00 slot was missed
    first = DigestScheduler(world.store, world.bot.briefing, world.bot.scheduler, world.bot.send_digest,
                            clock=lambda: now)
    again = DigestScheduler(world.store, world.bot.briefing, world.bot.scheduler, world.bot.send_digest,
                            clock=lambda: now + timedelta(minutes=5))
    assert await first.catch_up() == 1
    assert await again.catch_up() == 0  # a second restart: the slot is already posted
    assert len(world.fake.messages_in(CHANNEL_A)) == 1
    too_late = DigestScheduler(world.store, world.bot.briefing, world.bot.scheduler, world.bot.send_digest,
                               clock=lambda: now + timedelta(days=1, hours=8))
    assert await too_late.catch_up() == 0  # outside the grace window: no stale digest


async def test_a_429_on_the_digest_post_is_retried_and_posted_once(world: World) -> None:
    await _enable(world)
    world.fake.fail_next("POST", rf"/channels/{CHANNEL_A}/messages", status=429, retry_after=0.05)
    assert await world.bot.digests.run(GUILD_A, slot=datetime(2026, 11, 25, 3, 0, tzinfo=UTC)) == "posted"
    assert len(world.fake.messages_in(CHANNEL_A)) == 1


async def test_a_forbidden_channel_switches_the_digest_off_and_admins_are_told(world: World) -> None:
    await _enable(world, channel=CHANNEL_GONE)
    slot = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    assert await world.bot.digests.run(GUILD_A, slot=slot) == "channel gone"
    settings = world.store.guild(GUILD_A)
    assert not settings.digest_enabled
    assert world.bot.scheduler.get_job(f"digest:{GUILD_A}") is None  # no retry storm
    assert await world.bot.digests.run(GUILD_A, slot=slot + timedelta(days=1)) == "off"
    reply = await world.fake.slash(GUILD_A, ADMIN, "config topics list", permissions=MEMBER_PERMISSIONS | MANAGE_GUILD)
    assert "digest was switched off" in reply.text
    assert world.store.guild(GUILD_A).notices == ()


async def test_feed_text_cannot_ping_anyone(world: World) -> None:
    from bot.model import Article, Event
    from storage import ArticleFacts

    await _enable(world)
    article = Article(url="https://example.org/ping", outlet="Prank <@&123>", title="@everyone look", published=
                      datetime(2026, 11, 24, tzinfo=UTC), source_id="x", text_hash="ping", topics=("pak-afg",))
    event = Event(summary="@everyone @here <@42> clash at the border", quote="@everyone clash", date="2026-11-24",
                  date_precision="day")
    await world.store.commit(Batch(articles=(ArticleFacts(article, (event,)),)))
    await world.bot.digests.run(GUILD_A, slot=datetime(2026, 11, 25, 3, 0, tzinfo=UTC))
    text = world.fake.messages_in(CHANNEL_A)[-1]["embeds"][0]["description"]
    assert "@everyone" not in text and "@here" not in text and "<@42>" not in text and "<@&123>" not in text
    assert "clash at the border" in text


async def _new_sudan_claim(world: World) -> None:
    from bot.model import Article, Casualty
    from storage import ArticleFacts

    article = Article(url="https://example.org/sudan-new", outlet="Nile Wire", title="Shelling in Kadugli",
                      published=datetime(2026, 11, 24, tzinfo=UTC), source_id="x", text_hash="sudan-new",
                      topics=("sudan",))
    claim = Casualty(category="killed", count=14, qualifier="exact", quote="Shelling killed 14 people in Kadugli.",
                     victim_text="people")
    await world.store.commit(Batch(articles=(ArticleFacts(article, (claim,)),)))


async def test_two_topics_digests_go_to_their_own_channels_each_exactly_once(world: World) -> None:
    admin = MEMBER_PERMISSIONS | MANAGE_GUILD
    await _enable(world)
    reply = await world.fake.slash(GUILD_A, ADMIN, "config digest channel", {"channel": CHANNEL_A2, "topic": "sudan"},
                                   permissions=admin)
    assert "digest of Sudan war will be posted" in reply.text
    await _new_sudan_claim(world)
    slot = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    assert await world.bot.digests.run(GUILD_A, slot=slot) == "posted"
    border = world.fake.messages_in(CHANNEL_A)[0]["embeds"][0]["description"]
    sudan = world.fake.messages_in(CHANNEL_A2)[0]["embeds"][0]["description"]
    assert "23 soldiers (Pakistan) killed" in border and "Kadugli" not in border
    assert "14 people killed" in sudan and "Pakistan" not in sudan
    assert await world.bot.digests.run(GUILD_A, slot=slot) == "already posted"
    assert (len(world.fake.messages_in(CHANNEL_A)), len(world.fake.messages_in(CHANNEL_A2))) == (1, 1)


async def test_a_lost_topic_channel_falls_back_without_reposting_the_other_channel(world: World) -> None:
    settings = await _enable(world)
    await world.store.commit(Batch(guilds=(replace(world.store.guild(GUILD_A), topic_channels={"sudan": CHANNEL_GONE},
                                                   topic_watermarks={"sudan": 0}),)))
    await _new_sudan_claim(world)
    slot = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    await world.bot.digests.run(GUILD_A, slot=slot)
    assert len(world.fake.messages_in(CHANNEL_A)) == 1  # the border digest went out
    after = world.store.guild(GUILD_A)
    assert after.topic_channels == {} and any("goes to the default digest channel" in n for n in after.notices)
    assert await world.bot.digests.run(GUILD_A, slot=slot) == "already posted"  # never the border one twice
    assert len(world.fake.messages_in(CHANNEL_A)) == 1
    assert await world.bot.digests.run(GUILD_A, slot=slot + timedelta(days=1)) == "posted"
    sudan = world.fake.messages_in(CHANNEL_A)[-1]["embeds"][0]["description"]
    assert "14 people killed" in sudan and "23 soldiers" not in sudan  # Sudan's digest at the next slot, once
    assert settings.digest_channel_id == CHANNEL_A


async def test_the_digest_carries_the_chart_when_the_admins_ask_for_it(world: World) -> None:
    await _enable(world)
    reply = await world.fake.slash(GUILD_A, ADMIN, "config digest chart", {"on": True},
                                   permissions=MEMBER_PERMISSIONS | MANAGE_GUILD)
    assert "carry the casualties chart" in reply.text
    assert await world.bot.digests.run(GUILD_A, slot=datetime(2026, 11, 25, 3, 0, tzinfo=UTC)) == "posted"
    (message,) = world.fake.messages_in(CHANNEL_A)
    (attachment,) = message["attachments"]
    assert attachment["filename"] == "digest-casualties.png"
    assert world.fake.attachment_data(attachment)[:8] == b"\x89PNG\r\n\x1a\n"
    assert "23 soldiers (Pakistan) killed" in message["embeds"][0]["description"]


class ProcessDied(Exception):
    """The process was killed: whatever it was doing stops here."""


def _next_process(world: World, now: datetime) -> DigestScheduler:
    """The digest scheduler of a new process (its own locks), on the same store and Discord."""
    return DigestScheduler(world.store, world.bot.briefing, world.bot.scheduler, world.bot.send_digest,
                           clock=lambda: now)


async def _dies_before_recording(*args: object, **kwargs: object) -> None:
    raise ProcessDied


async def test_a_crash_after_discord_accepted_the_digest_posts_it_once(world: World,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    await _enable(world, digest_chart=True)  # two parts in one message: the embed and the chart file
    now = datetime(2026, 11, 25, 4, 30, tzinfo=UTC)  # 09:30 in Karachi: the 08:00 slot is due
    with monkeypatch.context() as patch:  # the first process dies after Discord accepted, before recording
        patch.setattr(world.bot.briefing, "confirm_digest", _dies_before_recording)
        with pytest.raises(ProcessDied):
            await _next_process(world, now).catch_up()
    (first,) = world.fake.messages_in(CHANNEL_A)
    assert world.store.guild(GUILD_A).last_digest_slot is None  # the slot was never recorded
    assert await _next_process(world, now + timedelta(minutes=2)).catch_up() == 1  # the restart re-sends...
    (message,) = world.fake.messages_in(CHANNEL_A)  # ...and Discord answers with the message it already has
    assert message["id"] == first["id"] and len(message["attachments"]) == 1
    assert world.fake.deduplicated == [message["nonce"]]
    assert world.store.guild(GUILD_A).last_digest_slot == datetime(2026, 11, 25, 3, 0, tzinfo=UTC).isoformat()
    assert await _next_process(world, now + timedelta(minutes=4)).catch_up() == 0


async def test_news_stored_between_a_crash_and_the_re_send_waits_for_the_next_digest(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Discord accepted the digest, the process died before recording it, and a claim was stored before the
    next process re-sent it: the re-send is the same digest (Discord returns the message it has), and the new
    claim is neither recorded as delivered unseen nor lost: it is in the next slot's digest."""
    await _enable(world, topic_channels={})
    now = datetime(2026, 11, 25, 4, 30, tzinfo=UTC)  # 09:30 in Karachi: the 08:00 slot is due
    with monkeypatch.context() as patch:
        patch.setattr(world.bot.briefing, "confirm_digest", _dies_before_recording)
        with pytest.raises(ProcessDied):
            await _next_process(world, now).catch_up()
    (first,) = world.fake.messages_in(CHANNEL_A)
    assert "14 people killed" not in str(first["embeds"])
    await _new_sudan_claim(world)  # stored while no process was posting
    assert await _next_process(world, now + timedelta(minutes=2)).catch_up() == 1
    assert [m["id"] for m in world.fake.messages_in(CHANNEL_A)] == [first["id"]]  # the same message, once
    assert world.store.guild(GUILD_A).digests_in_flight == {}  # recorded: nothing in flight any more
    next_slot = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
    assert await _next_process(world, next_slot).run(GUILD_A, slot=next_slot) == "posted"
    later = world.fake.messages_in(CHANNEL_A)[1:]
    assert len(later) == 1 and "14 people killed" in str(later[0]["embeds"])  # the claim stored in between


async def _many_new_events(world: World, count: int) -> None:
    from bot.model import Article, Event
    from storage import ArticleFacts

    for i in range(count):
        article = Article(url=f"https://example.org/long-{i}", outlet="Border Desk", title=f"Clash {i}",
                          published=datetime(2026, 11, 24, tzinfo=UTC), source_id="x", text_hash=f"long-{i}",
                          topics=("pak-afg",))
        words = " ".join(hashlib.sha256(f"{i}:{j}".encode()).hexdigest()[:8] for j in range(18))
        summary = f"Report {i} from the border: {words}"  # distinct, so the timeline merges none of them
        event = Event(summary=summary, quote=summary, date=f"2026-11-{1 + i % 24:02d}", date_precision="day")
        await world.store.commit(Batch(articles=(ArticleFacts(article, (event,)),)))


async def test_a_crash_between_the_pages_of_a_digest_posts_each_page_once(world: World) -> None:
    await _enable(world)
    await _many_new_events(world, 40)
    slot = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    # The second page's post fails the first time (the process dies there): the first page was accepted.
    world.fake.fail_next("POST", rf"/channels/{CHANNEL_A}/messages", status=400, code=0, message="died", after=1)
    with pytest.raises(discord.HTTPException):
        await world.bot.digests.run(GUILD_A, slot=slot)
    assert len(world.fake.messages_in(CHANNEL_A)) == 1
    assert await _next_process(world, slot + timedelta(hours=1)).run(GUILD_A, slot=slot) == "posted"
    pages = world.fake.messages_in(CHANNEL_A)
    footers = [m["embeds"][0]["footer"]["text"] for m in pages]
    assert len(pages) >= 2 and all(f.endswith(f"page {i}/{len(pages)}") for i, f in enumerate(footers, 1))
    assert len(world.fake.deduplicated) == 1  # only the first page was re-sent onto itself
    assert len({m["nonce"] for m in pages}) == len(pages)  # each page has its own nonce


async def test_the_next_slot_is_a_new_post_not_the_last_one_again(world: World) -> None:
    await _enable(world)
    slot = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    assert await world.bot.digests.run(GUILD_A, slot=slot) == "posted"
    await _new_sudan_claim(world)
    await _many_new_events(world, 1)
    assert await world.bot.digests.run(GUILD_A, slot=slot + timedelta(days=1)) == "posted"
    first, second = world.fake.messages_in(CHANNEL_A)
    assert first["id"] != second["id"] and world.fake.deduplicated == []


def test_digest_nonces_are_stable_distinct_and_within_discords_limit() -> None:
    slot = datetime(2026, 11, 25, 3, 0, tzinfo=UTC).isoformat()
    nonce = digest_nonce(GUILD_A, CHANNEL_A, slot)
    assert nonce == digest_nonce(GUILD_A, CHANNEL_A, slot)  # the same in the next process
    others = {digest_nonce(GUILD_A + 1, CHANNEL_A, slot), digest_nonce(GUILD_A, CHANNEL_A2, slot),
              digest_nonce(GUILD_A, CHANNEL_A, "2026-11-26T03:00:00+00:00"),
              digest_nonce(GUILD_A, CHANNEL_A, slot, route=str(CHANNEL_A))}
    assert nonce not in others and len(others) == 4
    parts = [part_nonce(nonce, i) for i in range(1000)]
    assert len(set(parts)) == 1000 and max(len(p) for p in parts) <= 25


def test_latest_slot_follows_the_guilds_time_zone_and_dst() -> None:
    settings = GuildSettings(guild_id=1, digest_time="08:00", timezone="Europe/Berlin")
    # Berlin is UTC+2 in summer, UTC+1 in winter: the same local time is a different instant.
    assert latest_slot(settings, datetime(2026, 7, 1, 12, 0, tzinfo=UTC)) == datetime(2026, 7, 1, 6, 0, tzinfo=UTC)
    assert latest_slot(settings, datetime(2026, 12, 1, 12, 0, tzinfo=UTC)) == datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    assert latest_slot(settings, datetime(2026, 12, 1, 6, 0, tzinfo=UTC)) == datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
