"""/config: feeds, topics, digest, alerts and polling, per guild. Manage Server only, twice over: Discord hides the
group from others (default permissions) and every call checks again (an admin can override the default).

Guilds never see or change each other's settings: every read and write is keyed by the interaction's
guild, and guild-owned feeds and topics carry that guild's id.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

import discord
from discord import app_commands
from discord.ext import commands

from bot.briefing import Briefing, describe_rule
from bot.config import slug, validate_timezone
from bot.durations import format_duration, parse_duration
from bot.errors import BadOption, NotFound, SitrepError
from bot.model import AlertRule, GuildSettings, SourceState, Topic
from bot.sources import Fetcher, canonical_url, check_feed_url, check_url
from cogs._reply import NO_MENTIONS, send_answer
from storage import Batch, Store

MIN_POLL = 300
MAX_RULES = 25


class Scheduling(Protocol):
    """What /config needs of the digest scheduler (``bot.client.DigestScheduler``, whose client loads this
    cog): reschedule one guild's digests after its settings changed."""

    def schedule(self, settings: GuildSettings) -> None: ...


class NotAllowed(app_commands.CheckFailure):
    """Refused before anything runs: the error handler answers with the Manage Server message."""


@app_commands.default_permissions(manage_guild=True)
@app_commands.guild_only()
class ConfigCog(commands.GroupCog, group_name="config", group_description="Sitrep settings for this server"):
    def __init__(self, store: Store, briefing: Briefing, fetcher: Fetcher | None, digests: Scheduling) -> None:
        self.store = store
        self.briefing = briefing
        self.fetcher = fetcher
        self.digests = digests
        super().__init__()

    feeds = app_commands.Group(name="feeds", description="The feeds this server follows")
    topics = app_commands.Group(name="topics", description="The topics this server follows")
    digest = app_commands.Group(name="digest", description="The daily digest")
    alerts = app_commands.Group(name="alerts", description="Instant alerts: big claims and keyword events")

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.guild_id is None or not interaction.permissions.manage_guild:
            raise NotAllowed("You need the Manage Server permission to change Sitrep's settings. Nothing changed.")
        return True

    async def _done(self, interaction: discord.Interaction, text: str) -> None:
        """Reply, adding any notices waiting for this guild's admins (and clearing them)."""
        settings = self.store.guild(interaction.guild_id)  # type: ignore[arg-type]
        if settings.notices:
            text += "\n\nNotices:\n" + "\n".join(f"• {n}" for n in settings.notices)
            shown = settings.notices
            await self.briefing.update_guild(settings.guild_id, lambda s: replace(
                s, notices=tuple(n for n in s.notices if n not in shown)))
        if interaction.response.is_done():
            await interaction.followup.send(text[:2000], ephemeral=True, allowed_mentions=NO_MENTIONS)
        else:
            await interaction.response.send_message(text[:2000], ephemeral=True, allowed_mentions=NO_MENTIONS)

    async def _save(self, interaction: discord.Interaction,
                    change: Callable[[GuildSettings], GuildSettings]) -> None:
        """Apply ``change`` to the guild's settings as they are when written (never to a copy read earlier:
        an alert or digest delivery may have been recorded meanwhile), then reschedule its digest."""
        settings = await self.briefing.update_guild(interaction.guild_id, change)  # type: ignore[arg-type]
        self.digests.schedule(settings)

    # --- feeds --------------------------------------------------------------------------------------

    @feeds.command(name="add", description="Follow a feed (RSS, Atom or JSON Feed)")
    @app_commands.describe(url="The feed's address (http or https)", name="A name to show (default: the feed's)")
    async def feeds_add(self, interaction: discord.Interaction, url: str, name: str | None = None) -> None:
        guild_id = interaction.guild_id
        assert guild_id is not None
        if self.fetcher is None:
            raise BadOption("feeds cannot be checked right now; try again later")
        check_url(url, self.fetcher.config.is_allowed_private)  # refuse private addresses before any fetch
        await interaction.response.defer(ephemeral=True, thinking=True)  # the test fetch may take seconds
        result = await check_feed_url(self.fetcher, url)
        if not result.ok:
            raise BadOption(f"{url} is not a readable feed: {result.error}. Nothing was added.")
        canonical = canonical_url(url)
        if any(s.url == url or canonical_url(s.url) == canonical for s in self.store.sources(guild_id)):
            raise BadOption("this server already follows that feed")
        title = (name or result.title or canonical).strip()[:100]
        source = SourceState(id=f"g{guild_id}-{slug(title) or 'feed'}-{len(self.store.sources(guild_id))}",
                             name=title, url=url, guild_id=guild_id)
        await self.store.commit(Batch(sources=(source,)))
        note = f" (note: {result.problem})" if result.problem else ""
        await self._done(interaction, f"Now following **{discord.utils.escape_markdown(title)}**: "
                                      f"{result.entries} items in the feed right now{note}. Its current items are "
                                      "stored without being announced; new ones appear in the digest.")

    async def _own_feed_autocomplete(self, interaction: discord.Interaction,
                                     current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=s.name[:100], value=s.id) for s in self.store.sources(interaction.guild_id)
                if s.guild_id == interaction.guild_id and current.casefold() in s.name.casefold()][:25]

    @feeds.command(name="remove", description="Stop following a feed this server added")
    @app_commands.describe(feed="The feed to remove")
    @app_commands.autocomplete(feed=_own_feed_autocomplete)
    async def feeds_remove(self, interaction: discord.Interaction, feed: str) -> None:
        source = self.store.source(feed)
        if source is None or source.guild_id != interaction.guild_id:
            raise NotFound("this server has no feed by that name (feeds from the bot's config can't be removed here)")
        await self.store.commit(Batch(remove_sources=(source.id,)))
        await self._done(interaction, f"Stopped following {discord.utils.escape_markdown(source.name)}.")

    @feeds.command(name="list", description="The feeds this server follows, and their health")
    async def feeds_list(self, interaction: discord.Interaction) -> None:
        await send_answer(interaction, self.briefing.sources(interaction.guild_id), ephemeral=True)

    # --- topics -------------------------------------------------------------------------------------

    @topics.command(name="add", description="Follow a topic: articles matching any keyword belong to it")
    @app_commands.describe(topic_id="Short id, e.g. sahel", name="Display name",
                           keywords="Comma-separated keywords, e.g. Mali, Burkina Faso, JNIM")
    @app_commands.rename(topic_id="id")
    async def topics_add(self, interaction: discord.Interaction, topic_id: str, name: str, keywords: str) -> None:
        guild_id = interaction.guild_id
        topic_slug = slug(topic_id)
        if not topic_slug:
            raise BadOption("the id needs letters or digits")
        if any(t.id == topic_slug for t in self.briefing.topics_for(guild_id)):
            raise BadOption(f"a topic with id {topic_slug!r} already exists here; use /config topics edit")
        topic = Topic(id=topic_slug, name=name.strip()[:100], keywords=_keywords(keywords), guild_id=guild_id)
        await self.store.commit(Batch(topics=(topic,)))
        await self._done(interaction, f"Topic **{discord.utils.escape_markdown(topic.name)}** ({topic_slug}) added "
                                      f"with {len(topic.keywords)} keywords. It applies to articles polled "
                                      "from now on.")

    @topics.command(name="edit", description="Change a topic's name or keywords")
    @app_commands.rename(topic_id="id")
    @app_commands.describe(topic_id="The topic's id", name="New display name", keywords="New comma-separated keywords")
    async def topics_edit(self, interaction: discord.Interaction, topic_id: str, name: str | None = None,
                          keywords: str | None = None) -> None:
        topic = self._own_topic(interaction.guild_id, topic_id)
        updated = replace(topic, name=(name or topic.name).strip()[:100],
                          keywords=_keywords(keywords) if keywords else topic.keywords)
        await self.store.commit(Batch(topics=(updated,)))
        await self._done(interaction, f"Topic {topic.id} updated: {', '.join(updated.keywords)}")

    @topics.command(name="remove", description="Stop following a topic this server added")
    @app_commands.rename(topic_id="id")
    async def topics_remove(self, interaction: discord.Interaction, topic_id: str) -> None:
        topic = self._own_topic(interaction.guild_id, topic_id)
        await self.store.commit(Batch(remove_topics=(topic.key,)))
        await self._done(interaction, f"Topic {topic.id} removed.")

    @topics.command(name="list", description="The topics this server follows")
    async def topics_list(self, interaction: discord.Interaction) -> None:
        lines = [f"• {t.name} ({t.id}){'' if t.guild_id else ' [from the bot config]'}: {', '.join(t.keywords)}"
                 for t in self.briefing.topics_for(interaction.guild_id)]
        await self._done(interaction, "\n".join(lines) or "No topics yet: add one with /config topics add.")

    def _own_topic(self, guild_id: int | None, topic_id: str) -> Topic:
        for t in self.store.topics(guild_id):
            if t.id == slug(topic_id):
                return t
        raise NotFound(f"this server has no topic {topic_id!r} of its own (config topics can't be changed here)")

    # --- digest -------------------------------------------------------------------------------------

    @digest.command(name="channel", description="Post the daily digest in this channel (or one topic's digest)")
    @app_commands.describe(topic="Only this topic's digest goes to this channel (default: every topic)")
    async def digest_channel(self, interaction: discord.Interaction, channel: discord.TextChannel,
                             topic: str | None = None) -> None:
        settings = self.store.guild(interaction.guild_id)  # type: ignore[arg-type]
        if topic is None:
            await self._save(interaction, lambda s: replace(s, digest_channel_id=channel.id, digest_enabled=True,
                                                            digest_disabled_reason=None))
            await self._done(interaction, f"The digest will be posted in {channel.mention} at {settings.digest_time} "
                                          f"({settings.timezone}), with only what is new.")
            return
        chosen = self.briefing.resolve_topic(topic, interaction.guild_id)
        assert chosen is not None
        await self._save(interaction, lambda s: replace(
            s, topic_channels={**s.topic_channels, chosen.key: channel.id},
            # the topic keeps its place: what was not yet delivered for it goes to its new channel, nothing twice
            topic_watermarks={**s.topic_watermarks, chosen.key: s.watermark(chosen.key)}, digest_enabled=True,
            digest_disabled_reason=None))
        await self._done(interaction, f"The digest of {chosen.name} will be posted in {channel.mention} at "
                                      f"{settings.digest_time} ({settings.timezone}); other topics keep their channel.")

    @digest.command(name="map", description="Attach the map of incidents to the digest, or stop")
    @app_commands.describe(on="On: each digest carries the map of its topics' incidents of the last 30 days")
    async def digest_map(self, interaction: discord.Interaction, on: bool) -> None:
        await self._save(interaction, lambda s: replace(s, digest_map=on))
        await self._done(interaction, "Each digest will carry the map of its topics' incidents (where there are "
                                      "any)." if on else "The digest goes out without a map.")

    @digest.command(name="chart", description="Attach the casualties chart to the digest, or stop")
    @app_commands.describe(on="On: each digest carries the chart of its topics' last 30 days")
    async def digest_chart(self, interaction: discord.Interaction, on: bool) -> None:
        await self._save(interaction, lambda s: replace(s, digest_chart=on))
        await self._done(interaction, "Each digest will carry the casualties chart of its topics (where it has "
                                      "figures to show)." if on else "The digest goes out without a chart.")

    @digest.command(name="unroute", description="Send a topic's digest back to the default digest channel")
    async def digest_unroute(self, interaction: discord.Interaction, topic: str) -> None:
        settings = self.store.guild(interaction.guild_id)  # type: ignore[arg-type]
        chosen = self.briefing.resolve_topic(topic, interaction.guild_id)
        assert chosen is not None
        if chosen.key not in settings.topic_channels:
            raise BadOption(f"{chosen.name} has no channel of its own: its digest goes to the default channel")
        await self._save(interaction, lambda s: replace(s, topic_channels={
            k: c for k, c in s.topic_channels.items() if k != chosen.key}))
        await self._done(interaction, f"The digest of {chosen.name} goes to the default digest channel again.")

    @digest.command(name="time", description="When to post the digest (24-hour HH:MM in the digest time zone)")
    async def digest_time(self, interaction: discord.Interaction, time: str) -> None:
        match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", time.strip())
        if not match:
            raise BadOption(f"{time!r} is not a time; use 24-hour HH:MM, e.g. 07:30")
        settings = self.store.guild(interaction.guild_id)  # type: ignore[arg-type]
        value = f"{int(match.group(1)):02d}:{match.group(2)}"
        await self._save(interaction, lambda s: replace(s, digest_time=value))
        await self._done(interaction, f"The digest time is now {value} ({settings.timezone}).")

    @digest.command(name="timezone", description="The digest's time zone, e.g. Asia/Karachi")
    async def digest_timezone(self, interaction: discord.Interaction, timezone: str) -> None:
        try:
            name = validate_timezone(timezone.strip(), "timezone")
        except SitrepError as exc:
            raise BadOption(str(exc)) from None
        settings = self.store.guild(interaction.guild_id)  # type: ignore[arg-type]
        await self._save(interaction, lambda s: replace(s, timezone=name))
        await self._done(interaction, f"The digest time zone is now {name} (digest at {settings.digest_time}).")

    @digest.command(name="off", description="Stop posting the digest")
    async def digest_off(self, interaction: discord.Interaction) -> None:
        await self._save(interaction, lambda s: replace(s, digest_enabled=False,
                                                        digest_disabled_reason="switched off by an admin"))
        await self._done(interaction, "The digest is off. Turn it on again with /config digest channel.")

    @digest.command(name="preview", description="Show what the next digest would post (nothing is marked as sent)")
    async def digest_preview(self, interaction: discord.Interaction) -> None:
        answer = self.briefing.digest(interaction.guild_id)
        if answer.empty:
            await self._done(interaction, "Nothing new since the last digest: the next one would not be posted.")
            return
        await send_answer(interaction, answer, ephemeral=True)

    # --- alerts -------------------------------------------------------------------------------------

    async def _topic_autocomplete(self, interaction: discord.Interaction,
                                  current: str) -> list[app_commands.Choice[str]]:
        wanted = current.casefold()
        return [app_commands.Choice(name=t.name[:100], value=t.id) for t in self.briefing.topics_for(
            interaction.guild_id) if wanted in t.name.casefold() or wanted in t.id.casefold()][:25]

    @alerts.command(name="add", description="Post new big claims, or events matching keywords, as they come in")
    @app_commands.describe(channel="Where to post: a text channel (follow-ups in threads) or a forum (one post "
                                   "per incident)", topic="Only this topic (default: every topic)",
                           min_killed="Alert on a claim of at least this many killed (one claim's own figure)",
                           min_injured="Alert on a claim of at least this many injured (one claim's own figure)",
                           keywords="Alert on events mentioning any of these (comma-separated)",
                           role="A role to mention on each new incident (nobody else is ever mentioned)")
    @app_commands.autocomplete(topic=_topic_autocomplete)
    async def alerts_add(self, interaction: discord.Interaction, channel: discord.TextChannel | discord.ForumChannel,
                         topic: str | None = None, min_killed: app_commands.Range[int, 1] | None = None,
                         min_injured: app_commands.Range[int, 1] | None = None, keywords: str | None = None,
                         role: discord.Role | None = None) -> None:
        if min_killed is None and min_injured is None and not (keywords or "").strip():
            raise BadOption("give min_killed, min_injured or keywords: an alert needs something to watch for")
        chosen = self.briefing.resolve_topic(topic, interaction.guild_id) if topic else None
        settings = self.store.guild(interaction.guild_id)  # type: ignore[arg-type]
        if len(settings.alert_rules) >= MAX_RULES:
            raise BadOption(f"this server has {MAX_RULES} alert rules already; remove one first")
        if role is not None and role.is_default():
            raise BadOption("@everyone can't be an alert's role: choose a role people opted into")
        number = max((int(k[1:]) for k in settings.alert_rules if k[1:].isdigit()), default=0) + 1
        rule = AlertRule(id=f"a{number}", channel_id=channel.id, topic=chosen.key if chosen else None,
                         min_killed=min_killed, min_injured=min_injured,
                         keywords=_keywords(keywords) if keywords and keywords.strip() else (),
                         role_id=role.id if role else None, since_seq=self.store.last_seq)
        await self._save(interaction, lambda s: replace(s, alert_rules={**s.alert_rules, rule.id: rule.to_json()}))
        await self._done(interaction, f"Alert {describe_rule(rule, chosen.name if chosen else None)}.\nNew facts are "
                                      "posted within one poll; each incident gets one post and later claims follow "
                                      f"in its thread. At most {self.briefing.config.alerts_per_hour} alerts an "
                                      "hour; the rest are summarised in one message."
                                      + ("\nThe role is pinged only if Sitrep may mention it (the role's "
                                         "\"Allow anyone to @mention\" setting)." if role else ""))

    @alerts.command(name="list", description="This server's alert rules")
    async def alerts_list(self, interaction: discord.Interaction) -> None:
        names = {t.key: t.name for t in self.briefing.topics_for(interaction.guild_id)}
        rules = self.store.guild(interaction.guild_id).rules  # type: ignore[arg-type]
        lines = [f"• {describe_rule(r, names.get(r.topic, r.topic) if r.topic else None)}" for r in rules]
        await self._done(interaction, "\n".join(lines) or "No alert rules yet: add one with /config alerts add.")

    async def _rule_autocomplete(self, interaction: discord.Interaction,
                                 current: str) -> list[app_commands.Choice[str]]:
        rules = self.store.guild(interaction.guild_id).rules  # type: ignore[arg-type]
        return [app_commands.Choice(name=describe_rule(r, r.topic)[:100], value=r.id) for r in rules
                if current.casefold() in describe_rule(r, r.topic).casefold()][:25]

    @alerts.command(name="remove", description="Stop an alert rule")
    @app_commands.rename(rule_id="id")
    @app_commands.describe(rule_id="The rule's id, as /config alerts list shows it (e.g. a1)")
    @app_commands.autocomplete(rule_id=_rule_autocomplete)
    async def alerts_remove(self, interaction: discord.Interaction, rule_id: str) -> None:
        settings = self.store.guild(interaction.guild_id)  # type: ignore[arg-type]
        wanted = rule_id.strip().lower()
        if wanted not in settings.alert_rules:
            raise NotFound(f"this server has no alert rule {rule_id!r} (see /config alerts list)")
        await self._save(interaction, lambda s: replace(s, alert_rules={k: v for k, v in s.alert_rules.items()
                                                                        if k != wanted}))
        await self._done(interaction, f"Alert rule {wanted} removed.")

    @app_commands.command(name="poll-interval", description="How often this server's feeds are polled (min 5m)")
    @app_commands.describe(interval="e.g. 15m, 1h")
    async def poll_interval(self, interaction: discord.Interaction, interval: str) -> None:
        try:
            value = parse_duration(interval)
        except ValueError as exc:
            raise BadOption(str(exc)) from None
        if value.total_seconds() < MIN_POLL:
            raise BadOption("the shortest polling interval is 5m: publishers deserve some peace")
        await self._save(interaction, lambda s: replace(s, poll_interval_s=int(value.total_seconds())))
        await self._done(interaction, f"This server's feeds will be polled every {format_duration(value)}.")


def _keywords(text: str) -> tuple[str, ...]:
    words = tuple(dict.fromkeys(k.strip() for k in text.split(",") if k.strip()))
    if not words:
        raise BadOption("give at least one keyword, separated by commas")
    return words


__all__ = ["ConfigCog"]
