"""A digest never runs ahead of a poll cycle already in flight at its slot.

The slot's digest must carry what a cycle that started before the slot stores, whether that cycle commits a
moment after the slot (no failover), or is the first cycle of a new leader elected around the slot, redoing
the poll work the dead leader's cycle never committed. The digest job and the poller share a controllable
clock here (APScheduler's own timers run on the real clock: the test starts the jobs the scheduler would
start, at the moments it would start them).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.client import latest_slot
from bot.extract import Extractor, InlineExtraction
from bot.sources import Poller
from storage import Batch
from tests.client.conftest import CHANNEL_A, CHANNEL_B, GUILD_A, GUILD_B, World
from tests.conftest import until

GUILDS = {GUILD_A: CHANNEL_A, GUILD_B: CHANNEL_B}
# What the cycle in flight at the slot brings: one claim in each of the two topics.
NEW = {"kurram-toll-27": ("Pakistan raises military death toll from weekend border clashes to 27",
                          "Pakistan's military said on Tuesday that 27 of its soldiers had been killed in Saturday's "
                          "fighting in Kurram, up from 23."),
       "el-fasher-shelling": ("Shelling kills 14 in El Fasher, RSF says",
                              "The Rapid Support Forces said on Wednesday that army shelling had killed 14 civilians "
                              "in El Fasher.")}


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Gate:
    """Wraps a fetcher's fetch: while closed, every request waits (and is counted) until opened."""

    fetch: Callable[..., Awaitable[Any]]
    opened: asyncio.Event = field(default_factory=asyncio.Event)
    waiting: int = 0

    async def __call__(self, url: str, **options: Any) -> Any:
        self.waiting += 1
        await self.opened.wait()
        return await self.fetch(url, **options)


async def _prepare(world: World) -> tuple[Clock, datetime]:
    """Both guilds' digests enabled at a slot, everything stored so far already in yesterday's digest, the new
    articles published and every source due. Returns the clock (a minute before the slot) and the slot."""
    slot = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    await world.store.commit(Batch(guilds=tuple(
        replace(world.store.guild(g), digest_channel_id=c, digest_enabled=True, digest_time="03:00", timezone="UTC")
        for g, c in GUILDS.items())))
    for guild in GUILDS:
        assert await world.bot.digests.run(guild, slot=slot - timedelta(days=1)) == "posted"
    for name, (title, text) in NEW.items():
        world.outlets.publish(name, title, text)
    await world.store.commit(Batch(sources=tuple(replace(s, next_due=None) for s in world.store.all_sources())))
    clock = Clock(slot - timedelta(minutes=1))
    world.bot.digests.clock = world.poller.clock = clock
    return clock, slot


def _lead(world: World, gate: Gate) -> Awaitable[None]:
    """This process becomes the leader, with the world's poller (its fetches held by ``gate``); APScheduler is
    told to run the poll job now (its timers are on the real clock)."""
    world.poller.fetcher.fetch = gate  # type: ignore[method-assign]
    world.bot.poller = world.bot.digests.polls = world.poller

    async def lead() -> None:
        await world.bot._lead()
        world.bot.scheduler.modify_job("poll", next_run_time=datetime.now(UTC))
    return lead()


def _assert_digests(world: World, slot: datetime) -> None:
    for guild, channel in GUILDS.items():
        messages = world.fake.messages_in(channel)
        assert len(messages) == 2, f"guild {guild}: {len(messages)} messages"  # yesterday's and the slot's
        text = " ".join(e.get("description", "") for e in messages[1]["embeds"])
        assert "27" in text or "14" in text, text
        assert world.store.guild(guild).last_digest_slot == slot.isoformat()
    both = " ".join(e.get("description", "") for c in GUILDS.values() for e in world.fake.messages_in(c)[1]["embeds"])
    assert "27" in both and "14" in both  # each claim reached the digest of its topic


async def test_a_cycle_that_commits_just_after_the_slot_is_in_the_slots_digest(world: World) -> None:
    clock, slot = await _prepare(world)
    gate = Gate(world.poller.fetcher.fetch)
    world.poller.fetcher.fetch = gate  # type: ignore[method-assign]
    world.bot.digests.polls = world.poller
    clock.now = slot - timedelta(seconds=2)
    cycle = asyncio.create_task(world.poller.tick(after=world.bot.alerts.run_all))
    await until(lambda: gate.waiting > 0)
    clock.now = slot + timedelta(milliseconds=5)  # the cron job fires while the cycle fetches
    digests = [asyncio.create_task(world.bot.digests.at_slot(g)) for g in GUILDS]
    await asyncio.sleep(0)
    assert not any(d.done() for d in digests)
    clock.now = slot + timedelta(seconds=1)
    gate.opened.set()  # the cycle commits a second after the slot
    await cycle
    assert [await d for d in digests] == ["posted", "posted"]
    _assert_digests(world, slot)


