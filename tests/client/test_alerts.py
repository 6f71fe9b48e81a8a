"""Alerts, end to end: /config alerts, the demo's outlets polled on loopback by the real poller, the poll job's
alert run, and the real discord.py bot posting into the fake Discord (threads, forum posts, role mentions)."""

from __future__ import annotations

from typing import Any

from bot.briefing import AlertMessage
from bot.client import AlertDispatcher, Delivered
from tests.client.conftest import ADMIN, CHANNEL_A, CHANNEL_FORUM, CHANNEL_GONE, GUILD_A, MEMBER, World
from tests.fakediscord import MANAGE_GUILD, MEMBER_PERMISSIONS

ADMIN_PERMS = MEMBER_PERMISSIONS | MANAGE_GUILD
ROLE = 7777
FOLLOW_UP = ("Pakistan raises military death toll from weekend border clashes to 27",
             "Pakistan's military said on Tuesday that 27 of its soldiers had been killed in Saturday's fighting in "
             "Kurram, up from 23.")


async def _add(world: World, **options: Any) -> str:
    reply = await world.fake.slash(GUILD_A, ADMIN, "config alerts add", options, permissions=ADMIN_PERMS)
    return reply.text


def _text(message: dict[str, Any]) -> str:
    return "\n".join([message.get("content") or ""] + [f"{e.get('title', '')}\n{e.get('description', '')}"
                                                        for e in message.get("embeds") or []])


async def test_a_big_claim_is_posted_once_with_its_role_and_later_claims_follow_in_its_thread(
        empty_world: World) -> None:
    world = empty_world
    assert "Alert a1" in await _add(world, channel=CHANNEL_A, min_killed=20, role=ROLE)
    await world.poll()  # the first poll: the sources' backlog (40 soldiers killed, 150 fighters...) never alerts
    assert world.fake.channel_messages(CHANNEL_A) == []
    world.outlets.phase = 2
    await world.poll()  # Pakistan now says 23 of its soldiers were killed
    [post] = world.fake.channel_messages(CHANNEL_A)
    assert post["content"] == f"<@&{ROLE}>"
    assert post["allowed_mentions"] == {"parse": [], "roles": [ROLE]}  # exactly that role, nobody else
    assert "23 soldiers (Pakistan) killed — admitted by Pakistan's military" in _text(post)
    assert "9 fighters" not in _text(post)  # under the threshold; figures are never added up to cross it
    await world.poll()  # nothing new: nothing posted again
    assert len(world.fake.channel_messages(CHANNEL_A)) == 1
    assert world.fake.threads_in(CHANNEL_A) == []

    world.outlets.publish("toll-27", *FOLLOW_UP)
    await world.poll()  # another outlet, the same incident: a follow-up in the post's thread, no new post
    assert len(world.fake.channel_messages(CHANNEL_A)) == 1
    [thread] = world.fake.threads_in(CHANNEL_A)
    assert thread["id"] == post["id"]
    # Named after the incident it hangs off (its alert's title), not after the follow-up's article.
    assert thread["name"] == "Pakistan raises its military death toll from weekend border clashes"
    [update] = world.fake.channel_messages(int(thread["id"]))
    assert "27 soldiers (Pakistan) killed" in _text(update) and "Border Monitor" in _text(update)
    assert update["allowed_mentions"] == {"parse": []}  # a follow-up pings nobody
    assert update["content"] == ""


