"""Which new facts alert, where, and as what: the pure decision the bot runs after every poll cycle."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.briefing import plan_alerts, recent_alerts, render_text
from bot.briefing._alerts import AlertPlan, incident_key, sent_key
from bot.model import AlertRule, Casualty, Event, StoredFact
from tests.briefing.test_answers import fact, killed

CHANNEL, OTHER = 10, 20


def plan(facts: list[StoredFact], *rules: AlertRule, **state: Any) -> AlertPlan:
    options: dict[str, Any] = {"sent": set(), "posts": {}, "threads": {}, "alerts_this_hour": 0, "limit": 10,
                               "up_to_seq": max((f.seq for f in facts), default=0)}
    return plan_alerts(facts, list(rules), **{**options, **state})


def rule(rule_id: str = "a1", channel: int = CHANNEL, **kw: Any) -> AlertRule:
    return AlertRule(id=rule_id, channel_id=channel, **kw)


def event(summary: str) -> Event:
    return Event(summary=summary, quote=summary, date="2025-10-11", date_precision="day")


def injured(count: int) -> Casualty:
    return Casualty(category="injured", count=count, qualifier="exact", quote=f"{count} were wounded",
                    victim="civilians", victim_text="civilians")


def test_one_claims_own_figure_crosses_the_threshold_never_a_sum() -> None:
    small = [fact(killed(12, "Pakistan", "Pakistan"), story="s1"), fact(killed(13, "Pakistan", "Afghanistan (Taliban)"),
                                                                        outlet="Kabul", story="s1")]
    assert plan(small, rule(min_killed=20)).empty  # 12 and 13 are two claims, not 25
    big = fact(killed(20, "Pakistan", "Afghanistan (Taliban)"), story="s1")
    [message] = plan([*small, big], rule(min_killed=20)).messages
    assert message.fact_ids == (big.id,)
    assert "20 Pakistan soldiers killed — claimed by Afghanistan (Taliban)" in render_text(message.answer)


def test_a_running_total_says_so() -> None:
    total = fact(replace(killed(400, "Pakistan", "Pakistan"), cumulative=True), story="s1")
    [message] = plan([total], rule(min_killed=20)).messages
    assert "400 Pakistan soldiers killed (total) — admitted by Pakistan" in render_text(message.answer)


def test_thresholds_are_per_category_and_vague_figures_never_alert() -> None:
    facts = [fact(injured(60), story="s1"), fact(killed(None, "Pakistan", "Pakistan", qualifier="vague"), story="s2"),
             fact(killed(60, "Pakistan", "Pakistan"), story="s3")]
    assert [m.fact_ids for m in plan(facts, rule(min_injured=50)).messages] == [(facts[0].id,)]
    assert [m.fact_ids for m in plan(facts, rule(min_killed=50)).messages] == [(facts[2].id,)]


def test_keywords_match_events_as_whole_words_whatever_the_case_and_accents() -> None:
    facts = [fact(event("Talks resumed in DOHA on Sunday"), story="s1"), fact(event("Doharan market reopened"),
                                                                              story="s2"),
             fact(event("Clashes near Bahawalpūr"), story="s3")]
    matched = plan(facts, rule(keywords=("doha", "bahawalpur"))).messages
    assert [m.fact_ids for m in matched] == [(facts[0].id,), (facts[2].id,)]


def test_a_rule_sees_only_its_topic_and_what_came_after_it_was_made() -> None:
    sudan = fact(killed(90, "civilians", None), topics=("sudan",), story="s1")
    border = fact(killed(90, "Pakistan", "Pakistan"), story="s2")
    assert [m.fact_ids for m in plan([sudan, border], rule(min_killed=5, topic="pak-afg")).messages] == [(border.id,)]
    assert plan([sudan, border], rule(min_killed=5, since_seq=border.seq)).empty


def test_one_post_per_incident_with_the_chosen_role_and_follow_ups_under_it() -> None:
    first, second = (fact(killed(n, "Pakistan", "Pakistan"), story="s1") for n in (30, 40))
    other = fact(killed(50, "Pakistan", "Pakistan"), story="s2")
    [s1, s2] = plan([first, second, other], rule(min_killed=5, role_id=77)).messages
    assert s1.fact_ids == (first.id, second.id) and s1.follow_up_of is None and s1.content == "<@&77>"
    assert s2.fact_ids == (other.id,)
    later = fact(killed(45, "Pakistan", "Pakistan"), story="s1")
    key = incident_key(CHANNEL, later)
    [update] = plan([later], rule(min_killed=5, role_id=77), posts={key: 555}, threads={key: 555}).messages
    assert (update.follow_up_of, update.thread_id, update.role_ids, update.content) == (555, 555, (), "")
    assert render_text(update.answer).startswith("Update:")


def test_what_was_already_posted_is_not_posted_again_and_each_channel_gets_its_own() -> None:
    facts = [fact(killed(30, "Pakistan", "Pakistan"), story="s1")]
    rules = (rule("a1", min_killed=5), rule("a2", channel=OTHER, min_killed=5), rule("a3", min_killed=10, role_id=9))
    messages = plan(facts, *rules).messages
    assert [(m.channel_id, m.role_ids) for m in messages] == [(CHANNEL, (9,)), (OTHER, ())]  # one post per channel
    assert [m.channel_id for m in plan(facts, *rules, sent={sent_key(CHANNEL, facts[0].id)}).messages] == [OTHER]


def test_over_the_hourly_limit_the_rest_is_one_summary_per_channel() -> None:
    facts = [fact(killed(30 + i, "Pakistan", "Pakistan"), story=f"s{i}") for i in range(9)]
    result = plan(facts, rule(min_killed=5), limit=3, alerts_this_hour=1)
    assert len(result.messages) == 2
    [summary] = result.summaries
    assert summary.count == 7 and len(summary.fact_ids) == 7
    assert render_text(summary.answer).startswith("… and 7 more alerts this hour")
    assert summary.answer.sections[0].lines[0].segments[0].startswith("Story ")


def test_follow_ups_never_count_towards_the_limit_and_are_named_after_their_incident() -> None:
    facts = [fact(killed(30 + i, "Pakistan", "Pakistan"), story=f"s{i}") for i in range(4)]
    posts = {incident_key(CHANNEL, facts[0]): 100, incident_key(CHANNEL, facts[1]): 101}
    names = {incident_key(CHANNEL, facts[0]): "Army says 20 soldiers killed in Kurram"}
    result = plan(facts, rule(min_killed=5), limit=3, alerts_this_hour=3, posts=posts, names=names)
    # The hour's three new posts are made: the two follow-ups still go under their posts, the two new
    # incidents are summarised.
    assert [(m.follow_up_of, m.thread_name) for m in result.messages] == [
        (100, "Army says 20 soldiers killed in Kurram"), (101, facts[1].article.title)]
    [summary] = result.summaries
    assert summary.count == 2 and summary.fact_ids == (facts[2].id, facts[3].id)


def test_an_armys_report_of_its_own_soldiers_reads_admitted() -> None:
    own = Casualty(category="killed", count=12, qualifier="exact", quote="The Malian army said 12 soldiers were "
                   "killed.", victim=None, victim_text="soldiers", claimant="Mali", claimant_text="Malian army")
    theirs = replace(own, victim_text="militants", quote="The Malian army said 12 militants were killed.")
    ministry = replace(own, victim_text="soldiers", claimant_text="Mali's health ministry")
    [message] = plan([fact(own, story="s1"), fact(theirs, story="s1"), fact(ministry, story="s1")],
                     rule(min_killed=10)).messages
    text = render_text(message.answer)
    assert "12 soldiers killed — admitted by Malian army ·" in text
    assert "12 militants killed — claimed by Malian army ·" in text
    assert "12 soldiers killed — claimed by Mali's health ministry" in text


def test_recent_alerts_keeps_the_last_hour_only() -> None:
    now = datetime(2025, 10, 12, 12, tzinfo=UTC)
    times = [(now - timedelta(minutes=m)).isoformat() for m in (5, 59, 61, 300)]
    assert recent_alerts(times, now) == tuple(times[:2])


def test_rules_round_trip_through_plain_json() -> None:
    original = rule(min_killed=5, keywords=("Doha",), role_id=9, topic="pak-afg", since_seq=12)
    assert AlertRule.from_json("a1", original.to_json()) == original
    assert replace(original, id="a2") != original
