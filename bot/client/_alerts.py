"""Alerts after each poll cycle, exactly once.

The poll job calls :meth:`AlertDispatcher.run_all` after every cycle. For each guild with alert rules the
briefing layer plans the alerts (pure: new facts + rules + what was already posted → messages); this module
sends them one by one and records each in the guild's settings only after Discord accepted it: the
"channel:fact" keys it covered, the incident's post and thread, the time (for the hourly limit). When the
whole plan went out, the watermark advances and those keys are dropped. A new post's intent is recorded before
it is sent (``alerts_in_flight``): a channel message carries a nonce Discord deduplicates, but a forum post
takes none, so after a crash between Discord's accept and the record the bot looks for the incident's post
among the forum's active threads before making another. A send that fails for an unexpected
reason stops the guild's run; the next cycle resumes without posting anything twice. A channel that is gone
or forbidden removes the rules that post there and leaves a notice for the admins, instead of retrying into a
storm. A per-guild lock keeps two runs (a poll tick and a restart's run) from racing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from bot.briefing import AlertMessage, AlertSummary, Briefing, recent_alerts, sent_key, summary_key
from bot.client._digests import ChannelGone
from bot.model import GuildSettings
from storage import Store

log = logging.getLogger(__name__)
KEEP_POSTS = 500  # incidents remembered per guild for follow-ups (the oldest are forgotten first)


@dataclass(frozen=True, slots=True)
class Delivered:
    """What Discord accepted: the incident's post (message id, or forum post id) and its thread, if any."""

    post_id: int
    thread_id: int | None = None


# Sends one alert; raises ChannelGone when the channel cannot be posted to any more.
AlertSender = Callable[[AlertMessage], Awaitable[Delivered]]
# Sends one over-the-limit summary; in a forum, returns the post it went into.
SummarySender = Callable[[AlertSummary], Awaitable[Delivered | None]]


class AlertDispatcher:
    def __init__(self, store: Store, briefing: Briefing, send: AlertSender, send_summary: SummarySender, *,
                 limit: int, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.store = store
        self.briefing = briefing
        self.send = send
        self.send_summary = send_summary
        self.limit = limit
        self.clock = clock
        self._locks: dict[int, asyncio.Lock] = {}

    async def run_all(self) -> int:
        """After a poll cycle: every guild's alerts. Returns how many alerts were posted."""
        posted = 0
        for settings in self.store.guilds():
            if settings.alert_rules:
                try:
                    posted += await self.run(settings.guild_id)
                except Exception:  # one guild's failure must not hold back the others' alerts
                    log.exception("alerts failed guild=%s (retried after the next poll)", settings.guild_id)
        return posted

    async def run(self, guild_id: int) -> int:
        lock = self._locks.setdefault(guild_id, asyncio.Lock())
        async with lock:
            now = self.clock()
            plan = self.briefing.alerts(guild_id, limit=self.limit, now=now)
            gone: set[int] = set()
            posted = 0
            for message in plan.messages:
                if message.channel_id in gone:
                    continue
                if message.follow_up_of is None:
                    await self._intend(guild_id, message.key)
                try:
                    delivered = await self.send(message)
                except ChannelGone as exc:
                    gone.add(message.channel_id)
                    await self._drop_channel(guild_id, message.channel_id, str(exc))
                    continue
                new_post = delivered.post_id != message.follow_up_of  # a follow-up whose post was gone: a new one
                await self._record(guild_id, message.channel_id, message.fact_ids, now if new_post else None,
                                   message.key, delivered, message.thread_name)
                posted += 1
            for summary in plan.summaries:
                if summary.channel_id in gone:
                    continue
                try:
                    into = await self.send_summary(summary)
                except ChannelGone as exc:
                    await self._drop_channel(guild_id, summary.channel_id, str(exc))
                    continue
                await self._record(guild_id, summary.channel_id, summary.fact_ids, None,
                                   summary_key(summary.channel_id) if into else None, into)
            settings = self.store.guild(guild_id)
            if plan.up_to_seq > settings.alert_watermark or settings.alerts_sent:
                await self.briefing.update_guild(guild_id, lambda s: replace(
                    s, alert_watermark=max(s.alert_watermark, plan.up_to_seq), alerts_sent=()))
            if posted or plan.summaries:
                log.info("alerts guild=%s posted=%s summarised=%s up_to_seq=%s", guild_id, posted,
                         sum(s.count for s in plan.summaries), plan.up_to_seq)
            return posted

    async def _intend(self, guild_id: int, key: str) -> None:
        """Before a new post: the intent, so that a restart after a crash looks for the post before another."""
        if key in self.store.guild(guild_id).alerts_in_flight:
            return
        await self.briefing.update_guild(guild_id, lambda s: replace(
            s, alerts_in_flight=(*s.alerts_in_flight[-(KEEP_POSTS - 1):], key)))

    async def _record(self, guild_id: int, channel_id: int, fact_ids: tuple[str, ...], now: datetime | None,
                      key: str | None = None, delivered: Delivered | None = None, name: str | None = None) -> None:
        """Once Discord accepted a post: what it covered, where its incident lives and its name, when it counted
        (``now``: a new post; follow-ups and summaries do not count towards the hourly limit)."""
        keys = tuple(sent_key(channel_id, f) for f in fact_ids)

        def record(settings: GuildSettings) -> GuildSettings:  # applied to the settings as they are when written
            posts, threads = dict(settings.alert_posts), dict(settings.alert_threads)
            names = dict(settings.alert_names)
            if key is not None and delivered is not None:
                if posts.pop(key, None) != delivered.post_id:
                    threads.pop(key, None)  # a new post (the old one was deleted): its old thread is not its thread
                posts[key] = delivered.post_id  # re-inserted: the most recent incidents are the ones kept
                if delivered.thread_id is not None:
                    threads[key] = delivered.thread_id
                if name and key not in names:
                    names[key] = name
                for old in list(posts)[:-KEEP_POSTS]:
                    posts.pop(old)
                    threads.pop(old, None)
                    names.pop(old, None)
            times = (*recent_alerts(settings.alert_times, now), now.isoformat()) if now else settings.alert_times
            return replace(settings, alerts_sent=(*settings.alerts_sent, *keys), alert_posts=posts,
                           alert_threads=threads, alert_times=times, alert_names=names,
                           alerts_in_flight=tuple(k for k in settings.alerts_in_flight if k != key))

        await self.briefing.update_guild(guild_id, record)

    async def _drop_channel(self, guild_id: int, channel_id: int, reason: str) -> None:
        settings = self.store.guild(guild_id)
        dropped = [r.id for r in settings.rules if r.channel_id == channel_id]
        notice = (f"Alert rule{'s' if len(dropped) != 1 else ''} {', '.join(dropped)} removed: Sitrep cannot post "
                  f"in channel {channel_id} ({reason}). Add {'them' if len(dropped) != 1 else 'it'} again with "
                  "/config alerts add.")
        await self.briefing.update_guild(guild_id, lambda s: replace(
            s, alert_rules={k: v for k, v in s.alert_rules.items() if k not in dropped}, notices=(*s.notices, notice),
            alerts_in_flight=tuple(k for k in s.alerts_in_flight if not k.startswith(f"{channel_id}:"))))
        log.warning("alerts to channel %s switched off guild=%s reason=%s", channel_id, guild_id, reason)

