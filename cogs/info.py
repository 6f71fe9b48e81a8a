"""/casualties, /territory, /incident, /timeline, /brief, /fact, /search, /sources: thin handlers over the
briefing layer.

Answers come from facts the poll job already stored, and are built in a worker thread, so the event loop
never waits for one. Those over the recent weeks the store keeps in memory are usually ready within
ACK_WITHIN and sent directly. One that needs older partitions (an old range, a fact by id, a search over all
history) reads files: the handler defers at once (Discord's 3-second deadline is met) and sends the answer
when the thread has it. A chart (`/casualties chart:true`) is slow too: the handler defers and draws it in a
worker thread. Nothing here fetches.
"""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Callable
from datetime import timedelta

import discord
from discord import app_commands
from discord.ext import commands

from bot.briefing import Answer, Briefing, map_answer, render_chart, render_map
from bot.durations import parse_duration
from bot.errors import BadOption
from bot.model import CATEGORIES
from cogs._reply import send_answer

CATEGORY_CHOICES = [app_commands.Choice(name=c, value=c) for c in CATEGORIES]


def parse_since(text: str | None) -> timedelta | None:
    if not text:
        return None
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise BadOption(f"since: {exc}") from None


def chart_filename(topic: str | None, kind: str = "casualties") -> str:
    """casualties-pak-afg.png: a name that is safe in a URL, whatever the topic was typed as."""
    slug = re.sub(r"[^a-z0-9]+", "-", (topic or "all").casefold()).strip("-")[:40] or "topic"
    return f"{kind}-{slug}.png"


# An answer that is not ready this soon is deferred: Discord shows "thinking" at once and the answer replaces
# it when done. 50 ms lets the usual answers (the recent weeks, a PostgreSQL query) answer directly, so a bad
# option's error stays ephemeral; a slower one (a month of a busy topic at a million facts, a read that waits
# behind a commit) is acknowledged within ~60 ms instead of after its whole run. It was 1.5 s, and answers
# from memory were built on the event loop: at a million facts an old month's timeline sat 1.2-1.5 s before
# Discord saw anything, and a 60 ms /casualties held up every other interaction meanwhile.
ACK_WITHIN = 0.05  # s
AUTOCOMPLETE_WITHIN = 1.5  # s: autocomplete cannot be deferred; half of Discord's 3 s, the rest for the trip