async def test_the_hourly_limit_summarises_new_posts_and_keeps_follow_ups_in_their_threads(
        empty_world: World) -> None:
    world = empty_world
    world.bot.alerts.limit = 1
    await _add(world, channel=CHANNEL_A, keywords="Kurram, Doha, Paktia, Taliban")
    await world.poll()
    world.outlets.phase = 2
    await world.poll()  # two incidents have matching events: one alert, and the other in a summary
    alert, summary = world.fake.channel_messages(CHANNEL_A)
    assert _text(alert).count("Alert:") == 1 and "Pakistan raises" in _text(alert)
    assert "and 1 more alert this hour" in _text(summary)
    assert "Taliban deny heavy losses" in _text(summary)
    assert summary["allowed_mentions"] == {"parse": []}
    world.outlets.publish("toll-27", *FOLLOW_UP)
    await world.poll()  # the same hour, over the limit: the alerted incident's follow-up still goes in its thread
    assert len(world.fake.channel_messages(CHANNEL_A)) == 2  # no new top-level post, no new summary
    [thread] = world.fake.threads_in(CHANNEL_A)
    assert thread["id"] == alert["id"]
    [update] = world.fake.channel_messages(int(thread["id"]))
    assert "Update: Pakistan raises military death toll from weekend border clashes to 27" in _text(update)
    # The thread is named after the incident (its alert), not after the follow-up's article.
    assert thread["name"] == "Pakistan raises its military death toll from weekend border clashes"
    assert len(world.store.guild(GUILD_A).alert_times) == 1  # the follow-up did not count towards the limit


async def test_no_alert_for_a_new_sources_backlog(empty_world: World) -> None:
    world = empty_world
    await _add(world, channel=CHANNEL_A, min_killed=1, min_injured=1, keywords="Kurram, El Fasher, Doha, Taliban")
    await world.poll()  # both sources' first poll: 18 facts, every one of them matching, all backlog
    assert world.store.stats()["facts"] > 0
    assert world.fake.channel_messages(CHANNEL_A) == []
    world.outlets.phase = 2
    await world.poll()  # what appears after the first poll does alert
    assert len(world.fake.channel_messages(CHANNEL_A)) == 2


async def test_no_duplicate_after_a_restart_even_when_the_first_run_stopped_half_way(empty_world: World) -> None:
    world = empty_world
    await _add(world, channel=CHANNEL_A, min_killed=5)
    await world.poll()
    world.outlets.phase = 2
    await world.poll(alerts=False)

    sent: list[AlertMessage] = []

    async def then_crash(message: AlertMessage) -> Delivered:
        if sent:
            raise ConnectionResetError("the process died here")
        sent.append(message)
        return await world.bot.send_alert(message)

    first = AlertDispatcher(world.store, world.bot.briefing, then_crash, world.bot.send_alert_summary, limit=10)
    assert await first.run_all() == 0  # the guild's run failed after one post (logged, retried later)
    assert len(world.fake.channel_messages(CHANNEL_A)) == 1
    restarted = AlertDispatcher(world.store, world.bot.briefing, world.bot.send_alert, world.bot.send_alert_summary,
                                limit=10)
    assert await restarted.run_all() == 1  # only the incident the first run did not post
    again = AlertDispatcher(world.store, world.bot.briefing, world.bot.send_alert, world.bot.send_alert_summary,
                            limit=10)
    assert await again.run_all() == 0
    posts = world.fake.channel_messages(CHANNEL_A)
    assert len(posts) == 2 and "Pakistan raises" in _text(posts[0]) and "Taliban deny" in _text(posts[1])


async def test_a_forum_channel_gets_one_post_per_incident(empty_world: World) -> None:
    world = empty_world
    await _add(world, channel=CHANNEL_FORUM, min_killed=5)
    await world.poll()
    world.outlets.phase = 2
    await world.poll()
    posts = world.fake.threads_in(CHANNEL_FORUM)
    assert sorted(p["name"] for p in posts) == ["Pakistan raises its military death toll from weekend border clashes",
                                                "Taliban deny heavy losses, admit nine fighters killed"]
    world.outlets.publish("toll-27", *FOLLOW_UP)
    await world.poll()
    assert len(world.fake.threads_in(CHANNEL_FORUM)) == 2  # the follow-up went into its incident's post
    pakistan = next(p for p in posts if p["name"].startswith("Pakistan"))
    first, update = world.fake.channel_messages(int(pakistan["id"]))
    assert "23 soldiers" in _text(first) and "27 soldiers" in _text(update)
    assert world.fake.channel_messages(CHANNEL_FORUM) == []


