"""/export: every casualty and territory claim as a CSV or JSON file, one row per claim.

Options are checked before anything else, so a mistake gets the usual short ephemeral error; then the
command defers (a large export takes longer than Discord's 3 s) and attaches the file, or its parts when it
is over the server's attachment size limit, one part per message.
"""

from __future__ import annotations

import io

import discord
from discord import app_commands
from discord.ext import commands

from bot.briefing import FORMATS, Briefing, safe
from cogs._reply import NO_MENTIONS

FORMAT_CHOICES = [app_commands.Choice(name=f, value=f) for f in FORMATS]


class ExportCog(commands.Cog):
    def __init__(self, briefing: Briefing) -> None:
        self.briefing = briefing

    async def topic_autocomplete(self, interaction: discord.Interaction,
                                 current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=name, value=topic_id)
                for name, topic_id in self.briefing.topic_choices(current, interaction.guild_id)]

    @app_commands.command(description="Every casualty and territory claim as a file, one row per claim")
    @app_commands.describe(topic="Topic (default: the only one, or all)", since="Published since a duration (7d) "
                           "or a date (2025-10-01); default: everything stored",
                           fmt="csv for spreadsheets (default) or json")
    @app_commands.rename(fmt="format")
    @app_commands.autocomplete(topic=topic_autocomplete)
    @app_commands.choices(fmt=FORMAT_CHOICES)
    @app_commands.guild_only()
    async def export(self, interaction: discord.Interaction, topic: str | None = None, since: str | None = None,
                     fmt: app_commands.Choice[str] | None = None) -> None:
        self.briefing.check_export(topic, guild_id=interaction.guild_id, since=since)  # errors before deferring
        await interaction.response.defer(thinking=True)
        export, files = await self.briefing.export_files(topic, guild_id=interaction.guild_id, since=since,
                                                         fmt="json" if fmt and fmt.value == "json" else "csv",
                                                         limit=interaction.filesize_limit)
        summary = safe(export.summary())
        if not files:
            await interaction.followup.send(summary, allowed_mentions=NO_MENTIONS)
        for i, file in enumerate(files, 1):
            part = f" Part {i} of {len(files)}: each part is a complete file." if len(files) > 1 else ""
            await interaction.followup.send(summary + part, file=discord.File(io.BytesIO(file.data), file.name),
                                            allowed_mentions=NO_MENTIONS)
