"""Scheduled digests: posted at their slot, exactly once, across restarts, 429s and lost channels."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.client import DigestScheduler, latest_slot
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


def test_latest_slot_follows_the_guilds_time_zone_and_dst() -> None:
    settings = GuildSettings(guild_id=1, digest_time="08:00", timezone="Europe/Berlin")
    # Berlin is UTC+2 in summer, UTC+1 in winter: the same local time is a different instant.
    assert latest_slot(settings, datetime(2026, 7, 1, 12, 0, tzinfo=UTC)) == datetime(2026, 7, 1, 6, 0, tzinfo=UTC)
    assert latest_slot(settings, datetime(2026, 12, 1, 12, 0, tzinfo=UTC)) == datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    assert latest_slot(settings, datetime(2026, 12, 1, 6, 0, tzinfo=UTC)) == datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