async def test_a_channel_sitrep_cannot_post_in_drops_its_rules_and_tells_the_admins(empty_world: World) -> None:
    world = empty_world
    await _add(world, channel=CHANNEL_GONE, min_killed=5)
    await world.poll()
    world.outlets.phase = 2
    await world.poll()
    assert world.store.guild(GUILD_A).alert_rules == {}
    assert world.store.guild(GUILD_A).alerts_in_flight == ()  # no intent left behind for a channel gone
    reply = await world.fake.slash(GUILD_A, ADMIN, "config alerts list", permissions=ADMIN_PERMS)
    assert "Alert rule a1 removed" in reply.text and "No alert rules yet" in reply.text
    assert world.fake.requests.count(f"POST /channels/{CHANNEL_GONE}/messages") == 1  # no retry storm


async def test_alert_rules_are_listed_removed_and_for_admins_only(world: World) -> None:
    reply = await world.fake.slash(GUILD_A, MEMBER, "config alerts add", {"channel": CHANNEL_A, "min_killed": 5})
    assert "Manage Server" in reply.text and world.store.guild(GUILD_A).alert_rules == {}
    assert "needs something to watch for" in await _add(world, channel=CHANNEL_A)
    await _add(world, channel=CHANNEL_A, topic="pak-afg", min_killed=50, keywords="ceasefire, Doha", role=ROLE)
    reply = await world.fake.slash(GUILD_A, ADMIN, "config alerts list", permissions=ADMIN_PERMS)
    assert (f"a1: a claim of killed ≥ 50 or events mentioning ceasefire, Doha, topic Pakistan–Afghanistan border "
            f"→ <#{CHANNEL_A}>, mentions <@&{ROLE}>") in reply.text
    assert reply.allowed_mentions == {"parse": []}
    reply = await world.fake.slash(GUILD_A, ADMIN, "config alerts remove", {"id": "a9"}, permissions=ADMIN_PERMS)
    assert "no alert rule 'a9'" in reply.text
    reply = await world.fake.slash(GUILD_A, ADMIN, "config alerts remove", {"id": "a1"}, permissions=ADMIN_PERMS)
    assert "removed" in reply.text and world.store.guild(GUILD_A).alert_rules == {}


async def test_a_429_is_retried_and_a_deleted_post_gets_a_new_one_instead_of_a_lost_follow_up(
        empty_world: World) -> None:
    world = empty_world
    await _add(world, channel=CHANNEL_A, min_killed=20)
    await world.poll()
    world.outlets.phase = 2
    world.fake.fail_next("POST", rf"/channels/{CHANNEL_A}/messages", status=429, retry_after=0.05)
    await world.poll()
    [post] = world.fake.channel_messages(CHANNEL_A)  # posted once, after the retry
    world.fake.channel_messages(CHANNEL_A).clear()  # a moderator deleted the alert
    world.outlets.publish("toll-27", *FOLLOW_UP)
    await world.poll()
    [again] = world.fake.channel_messages(CHANNEL_A)
    assert again["id"] != post["id"] and "27 soldiers (Pakistan) killed" in _text(again)
    posts = world.store.guild(GUILD_A).alert_posts.values()
    assert int(again["id"]) in posts and int(post["id"]) not in posts  # later claims follow the new post


