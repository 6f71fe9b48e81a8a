"""/config: Manage Server only, per guild, and guilds never see each other's settings."""

from __future__ import annotations

from tests.client.conftest import ADMIN, CHANNEL_A, GUILD_A, GUILD_B, MEMBER, World
from tests.fakediscord import MANAGE_GUILD, MEMBER_PERMISSIONS

ADMIN_PERMS = MEMBER_PERMISSIONS | MANAGE_GUILD


async def test_config_is_refused_without_manage_server_and_nothing_changes(world: World) -> None:
    before = world.store.guild(GUILD_A)
    reply = await world.fake.slash(GUILD_A, MEMBER, "config digest time", {"time": "07:30"})
    assert reply.ephemeral
    assert "Manage Server" in reply.text
    assert world.store.guild(GUILD_A) == before
    config = next(c for c in world.fake.commands if c["name"] == "config")
    assert int(config["default_member_permissions"]) == MANAGE_GUILD


async def test_digest_settings_are_validated_and_stored_per_guild(world: World) -> None:
    reply = await world.fake.slash(GUILD_A, ADMIN, "config digest time", {"time": "25:00"}, permissions=ADMIN_PERMS)
    assert "not a time" in reply.text
    reply = await world.fake.slash(GUILD_A, ADMIN, "config digest timezone", {"timezone": "Mars/Base"},
                                   permissions=ADMIN_PERMS)
    assert "unknown time zone" in reply.text
    await world.fake.slash(GUILD_A, ADMIN, "config digest timezone", {"timezone": "Asia/Karachi"},
                           permissions=ADMIN_PERMS)
    await world.fake.slash(GUILD_A, ADMIN, "config digest time", {"time": "7:30"}, permissions=ADMIN_PERMS)
    await world.fake.slash(GUILD_A, ADMIN, "config digest channel", {"channel": CHANNEL_A}, permissions=ADMIN_PERMS)
    a = world.store.guild(GUILD_A)
    assert (a.timezone, a.digest_time, a.digest_channel_id, a.digest_enabled) == ("Asia/Karachi", "07:30",
                                                                                  CHANNEL_A, True)
    assert world.bot.scheduler.get_job(f"digest:{GUILD_A}") is not None
    assert world.store.guild(GUILD_B).digest_channel_id is None


async def test_guild_topics_and_feeds_are_private_to_their_guild(world: World) -> None:
    reply = await world.fake.slash(GUILD_A, ADMIN, "config topics add",
                                   {"id": "sahel", "name": "Sahel", "keywords": "Mali, Burkina Faso, JNIM"},
                                   permissions=ADMIN_PERMS)
    assert "Topic **Sahel** (sahel) added" in reply.text
    a_choices = await world.fake.autocomplete(GUILD_A, MEMBER, "casualties", "topic", "sah")
    b_choices = await world.fake.autocomplete(GUILD_B, MEMBER, "casualties", "topic", "sah")
    assert a_choices == [{"name": "Sahel", "value": "sahel"}]
    assert b_choices == []
    reply = await world.fake.slash(GUILD_B, ADMIN, "config topics remove", {"id": "sahel"}, permissions=ADMIN_PERMS)
    assert "no topic 'sahel'" in reply.text
    assert [t.id for t in world.store.topics(GUILD_A)] == ["sahel"]


async def test_feed_add_refuses_private_addresses_and_checks_the_feed(world: World) -> None:
    reply = await world.fake.slash(GUILD_A, ADMIN, "config feeds add", {"url": "http://10.1.2.3/rss"},
                                   permissions=ADMIN_PERMS)
    assert "private or local network" in reply.text
    reply = await world.fake.slash(GUILD_A, ADMIN, "config feeds add", {"url": "file:///etc/passwd"},
                                   permissions=ADMIN_PERMS)
    assert "only http and https" in reply.text
    reply = await world.fake.slash(GUILD_A, ADMIN, "config feeds add", {"url": f"{world.outlets.url}/nothing"},
                                   permissions=ADMIN_PERMS)
    assert "not a readable feed" in reply.text and "404" in reply.text
    reply = await world.fake.slash(GUILD_A, ADMIN, "config feeds add", {"url": f"{world.outlets.url}/monitor.atom"},
                                   permissions=ADMIN_PERMS)
    assert "already follows that feed" in reply.text  # it comes from the bot's config
    reply = await world.fake.slash(GUILD_A, ADMIN, "config feeds add",
                                   {"url": f"{world.outlets.url}/monitor.atom?edition=intl", "name": "Monitor copy"},
                                   permissions=ADMIN_PERMS)
    assert "Now following **Monitor copy**" in reply.text
    assert [s.name for s in world.store.sources(GUILD_A) if s.guild_id == GUILD_A] == ["Monitor copy"]
    assert all(s.guild_id is None for s in world.store.sources(GUILD_B))


async def test_settings_written_at_once_keep_each_others_changes(world: World) -> None:
    # /config, a digest record and an alert record each change their own fields of one guild record: a write
    # from a copy read before another's commit would undo it (a lost alert record is a duplicate alert).
    import asyncio
    from dataclasses import replace

    await asyncio.gather(world.bot.briefing.update_guild(GUILD_A, lambda s: replace(s, digest_time="09:15")),
                         world.bot.briefing.update_guild(GUILD_A, lambda s: replace(s, alert_watermark=42)),
                         world.bot.briefing.update_guild(GUILD_A, lambda s: replace(s, timezone="Asia/Kabul")))
    settings = world.store.guild(GUILD_A)
    assert (settings.digest_time, settings.alert_watermark, settings.timezone) == ("09:15", 42, "Asia/Kabul")
