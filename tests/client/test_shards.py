"""Sharding: a process runs the shards it is told to (or all of them), and each guild is served by the process
holding its shard."""

from __future__ import annotations

import discord

from tests.client.conftest import GUILD_A, GUILD_B, World


async def test_without_shard_options_the_bot_runs_every_shard_discord_advises(world: World) -> None:
    assert isinstance(world.bot, discord.AutoShardedClient)
    assert "GET /gateway/bot" in world.fake.requests  # discord.py asked for the shard count
    assert world.bot.shard_count == 1 and sorted(world.bot.shards) == [0]
    assert world.fake.identify is not None and world.fake.identify["shard"] == [0, 1]
    assert sorted(g.id for g in world.bot.guilds) == [GUILD_A, GUILD_B]
