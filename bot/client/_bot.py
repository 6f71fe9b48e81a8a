"""The Discord client: application commands only, no privileged intents, no mentions ever.

Built by the composition root (command.py) with everything it needs passed in. ``setup_hook`` adds the
cogs, schedules polling and digests and syncs commands only when the command set changed (a hash in the
data directory), so restarts don't spend Discord's command-sync rate limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import logging
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import discord
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from discord import app_commands
from discord.ext import commands

from bot.briefing import AlertMessage, AlertSummary, Briefing, DigestAnswer, render_embeds
from bot.client._alerts import AlertDispatcher, Delivered
from bot.client._digests import ChannelGone, DigestScheduler, alert_nonce, part_nonce
from bot.config import Config
from bot.errors import SitrepError
from bot.sources import Fetcher, Poller
from storage import Store

if TYPE_CHECKING:
    from bot.client._leader import Lease

log = logging.getLogger(__name__)

# What the bot needs, and nothing more: read the channel, post, embed, and follow alerts up in threads.
PERMISSIONS = discord.Permissions(view_channel=True, send_messages=True, embed_links=True,
                                  send_messages_in_threads=True, create_public_threads=True,
                                  attach_files=True)  # the digest's chart
THREAD_ARCHIVE_MINUTES: Literal[1440] = 1440
THREAD_EXISTS = 160004  # Discord: "A thread has already been created for this message"
NO_MENTIONS = discord.AllowedMentions.none()
OVER_LIMIT_POST = "Alerts over the hourly limit"  # a forum's one post for the hourly summaries


def invite_url(application_id: int) -> str:
    return discord.utils.oauth_url(application_id, permissions=PERMISSIONS,
                                   scopes=("bot", "applications.commands"))


class SitrepBot(commands.AutoShardedBot):
    """Sharded: ``shard_ids`` and ``shard_count`` (options) make this process run those shards of that many;
    without them discord.py asks Discord for the count (GET /gateway/bot) and runs every shard.

    ``lease``: when several processes share one store, only the lease's leader polls, alerts and posts digests.
    Without one (one process), this process runs those jobs. The bot owns the lease's callbacks: elected, it
    schedules the jobs and catches up missed digests; deposed, it removes them (a run already going finishes).
    Slash commands are answered by every process, for the guilds of its shards."""

    def __init__(self, *, config: Config, store: Store, briefing: Briefing, poller: Poller | None,
                 fetcher: Fetcher | None, scheduler: AsyncIOScheduler, lease: Lease | None = None,
                 **options: Any) -> None:
        intents = discord.Intents.none()
        intents.guilds = True  # the only intent: guild and channel metadata. No privileged ones.
        super().__init__(command_prefix=commands.when_mentioned, intents=intents, allowed_mentions=NO_MENTIONS,
                         help_command=None, **options)
        self.config = config
        self.store = store
        self.briefing = briefing
        self.poller = poller
        self.fetcher = fetcher
        self.scheduler = scheduler
        self.digests = DigestScheduler(store, briefing, scheduler, self.send_digest, polls=poller)
        self.alerts = AlertDispatcher(store, briefing, self.send_alert, self.send_alert_summary,
                                      limit=config.alerts_per_hour)
        self.lease = lease
        self._catching_up: asyncio.Task[None] | None = None
        if lease is not None:
            self.digests.active = False  # until elected
            lease.on_elected, lease.on_deposed = self._lead, self._follow

    async def setup_hook(self) -> None:
        from cogs.config import ConfigCog
        from cogs.export import ExportCog
        from cogs.info import InfoCog
        from cogs.owner import OwnerCog

        await self.add_cog(InfoCog(self.briefing))
        await self.add_cog(OwnerCog(self))
        await self.add_cog(ExportCog(self.briefing))
        await self.add_cog(ConfigCog(self.store, self.briefing, self.fetcher, self.digests))
        self.tree.on_error = self.on_app_command_error  # type: ignore[method-assign]  # discord.py's documented hook
        # Before the gateway connects, so no interaction can arrive first: a /search before the word index
        # existed built it on the event loop (3-5 s at 100k facts: "The application did not respond").
        await self.store.warm_search()
        self.store.subscribe(self._settings_changed)
        if not self.scheduler.running:
            self.scheduler.start()
        await self.sync_commands()
        if self.lease is None:
            await self._lead()
        else:
            await self.lease.start()  # elected at once if no other process leads: then _lead() ran

    async def on_ready(self) -> None:
        log.info("connected as %s to %d guilds on shards %s of %s", self.user, len(self.guilds),
                 sorted(self.shards), self.shard_count)

    async def close(self) -> None:
        if self.lease is not None:
            await self.lease.stop()  # deposed first: the jobs stop before another process may start them
        await self._stop_catching_up()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        await super().close()

    # --- the jobs of the one process that runs them ----------------------------------------------

    async def _lead(self) -> None:
        """Poll (alerts after each cycle) and post digests from now on; missed digests once connected and once
        the first poll cycle (the work a dead leader may have left unfinished) has committed."""
        if self.poller is not None:
            self.poller.schedule(self.scheduler, after=self.alerts.run_all)
        self.digests.active = True
        self.digests.schedule_all()
        await self._stop_catching_up()
        self._catching_up = asyncio.create_task(self._catch_up(), name="digest catch-up")

    async def _catch_up(self) -> None:
        await self.wait_until_ready()
        try:
            await self.digests.catch_up()
        except Exception:
            log.exception("digest catch-up failed")

    async def _follow(self) -> None:
        """Another process runs the jobs now (or none, while this one is stopping)."""
        await self._stop_catching_up()  # a digest cut short is re-sent by the next leader with the same nonce
        self.digests.active = False
        self.digests.unschedule_all()
        if self.poller is not None:
            self.poller.unschedule(self.scheduler)
        elif self.scheduler.get_job("poll") is not None:
            self.scheduler.remove_job("poll")

    def _settings_changed(self, guilds: frozenset[int]) -> None:
        """Another process changed these guilds' settings (a /config answered by the shard that holds the
        guild): the leader reschedules their digests. Followers schedule nothing."""
        for guild_id in guilds:
            self.digests.schedule(self.store.guild(guild_id))

    async def _stop_catching_up(self) -> None:
        task, self._catching_up = self._catching_up, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # --- command sync -------------------------------------------------------------------------------

    def _command_hash(self) -> str:
        payload = [c.to_dict(self.tree) for c in self.tree.get_commands()]
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()

    async def sync_commands(self, force: bool = False) -> bool:
        """Sync the global commands if they changed since the last sync (or ``force``)."""
        marker = Path(self.config.data_dir) / "commands.sha256"
        digest = self._command_hash()
        if not force and marker.exists() and marker.read_text().strip() == digest:
            return False
        await self.tree.sync()
        try:  # the data directory holds no store with the PostgreSQL driver: it may not exist yet
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(digest)
        except OSError as exc:
            log.warning("cannot record the command sync in %s: %s (commands sync again next start)", marker, exc)
        log.info("application commands synced")
        return True

    # --- digests ------------------------------------------------------------------------------------

    async def send_digest(self, channel_id: int, digest: DigestAnswer, files: Sequence[tuple[str, bytes]] = (), *,
                          nonce: str | None = None) -> None:
        """The digest's pages; attached files (its chart) go with the first page, where the channel allows
        files at all: a channel without Attach Files still gets the digest. With a ``nonce``, page i carries
        ``part_nonce(nonce, i)`` (and discord.py asks Discord to enforce it): a re-send after a crash gets the
        message Discord already has instead of a second one."""
        try:
            channel = self.get_channel(channel_id) or await self.fetch_channel(channel_id)
            me = getattr(getattr(channel, "guild", None), "me", None)
            if files and me is not None and not channel.permissions_for(me).attach_files:  # type: ignore[union-attr]
                log.warning("digest chart left out: no Attach Files permission in channel %s", channel_id)
                files = ()
            for i, page in enumerate(render_embeds(digest)):
                extra: dict[str, Any] = {}
                if i == 0 and files:
                    extra["files"] = [discord.File(io.BytesIO(data), filename=name) for name, data in files]
                if nonce is not None:
                    extra["nonce"] = part_nonce(nonce, i)
                await channel.send(embeds=[discord.Embed.from_dict(e) for e in page],  # type: ignore[union-attr]
                                   allowed_mentions=NO_MENTIONS, **extra)
        except (discord.Forbidden, discord.NotFound) as exc:
            raise ChannelGone(f"{exc.status} {exc.text or type(exc).__name__}") from exc

    # --- alerts -------------------------------------------------------------------------------------

    async def send_alert(self, message: AlertMessage) -> Delivered:
        """A new post for an incident (a forum post in a forum channel), or a follow-up in its thread. A channel
        message carries ``alert_nonce``: a leader that died after Discord accepted it and before recording it
        leaves the re-send by the next leader to Discord, which returns the same message. Forum posts take no
        nonce: a post whose intent an earlier run recorded (``message.recovering``) is looked for among the
        forum's active posts, by the incident id its first message shows, before a new one is made."""
        try:
            embeds = [discord.Embed.from_dict(e) for e in render_embeds(message.answer)[0]]
            if message.follow_up_of is not None:
                try:
                    return await self._follow_up(message, embeds)
                except discord.NotFound:  # the post or its thread was deleted: the incident gets a new post
                    log.info("alert post %s is gone; posting the incident anew", message.follow_up_of)
            channel = self.get_channel(message.channel_id) or await self.fetch_channel(message.channel_id)
            # Only the role an admin chose can ping; nothing from a feed can.
            mentions = discord.AllowedMentions(everyone=False, users=False, replied_user=False,
                                               roles=[discord.Object(r) for r in message.role_ids])
            content = message.content or None
            if isinstance(channel, discord.ForumChannel):
                found = await self._forum_post_of(channel, message) if message.recovering else None
                if found is not None:
                    log.info("alert forum post %s for incident %s was made before a restart: not made again",
                             found, message.incident)
                    return Delivered(found, found)
                created = await channel.create_thread(name=message.thread_name, content=content, embeds=embeds,
                                                      allowed_mentions=mentions)
                return Delivered(created.thread.id, created.thread.id)
            sent = await channel.send(content=content, embeds=embeds, allowed_mentions=mentions,  # type: ignore[union-attr]
                                      nonce=alert_nonce(message))
            return Delivered(sent.id)
        except (discord.Forbidden, discord.NotFound) as exc:
            raise ChannelGone(f"{exc.status} {exc.text or type(exc).__name__}") from exc

    async def _forum_post_of(self, forum: discord.ForumChannel, message: AlertMessage) -> int | None:
        """The incident's post in ``forum``, if one is active: a post by this bot whose first message's embed
        shows the incident's id (the footer's "/incident <id>", or the article's URL)."""
        marker = f"/incident {message.incident}"
        me = self.user.id if self.user is not None else None
        for thread in await forum.guild.active_threads():
            # Cheap first: a post of this bot's, in this forum, with the incident's name.
            if thread.parent_id != forum.id or thread.owner_id != me or thread.name != message.thread_name:
                continue
            try:
                first = await thread.fetch_message(thread.id)
            except discord.NotFound:
                continue
            if any(marker in (e.footer.text or "") or e.url == message.incident for e in first.embeds):
                return thread.id
        return None

    async def _follow_up(self, message: AlertMessage, embeds: list[discord.Embed]) -> Delivered:
        assert message.follow_up_of is not None
        thread_id = message.thread_id
        if thread_id is None:  # the first follow-up on a channel message: open its thread
            channel = self.get_channel(message.channel_id) or await self.fetch_channel(message.channel_id)
            try:
                thread = await channel.get_partial_message(message.follow_up_of).create_thread(  # type: ignore[union-attr]
                    name=message.thread_name, auto_archive_duration=THREAD_ARCHIVE_MINUTES)
                thread_id = thread.id
            except discord.Forbidden as exc:
                raise ChannelGone("403 Sitrep may not open threads there (it needs Create Public Threads)") from exc
            except discord.HTTPException as exc:
                if exc.code != THREAD_EXISTS:  # opened before a restart: a message's thread has the message's id
                    raise
                thread_id = message.follow_up_of
        thread_channel = self.get_partial_messageable(thread_id, type=discord.ChannelType.public_thread)
        await thread_channel.send(embeds=embeds, allowed_mentions=NO_MENTIONS, nonce=alert_nonce(message))
        return Delivered(message.follow_up_of, thread_id)

    async def send_alert_summary(self, summary: AlertSummary) -> Delivered | None:
        """The alerts over the hourly limit, in one message. A forum is one post per incident: its summaries
        go, one reply per hour, into a single post of their own (made once, and again if it was deleted)."""
        try:
            channel = self.get_channel(summary.channel_id) or await self.fetch_channel(summary.channel_id)
            embeds = [discord.Embed.from_dict(e) for e in render_embeds(summary.answer)[0]]
            if not isinstance(channel, discord.ForumChannel):
                await channel.send(embeds=embeds, allowed_mentions=NO_MENTIONS)  # type: ignore[union-attr]
                return None
            if summary.post_id is not None:
                try:
                    thread = self.get_partial_messageable(summary.post_id, type=discord.ChannelType.public_thread)
                    await thread.send(embeds=embeds, allowed_mentions=NO_MENTIONS)
                    return Delivered(summary.post_id, summary.post_id)
                except discord.NotFound:
                    log.info("over-the-limit post %s is gone; making it anew", summary.post_id)
            created = await channel.create_thread(name=OVER_LIMIT_POST, embeds=embeds, allowed_mentions=NO_MENTIONS)
            return Delivered(created.thread.id, created.thread.id)
        except (discord.Forbidden, discord.NotFound) as exc:
            raise ChannelGone(f"{exc.status} {exc.text or type(exc).__name__}") from exc

    # --- errors -------------------------------------------------------------------------------------

    async def on_app_command_error(self, interaction: discord.Interaction,
                                   error: app_commands.AppCommandError) -> None:
        original = getattr(error, "original", error)
        if isinstance(original, SitrepError):
            message = str(original)
        elif isinstance(error, (app_commands.MissingPermissions, app_commands.CheckFailure)):
            message = "You need the Manage Server permission to change Sitrep's settings."
        else:
            ref = secrets.token_hex(3)
            log.error("command %s failed (ref %s)", getattr(interaction.command, "qualified_name", "?"), ref,
                      exc_info=original)
            message = f"Something went wrong on our side (ref {ref}). It has been logged."
        await reply_ephemeral(interaction, message)


async def reply_ephemeral(interaction: discord.Interaction, message: str) -> None:
    if interaction.response.is_done():
        await interaction.followup.send(message, ephemeral=True, allowed_mentions=NO_MENTIONS)
    else:
        await interaction.response.send_message(message, ephemeral=True, allowed_mentions=NO_MENTIONS)