async def test_a_cycle_slower_than_the_bound_is_not_waited_for(world: World, caplog: pytest.LogCaptureFixture,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.client import _digests

    monkeypatch.setattr(_digests, "POLL_WAIT", timedelta(seconds=0.2))
    clock, slot = await _prepare(world)
    gate = Gate(world.poller.fetcher.fetch)
    world.poller.fetcher.fetch = gate  # type: ignore[method-assign]
    world.bot.digests.polls = world.poller
    clock.now = slot - timedelta(seconds=2)
    cycle = asyncio.create_task(world.poller.run_cycle())
    await until(lambda: gate.waiting > 0)
    clock.now = slot
    with caplog.at_level(logging.INFO, logger="bot.client._digests"):
        assert await world.bot.digests.at_slot(GUILD_A) == "nothing new"
    assert "has not committed after" in caplog.text
    assert f"digest nothing new guild={GUILD_A} channel={CHANNEL_A} slot={slot.isoformat()}" in caplog.text
    gate.opened.set()
    await cycle


# Where the new leader is elected, relative to the slot (seconds); and, before the slot, whether the cron job
# fires before its first poll cycle has even started.
OFFSETS = [(-3.0, "cycle fetching"), (-0.5, "cycle fetching"), (-0.1, "cycle not started"), (0.6, ""), (2.8, ""),
           (20.0, "")]


@pytest.mark.parametrize(("offset", "at_slot"), OFFSETS)
async def test_a_leader_killed_around_the_slot_mid_cycle_loses_no_digest(world: World, offset: float,
                                                                         at_slot: str) -> None:
    clock, slot = await _prepare(world)
    # The old leader's cycle is fetching when it dies: it never commits.
    old_gate = Gate(world.poller.fetcher.fetch)
    old = Poller(world.config, world.store, world.poller.fetcher,
                 InlineExtraction(Extractor(world.config.actors, world.config.places)),
                 clock=clock)
    old.fetcher = replace_fetch(world.poller.fetcher, old_gate)
    clock.now = slot + timedelta(seconds=min(offset, 0) - 5)
    old_cycle = asyncio.create_task(old.run_cycle())
    await until(lambda: old_gate.waiting > 0)
    old_cycle.cancel()  # killed
    await asyncio.gather(old_cycle, return_exceptions=True)
    assert [len(world.fake.messages_in(c)) for c in GUILDS.values()] == [1, 1]

    # The new leader is elected at slot + offset: its first cycle redoes the old one's work.
    clock.now = slot + timedelta(seconds=offset)
    gate = Gate(world.poller.fetcher.fetch)
    await _lead(world, gate)
    if offset < 0:  # it leads at the slot: its cron jobs fire
        if at_slot == "cycle fetching":
            await until(lambda: gate.waiting > 0)
        clock.now = slot + timedelta(milliseconds=3)
        digests = [asyncio.create_task(world.bot.digests.at_slot(g)) for g in GUILDS]
        await asyncio.sleep(0)
        await until(lambda: gate.waiting > 0)
        assert not any(d.done() for d in digests)
        gate.opened.set()
        # Posted once per guild: by the cron job, or by the catch-up (which waited for the same cycle) if it
        # got there first.
        assert {await d for d in digests} <= {"posted", "already posted"}
    else:  # elected after the slot: its catch-up posts the missed slot, after its first cycle
        await until(lambda: gate.waiting > 0)
        assert not any(world.store.guild(g).last_digest_slot == slot.isoformat() for g in GUILDS)
        gate.opened.set()
        await until(lambda: all(world.store.guild(g).last_digest_slot == slot.isoformat() for g in GUILDS))
    assert latest_slot(world.store.guild(GUILD_A), clock.now) == slot
    _assert_digests(world, slot)
    assert await world.bot.digests.catch_up() == 0


def replace_fetch(fetcher: Any, gate: Gate) -> Any:
    """A view of ``fetcher`` whose fetch is held by ``gate`` (host politeness still shared)."""

    class Held:
        def __getattr__(self, name: str) -> Any:
            return getattr(fetcher, name)

        fetch = staticmethod(gate)

    return Held()
