"""Scheduled digests, exactly once.

Each guild with a digest channel gets an APScheduler cron job (id ``digest:<guild>``) at its time in its
time zone; the trigger handles daylight saving. A *slot* is one scheduled time (UTC ISO). A slot is posted
at most once: the guild's ``last_digest_slot`` and watermark advance only after Discord accepted every
message, and a per-guild lock keeps a cron run and a start-up catch-up from racing. After a restart across
the digest time, the missed slot is caught up once if it is within the grace window. Nothing new → nothing
posted (the slot is still marked handled). A channel that is gone or forbidden switches the digest off and
leaves a notice for the admins, instead of retrying into a storm.

A digest never runs ahead of a poll cycle already in flight. At its slot the job first waits (``polls.settled``)
for a cycle that started before the slot to commit, and, after the poll job was (re)scheduled, for its first
cycle: a new leader redoes the poll work a dead one left unfinished before it catches up missed slots. The
wait is bounded by ``POLL_WAIT`` after the slot (or after the catch-up started): 45 s, so that the digest still
goes out within a minute of its slot. A routine cycle takes a second or two (feeds fetched concurrently, a few
new articles); each request is bounded by ``[fetch] timeout`` (20 s by default), so 45 s also covers a cycle
that began just before the slot and met a feed or an article page that answered only at its timeout. A cycle
slower than that (a first poll of a large backlog) is not waited for: the digest goes out without it, a warning
says so, and its articles are in the next digest. A digest that finds nothing new posts nothing and says so in
the log, with its slot and guild.

A process can die after Discord accepted a post but before its slot was recorded. So every message of a
digest carries a nonce derived from (guild, channel, route, slot) and its part number, and discord.py sends it
with ``enforce_nonce``: Discord answers a re-send with the same nonce in the same channel, within about five
minutes, with the message it already has. A restart within that window re-sends and posts nothing twice; a
restart after it can post that digest again (Discord forgets the nonce).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.briefing import AlertMessage, Briefing, DigestAnswer, render_chart, render_map
from bot.model import GuildSettings
from storage import Store

log = logging.getLogger(__name__)
GRACE = timedelta(hours=6)
NONCE_MAX = 25  # Discord's limit on a message nonce, in characters
POLL_WAIT = timedelta(seconds=45)  # the longest a digest waits for a poll cycle in flight (see above)
IN_FLIGHT_KEPT = 16  # digests in flight remembered per guild (one per channel normally; a crash leaves one)


class Sender(Protocol):
    """Sends one digest (and files to attach: name, bytes) to a channel, each message with the nonce
    ``part_nonce(nonce, i)``; raises ChannelGone when the channel cannot be posted to any more."""

    async def __call__(self, channel_id: int, digest: DigestAnswer, files: Sequence[tuple[str, bytes]] = (), *,
                       nonce: str | None = None) -> None: ...


def digest_nonce(guild_id: int, channel_id: int, slot_iso: str, route: str | None = None) -> str:
    """The nonce of one channel's digest for one slot: the same in every process, 20 characters (a stable hash;
    the route keeps a topic's digest apart from the default one if both go to the same channel)."""
    key = f"{guild_id}:{channel_id}:{route or ''}:{slot_iso}"
    return "dg" + hashlib.sha256(key.encode()).hexdigest()[:18]


def alert_nonce(message: AlertMessage) -> str:
    """The nonce of one alert message: its channel, its incident and the facts it announces (20 characters)."""
    key = f"{message.channel_id}:{message.key}:{message.follow_up_of or ''}:{','.join(sorted(message.fact_ids))}"
    return "al" + hashlib.sha256(key.encode()).hexdigest()[:18]


def part_nonce(nonce: str, part: int) -> str:
    """The nonce of the digest's ``part``-th message (0: the first page, with the chart)."""
    result = f"{nonce}.{part}"
    if len(result) > NONCE_MAX:
        raise ValueError(f"nonce {result!r} is longer than Discord's {NONCE_MAX} characters")
    return result


class PollWork(Protocol):
    """The poll job as the digest job sees it (``bot.sources.Poller``)."""

    async def settled(self, before: datetime, within: float) -> bool: ...


class ChannelGone(Exception):
    """The digest channel answered 403 or 404: posting again would fail again."""