async def test_a_crash_after_discord_accepted_an_alert_does_not_post_it_twice(empty_world: World) -> None:
    """The process dies after Discord accepted the alert and before it was recorded: the next leader's re-send
    carries the same nonce, and Discord (enforce_nonce) returns the message instead of posting it again."""
    world = empty_world
    await _add(world, channel=CHANNEL_A, min_killed=5)
    await world.poll()
    world.outlets.phase = 2
    await world.poll(alerts=False)

    async def accepted_then_crash(message: AlertMessage) -> Delivered:
        await world.bot.send_alert(message)
        raise ConnectionResetError("the process died before recording the alert")

    crashed = AlertDispatcher(world.store, world.bot.briefing, accepted_then_crash, world.bot.send_alert_summary,
                              limit=10)
    assert await crashed.run_all() == 0
    assert len(world.fake.channel_messages(CHANNEL_A)) == 1
    restarted = AlertDispatcher(world.store, world.bot.briefing, world.bot.send_alert, world.bot.send_alert_summary,
                                limit=10)
    await restarted.run_all()
    posts = world.fake.channel_messages(CHANNEL_A)
    assert len(posts) == 2 and "Pakistan raises" in _text(posts[0]) and "Taliban deny" in _text(posts[1])


async def test_a_crash_between_a_forum_post_and_its_record_leaves_one_post_after_the_restart(
        empty_world: World) -> None:
    """Forum posts take no nonce. The intent is recorded first; the restarted run finds the incident's post
    among the forum's active posts (by the incident id its first message shows) instead of making another."""
    world = empty_world
    await _add(world, channel=CHANNEL_FORUM, min_killed=5)
    await world.poll()
    world.outlets.phase = 2
    await world.poll(alerts=False)

    async def accepted_then_crash(message: AlertMessage) -> Delivered:
        await world.bot.send_alert(message)
        raise ConnectionResetError("the process died before recording the alert")

    crashed = AlertDispatcher(world.store, world.bot.briefing, accepted_then_crash, world.bot.send_alert_summary,
                              limit=10)
    assert await crashed.run_all() == 0
    [made] = world.fake.threads_in(CHANNEL_FORUM)
    assert world.store.guild(GUILD_A).alerts_in_flight  # the intent outlived the crash
    restarted = AlertDispatcher(world.store, world.bot.briefing, world.bot.send_alert, world.bot.send_alert_summary,
                                limit=10)
    assert await restarted.run_all() == 2
    posts = world.fake.threads_in(CHANNEL_FORUM)
    assert sorted(p["name"] for p in posts) == ["Pakistan raises its military death toll from weekend border clashes",
                                                "Taliban deny heavy losses, admit nine fighters killed"]
    settings = world.store.guild(GUILD_A)
    assert int(made["id"]) in settings.alert_posts.values() and settings.alerts_in_flight == ()
    assert len(world.fake.channel_messages(int(made["id"]))) == 1  # its first message, not sent again
    # Later claims about that incident go into the post that was found.
    world.outlets.publish("toll-27", *FOLLOW_UP)
    await world.poll()
    assert len(world.fake.threads_in(CHANNEL_FORUM)) == 2
    pakistan = next(p for p in posts if p["name"].startswith("Pakistan"))
    assert len(world.fake.channel_messages(int(pakistan["id"]))) == 2


async def test_in_a_forum_the_hourly_summaries_share_one_post(empty_world: World) -> None:
    world = empty_world
    world.bot.alerts.limit = 0  # every new incident is over the limit
    await _add(world, channel=CHANNEL_FORUM, keywords="Kurram, Doha, Paktia, Taliban")
    await world.poll()
    world.outlets.phase = 2
    await world.poll()
    [summary_post] = world.fake.threads_in(CHANNEL_FORUM)
    assert summary_post["name"] == "Alerts over the hourly limit"
    world.outlets.publish("el-fasher-talks", "Talks in Doha on El Fasher stall",
                          "Mediators said on Monday that talks in Doha on a truce in El Fasher had stalled.")
    await world.poll()  # the next summary: a reply in the same post, not a new post
    assert world.fake.threads_in(CHANNEL_FORUM) == [summary_post]
    first, second = world.fake.channel_messages(int(summary_post["id"]))
    assert "more alert" in _text(first) and "Talks in Doha" in _text(second)