class InfoCog(commands.Cog):
    def __init__(self, briefing: Briefing) -> None:
        self.briefing = briefing
        # One chart drawn at a time: matplotlib promises no thread safety, and drawing is CPU-bound (the GIL
        # would serialise it anyway); the others wait, already deferred.
        self._drawing = asyncio.Lock()

    async def _answer(self, interaction: discord.Interaction, reads_disk: bool, make: Callable[[], Answer]) -> None:
        """Build the answer in a worker thread, so the event loop (other commands, the gateway, a commit's last
        step) never waits for it. An answer the store knows reads old weeks from disk (TinyDB) is deferred at
        once, before the read competes with the deferral for the GIL; any other (the recent weeks in memory, a
        PostgreSQL query) is deferred only if not ready within ACK_WITHIN, so a quick one still answers
        directly (and a bad option's error stays ephemeral)."""
        if reads_disk and not self.briefing.remote:
            await interaction.response.defer(thinking=True)
            await send_answer(interaction, await asyncio.to_thread(make))
            return
        work = asyncio.ensure_future(asyncio.to_thread(make))
        done, _ = await asyncio.wait({work}, timeout=ACK_WITHIN)
        if not done:
            await interaction.response.defer(thinking=True)
        await send_answer(interaction, await work)

    async def topic_autocomplete(self, interaction: discord.Interaction,
                                 current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=name, value=topic_id)
                for name, topic_id in self.briefing.topic_choices(current, interaction.guild_id)]

    @app_commands.command(description="Casualty figures, each with who claims it and whose losses they are")
    @app_commands.describe(topic="Topic (default: the only one, or all)", since="How far back, e.g. 7d or 48h "
                           "(default 30d)", side="Whose casualties, e.g. Pakistan", claimant="Who claims them",
                           category="killed, injured, captured, missing, arrested or displaced",
                           chart="Attach a chart of each claimant's figures over time")
    @app_commands.autocomplete(topic=topic_autocomplete)
    @app_commands.choices(category=CATEGORY_CHOICES)
    @app_commands.guild_only()
    async def casualties(self, interaction: discord.Interaction, topic: str | None = None, since: str | None = None,
                         side: str | None = None, claimant: str | None = None,
                         category: app_commands.Choice[str] | None = None, chart: bool = False) -> None:
        window, wanted = parse_since(since), category.value if category else None

        def make() -> Answer:
            return self.briefing.casualties(topic, guild_id=interaction.guild_id, since=window, side=side,
                                            claimant=claimant, category=wanted)

        reads_disk = self.briefing.casualties_reads_disk(topic, guild_id=interaction.guild_id, since=window)
        if not chart:
            await self._answer(interaction, reads_disk, make)
            return
        await interaction.response.defer(thinking=True)  # the first drawing can take longer than Discord's 3 s
        answer = await asyncio.to_thread(make) if reads_disk else make()
        data = await asyncio.to_thread(self.briefing.casualties_chart, topic, guild_id=interaction.guild_id,
                                       since=window, side=side, claimant=claimant, category=wanted)
        async with self._drawing:
            png = await asyncio.to_thread(render_chart, data)  # CPU-bound: off the event loop
        # At most 1000×1440 px (4 panels, 5 footnotes): even raw RGBA is under Discord's 8 MiB default limit.
        await send_answer(interaction, answer, files=[discord.File(io.BytesIO(png), filename=chart_filename(topic))])

    @app_commands.command(name="map", description="The topic's incidents on a map, each at its place")
    @app_commands.describe(topic="Topic (default: the only one, or all)", since="How far back, e.g. 7d (default 30d)")
    @app_commands.autocomplete(topic=topic_autocomplete)
    @app_commands.guild_only()
    async def map_(self, interaction: discord.Interaction, topic: str | None = None, since: str | None = None) -> None:
        window = parse_since(since)
        self.briefing.resolve_topic(topic, interaction.guild_id)  # an unknown topic is refused before deferring
        await interaction.response.defer(thinking=True)  # reading a month and drawing: off the event loop
        data = await asyncio.to_thread(self.briefing.map, topic, guild_id=interaction.guild_id, since=window)
        async with self._drawing:
            png = await asyncio.to_thread(render_map, data)
        await send_answer(interaction, map_answer(data),
                          files=[discord.File(io.BytesIO(png), filename=chart_filename(topic, "map"))])

    @app_commands.command(description="Places claimed taken, lost or destroyed, each with who claims it")
    @app_commands.describe(topic="Topic (default: the only one, or all)", since="How far back, e.g. 7d or 48h "
                           "(default 30d)")
    @app_commands.autocomplete(topic=topic_autocomplete)
    @app_commands.guild_only()
    async def territory(self, interaction: discord.Interaction, topic: str | None = None,
                        since: str | None = None) -> None:
        window = parse_since(since)
        await self._answer(interaction, self.briefing.territory_reads_disk(topic, guild_id=interaction.guild_id,
                                                                         since=window),
                           lambda: self.briefing.territory(topic, guild_id=interaction.guild_id, since=window))

    async def incident_autocomplete(self, interaction: discord.Interaction,
                                    current: str) -> list[app_commands.Choice[str]]:
        topic = getattr(interaction.namespace, "topic", None)

        def choices() -> list[tuple[str, str]]:
            return self.briefing.incident_choices(current, topic=topic, guild_id=interaction.guild_id)

        found = (await asyncio.wait_for(asyncio.to_thread(choices), AUTOCOMPLETE_WITHIN) if self.briefing.remote
                 else choices())
        return [app_commands.Choice(name=label[:100], value=incident_id) for label, incident_id in found]

    @app_commands.command(description="One incident: every claim side by side, its outlets and an evidence note")
    @app_commands.describe(incident="The incident (start typing a date, place or headline)",
                           topic="Topic (default: the only one, or all)")
    @app_commands.autocomplete(incident=incident_autocomplete, topic=topic_autocomplete)
    @app_commands.guild_only()
    async def incident(self, interaction: discord.Interaction, incident: str | None = None,
                       topic: str | None = None) -> None:
        def make() -> Answer:
            if incident:
                return self.briefing.incident(incident, topic=topic, guild_id=interaction.guild_id)
            return self.briefing.incidents(topic, guild_id=interaction.guild_id)

        await self._answer(interaction, self.briefing.remote, make)

    @app_commands.command(description="Dated events in order, each with its date's precision")
    @app_commands.describe(topic="Topic (default: the only one, or all)", date_from="From YYYY, YYYY-MM or "
                           "YYYY-MM-DD", date_to="To YYYY, YYYY-MM or YYYY-MM-DD", newest_first="Newest first")
    @app_commands.rename(date_from="from", date_to="to")
    @app_commands.autocomplete(topic=topic_autocomplete)
    @app_commands.guild_only()
    async def timeline(self, interaction: discord.Interaction, topic: str | None = None, date_from: str | None = None,
                       date_to: str | None = None, newest_first: bool = False) -> None:
        reads_disk = self.briefing.timeline_reads_disk(topic, guild_id=interaction.guild_id, date_from=date_from,
                                                       date_to=date_to)
        await self._answer(interaction, reads_disk, lambda: self.briefing.timeline(
            topic, guild_id=interaction.guild_id, date_from=date_from, date_to=date_to, newest_first=newest_first))

    @app_commands.command(description="The latest picture of a topic in a few lines")
    @app_commands.describe(topic="Topic (default: the only one, or all)")
    @app_commands.autocomplete(topic=topic_autocomplete)
    @app_commands.guild_only()
    async def brief(self, interaction: discord.Interaction, topic: str | None = None) -> None:
        await self._answer(interaction, self.briefing.brief_reads_disk(topic, guild_id=interaction.guild_id),
                           lambda: self.briefing.brief(topic, guild_id=interaction.guild_id))

    @app_commands.command(description="Where a fact comes from: quote, article, outlet, link")
    @app_commands.describe(fact_id="The short id shown after each line")
    @app_commands.rename(fact_id="id")
    @app_commands.guild_only()
    async def fact(self, interaction: discord.Interaction, fact_id: str) -> None:
        await self._answer(interaction, self.briefing.fact_reads_disk(fact_id), lambda: self.briefing.fact(fact_id))

    @app_commands.command(description="Search stored facts and events by words")
    @app_commands.describe(words="Words that must all appear", topic="Topic (default: all)")
    @app_commands.autocomplete(topic=topic_autocomplete)
    @app_commands.guild_only()
    async def search(self, interaction: discord.Interaction, words: str, topic: str | None = None) -> None:
        # Not deferred at once: a search reads old weeks only when the loaded ones do not complete its answer
        # (rare), so it is usually ready within ACK_WITHIN.
        await self._answer(interaction, False,
                           lambda: self.briefing.search(words, topic=topic, guild_id=interaction.guild_id))

    @app_commands.command(description="The sources Sitrep reads for this server, and their health")
    @app_commands.guild_only()
    async def sources(self, interaction: discord.Interaction) -> None:
        await self._answer(interaction, self.briefing.remote, lambda: self.briefing.sources(interaction.guild_id))