def latest_slot(settings: GuildSettings, now: datetime) -> datetime:
    """The most recent scheduled digest time at or before ``now``, in UTC."""
    hour, minute = (int(x) for x in settings.digest_time.split(":"))
    zone = ZoneInfo(settings.timezone)
    local_now = now.astimezone(zone)
    slot = local_now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if slot > local_now:
        slot = (local_now - timedelta(days=1)).replace(hour=hour, minute=minute, second=0, microsecond=0)
    # Round-trip through UTC so a time skipped by a DST jump lands on the real instant.
    return slot.astimezone(UTC)


class DigestScheduler:
    def __init__(self, store: Store, briefing: Briefing, scheduler: AsyncIOScheduler, send: Sender,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC), polls: PollWork | None = None) -> None:
        self.store = store
        self.polls = polls  # the poll work a digest waits for; None: nothing polls in this process
        self.briefing = briefing
        self.scheduler = scheduler
        self.send = send
        self.clock = clock
        self._locks: dict[int, asyncio.Lock] = {}
        # Whether this process runs digests (with a leader lease: only while it leads). Inactive, schedule()
        # only removes jobs, so a settings change handled here never starts a second digest.
        self.active = True

    def schedule_all(self) -> None:
        for settings in self.store.guilds():
            self.schedule(settings)

    def unschedule_all(self) -> None:
        for job in self.scheduler.get_jobs():
            if job.id.startswith("digest:"):
                job.remove()

    def schedule(self, settings: GuildSettings) -> None:
        job_id = f"digest:{settings.guild_id}"
        if not self.active or not settings.digest_enabled or (settings.digest_channel_id is None
                                                               and not settings.topic_channels):
            if self.scheduler.get_job(job_id):
                self.scheduler.remove_job(job_id)
            return
        hour, minute = (int(x) for x in settings.digest_time.split(":"))
        trigger = CronTrigger(hour=hour, minute=minute, timezone=ZoneInfo(settings.timezone))
        self.scheduler.add_job(self.at_slot, trigger, args=[settings.guild_id], id=job_id, replace_existing=True,
                               coalesce=True, max_instances=1, misfire_grace_time=int(GRACE.total_seconds()))

    async def catch_up(self) -> int:
        """At start-up: post each guild's missed slot once, if it is within the grace window."""
        posted = 0
        await self._polls_settled(self.clock(), self.clock() + POLL_WAIT, "catch-up")
        now = self.clock()
        for settings in self.store.guilds():
            if not settings.digest_enabled:
                continue
            slot = latest_slot(settings, now)
            if now - slot <= GRACE and any(self._slot_of(settings, route) != slot.isoformat()
                                           for _, _, route in self._routes(settings)):
                posted += await self.run(settings.guild_id, slot=slot) == "posted"
        return posted

    def _routes(self, settings: GuildSettings) -> list[tuple[int, list[str], str | None]]:
        return settings.routes([t.key for t in self.briefing.topics_for(settings.guild_id)])

    @staticmethod
    def _slot_of(settings: GuildSettings, route: str | None) -> str | None:
        return settings.last_digest_slot if route is None else settings.channel_slots.get(route)

    async def at_slot(self, guild_id: int) -> str:
        """The cron job: the latest slot's digest, once the poll cycle in flight at the slot has committed."""
        slot = latest_slot(self.store.guild(guild_id), self.clock())
        await self._polls_settled(slot, slot + POLL_WAIT, f"guild={guild_id} slot={slot.isoformat()}")
        return await self.run(guild_id, slot=slot)

    async def _polls_settled(self, before: datetime, deadline: datetime, what: str) -> None:
        if self.polls is None:
            return
        if not await self.polls.settled(before, (deadline - self.clock()).total_seconds()):
            log.warning("digest %s: the poll cycle in flight since before %s has not committed after %ds; the "
                        "digest goes out without it (its articles will be in the next one)", what,
                        before.isoformat(), POLL_WAIT.total_seconds())

    async def run(self, guild_id: int, slot: datetime | None = None) -> str:
        """Post the digest for ``slot`` (default: the latest slot) to every channel it goes to: the default
        channel and each topic's own. Each channel is recorded as soon as Discord accepted its post, so a
        failure or a restart half-way never posts a channel's digest twice. Returns what happened."""
        lock = self._locks.setdefault(guild_id, asyncio.Lock())
        async with lock:
            settings = self.store.guild(guild_id)
            routes = self._routes(settings)
            if not settings.digest_enabled or not routes:
                return "off"
            slot_iso = (slot or latest_slot(settings, self.clock())).isoformat()
            outcomes = []
            for channel, topic_keys, route in routes:
                outcomes.append(await self._post(guild_id, channel, topic_keys, route, slot_iso))
            for outcome in ("posted", "channel gone", "nothing new"):
                if outcome in outcomes:
                    return outcome
            return "already posted"

    async def _post(self, guild_id: int, channel: int, topic_keys: list[str], route: str | None,
                    slot_iso: str) -> str:
        settings = self.store.guild(guild_id)
        if self._slot_of(settings, route) == slot_iso:
            return "already posted"
        nonce = digest_nonce(guild_id, channel, slot_iso, route)
        in_flight = settings.digests_in_flight.get(nonce)
        digest = self.briefing.digest(guild_id, topic_keys=topic_keys, route=route, up_to=in_flight)
        if digest.empty:
            await self.briefing.confirm_digest(guild_id, digest, slot=slot_iso, now=self.clock(), route=route,
                                               topic_keys=topic_keys, nonce=nonce)
            log.info("digest nothing new guild=%s channel=%s slot=%s: no new facts since the last digest, nothing "
                     "posted", guild_id, channel, slot_iso)
            return "nothing new"
        files = await self._chart(settings, topic_keys) + await self._map(settings, topic_keys)
        if in_flight is None:  # the intent first: a crash after Discord's accept re-sends this very digest
            await self.briefing.update_guild(guild_id, lambda s: replace(s, digests_in_flight={
                **dict(list(s.digests_in_flight.items())[-(IN_FLIGHT_KEPT - 1):]), nonce: digest.up_to_seq}))
        try:
            await self.send(channel, digest, files, nonce=nonce)
        except ChannelGone as exc:
            await self._switch_off(settings, str(exc), route)
            return "channel gone"
        await self.briefing.confirm_digest(guild_id, digest, slot=slot_iso, now=self.clock(), route=route,
                                           topic_keys=topic_keys, nonce=nonce)
        log.info("digest posted guild=%s channel=%s slot=%s up_to_seq=%s", guild_id, channel, slot_iso,
                 digest.up_to_seq)
        return "posted"

    async def _chart(self, settings: GuildSettings, topic_keys: list[str]) -> list[tuple[str, bytes]]:
        """The digest's chart, when the admins asked for it and it shows something; drawn off the event loop.
        A chart that fails to draw is logged and the digest goes out without it."""
        if not settings.digest_chart:
            return []
        data = self.briefing.digest_chart(settings.guild_id, topic_keys, now=self.clock())
        if data is None:
            return []
        try:
            png = await asyncio.to_thread(render_chart, data)
        except Exception:
            log.exception("digest chart failed guild=%s", settings.guild_id)
            return []
        return [("digest-casualties.png", png)]

    async def _map(self, settings: GuildSettings, topic_keys: list[str]) -> list[tuple[str, bytes]]:
        """The map of the digest's topics' incidents (the last 30 days), when the admins asked for it and there
        are incidents; read and drawn off the event loop. A map that fails is logged; the digest goes out."""
        if not settings.digest_map:
            return []
        try:
            data = await asyncio.to_thread(self.briefing.map, guild_id=settings.guild_id, topic_keys=topic_keys,
                                           now=self.clock())
            if not data.markers and not data.unplaced:
                return []
            png = await asyncio.to_thread(render_map, data)
        except Exception:
            log.exception("digest map failed guild=%s", settings.guild_id)
            return []
        return [("digest-map.png", png)]

    async def _switch_off(self, settings: GuildSettings, reason: str, route: str | None = None) -> None:
        if route is not None:  # a topic's own channel is gone: its topics go back to the default channel
            topics = [k for k, c in settings.topic_channels.items() if str(c) == route]
            notice = (f"Sitrep cannot post in channel {route} ({reason}): the digest of {', '.join(topics)} goes to "
                      "the default digest channel again. Route it anew with /config digest channel.")
            await self.briefing.update_guild(settings.guild_id, lambda s: replace(
                s, topic_channels={k: c for k, c in s.topic_channels.items() if str(c) != route},
                notices=(*s.notices, notice)))
            log.warning("digest route dropped guild=%s channel=%s reason=%s", settings.guild_id, route, reason)
            return
        notice = (f"The daily digest was switched off: Sitrep cannot post in channel {settings.digest_channel_id} "
                  f"({reason}). Choose a channel again with /config digest channel.")
        updated = await self.briefing.update_guild(settings.guild_id, lambda s: replace(
            s, digest_enabled=False, digest_disabled_reason=reason, notices=(*s.notices, notice)))
        self.schedule(updated)
        log.warning("digest switched off guild=%s reason=%s", settings.guild_id, reason)
