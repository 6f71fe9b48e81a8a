"""Sharding: a process runs the shards it is told to (or all of them), and each guild is served by the process
holding its shard."""

from __future__ import annotations

from pathlib import Path

import discord
import pytest

from tests.client.conftest import ADMIN, GUILD_A, GUILD_B, MEMBER, World, open_world, running_bot
from tests.fakediscord import ADMIN_PERMISSIONS, FakeChannel, FakeGuild
from tests.fakediscord.server import shard_of

# Snowflakes whose shard of 2 is 0 and 1: (id >> 22) % 2, Discord's rule.
EVEN_GUILD, ODD_GUILD = 1_300_000_000_000_000_000, 1_300_000_000_004_194_304
EVEN_CHANNEL, ODD_CHANNEL = 1_300_000_000_000_000_001, 1_300_000_000_004_194_305


async def test_without_shard_options_the_bot_runs_every_shard_discord_advises(world: World) -> None:
    assert isinstance(world.bot, discord.AutoShardedClient)
    assert "GET /gateway/bot" in world.fake.requests  # discord.py asked for the shard count
    assert world.bot.shard_count == 1 and sorted(world.bot.shards) == [0]
    assert world.fake.identify is not None and world.fake.identify["shard"] == [0, 1]
    assert sorted(g.id for g in world.bot.guilds) == [GUILD_A, GUILD_B]


async def test_two_processes_each_answer_only_the_guilds_of_their_shard(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    assert (shard_of(EVEN_GUILD, 2), shard_of(ODD_GUILD, 2)) == (0, 1)
    guilds = [FakeGuild(EVEN_GUILD, "Even", [FakeChannel(EVEN_CHANNEL, "news")]),
              FakeGuild(ODD_GUILD, "Odd", [FakeChannel(ODD_CHANNEL, "news")])]
    async with open_world(tmp_path, monkeypatch, polls=2, guilds=guilds, shard_ids=[0], shard_count=2) as world, \
            running_bot(world.fake, world.config, world.store, None, shard_ids=[1], shard_count=2) as second:
        first = world.bot
        assert world.fake.shards == [(0, 2), (1, 2)]
        assert [g.id for g in first.guilds] == [EVEN_GUILD] and [g.id for g in second.guilds] == [ODD_GUILD]
        handled: dict[str, list[int | None]] = {"first": [], "second": []}
        for name, bot in (("first", first), ("second", second)):
            async def seen(interaction: discord.Interaction, name: str = name) -> None:
                handled[name].append(interaction.guild_id)
            bot.add_listener(seen, "on_interaction")

        even = await world.fake.slash(EVEN_GUILD, MEMBER, "brief", {"topic": "sudan"})
        odd = await world.fake.slash(ODD_GUILD, MEMBER, "brief", {"topic": "sudan"})
        assert even.text and even.text == odd.text  # both answered from the one shared store
        assert handled == {"first": [EVEN_GUILD], "second": [ODD_GUILD]}

        # A setting changed through one shard's process is what the other reads: they share the store.
        changed = await world.fake.slash(ODD_GUILD, ADMIN, "config digest time", {"time": "07:15"},
                                         permissions=ADMIN_PERMISSIONS)
        assert "07:15" in changed.text and first.store.guild(ODD_GUILD).digest_time == "07:15"
        assert handled == {"first": [EVEN_GUILD], "second": [ODD_GUILD, ODD_GUILD]}

        await second.close()
        await world.fake.wait_for(lambda: world.fake.shards == [(0, 2)])
        with pytest.raises(AssertionError, match=f"no gateway connection holds the shard of guild {ODD_GUILD}"):
            await world.fake.slash(ODD_GUILD, MEMBER, "brief")
