"""/sync: the bot owner re-syncs the application commands on demand.

Commands are synced at start-up only when their definition changed (a hash in the data directory); this is
the way out when Discord's copy went stale anyway. Only the application's owner may use it, at most once a
minute (Discord rate-limits command syncs), and the reply is private.
"""

from __future__ import annotations

import time
from typing import Protocol

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import BadOption, Forbidden


class Syncing(Protocol):
    """What /sync needs of the bot (``bot.client.SitrepBot``, which loads this cog: named here by what it does,
    so the cog does not import the client that imports it)."""

    @property
    def tree(self) -> app_commands.CommandTree[discord.Client]: ...

    async def is_owner(self, user: discord.abc.User, /) -> bool: ...

    async def sync_commands(self, force: bool = False) -> bool: ...

SYNC_COOLDOWN_S = 60.0


class OwnerCog(commands.Cog):
    def __init__(self, bot: Syncing) -> None:
        self.bot = bot
        self._last_sync = float("-inf")

    @app_commands.command(description="Re-sync Sitrep's slash commands with Discord (bot owner only)")
    @app_commands.default_permissions(administrator=True)
    async def sync(self, interaction: discord.Interaction) -> None:
        if not await self.bot.is_owner(interaction.user):
            raise Forbidden("Only the bot's owner can re-sync its commands.")
        wait = self._last_sync + SYNC_COOLDOWN_S - time.monotonic()
        if wait > 0:  # Discord rate-limits command syncs: one a minute is plenty
            raise BadOption(f"Commands were synced moments ago: try again in {wait:.0f} s.")
        self._last_sync = time.monotonic()
        await interaction.response.defer(ephemeral=True, thinking=True)  # a sync can take longer than 3 s
        await self.bot.sync_commands(force=True)
        count = len(self.bot.tree.get_commands())
        await interaction.followup.send(f"Synced {count} commands with Discord.", ephemeral=True,
                                        allowed_mentions=discord.AllowedMentions.none())
