"""Alerts: which new facts are posted at once, where, and as what. Pure: facts + rules + delivery state in,
messages out; the client sends them and records each one only after Discord accepted it.

- A casualty claim alerts when its own figure is at or over the rule's threshold for its category (killed,
  injured). Each claim is judged alone: figures are never added up, and a vague one ("dozens") never alerts.
- An event alerts when its text contains one of the rule's keywords (whole words, case and accents folded).
- One post per incident (the story the sources layer linked across outlets) and channel; what comes later
  about the same incident follows up under that post (a thread, or the forum post), never as a new post.
- Only a role the admin chose is mentioned, and only on a new post; everything else is plain text.
- At most ``limit`` new posts per guild in any hour (a new incident's message or forum post); the rest are
  summarised in one message per channel (in a forum, one reply in a single "over the hourly limit" post). A
  follow-up under an incident's post never counts and is never held back: it belongs in its thread.
- A follow-up thread (and a forum post) is named after its incident: the title of the incident's first alert.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.briefing._answers import Answer, Day, Line, Ref, Section, source_of
from bot.briefing._casualties import claim_label, figure_text, who_text
from bot.model import AlertRule, Casualty, Event, StoredFact

HOUR = timedelta(hours=1)
MAX_LINES = 10  # claims shown in one alert; the rest are counted, and /incident shows them all
THREAD_NAME_MAX = 100  # Discord's limit for a thread (and forum post) name


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))


def keyword_pattern(keywords: Sequence[str]) -> re.Pattern[str] | None:
    words = [re.escape(_fold(k.strip())) for k in keywords if k.strip()]
    return re.compile(r"(?<!\w)(?:" + "|".join(words) + r")(?!\w)") if words else None


def rule_matches(rule: AlertRule, f: StoredFact, pattern: re.Pattern[str] | None = None) -> bool:
    """Whether this one fact, on its own, crosses the rule's threshold or matches its keywords."""
    if f.seq <= rule.since_seq or (rule.topic is not None and rule.topic not in f.topics):
        return False
    fact = f.fact
    if isinstance(fact, Casualty):
        threshold = {"killed": rule.min_killed, "injured": rule.min_injured}.get(fact.category)
        return threshold is not None and fact.count is not None and fact.count >= threshold
    if isinstance(fact, Event):
        pattern = pattern or keyword_pattern(rule.keywords)
        return pattern is not None and bool(pattern.search(_fold(f"{fact.summary}\n{fact.quote}")))
    return False


def incident_key(channel_id: int, f: StoredFact) -> str:
    """The post an alert belongs under: one per incident (story) and channel."""
    return f"{channel_id}:{f.story_id or f.article.url}"


def sent_key(channel_id: int, fact_id: str) -> str:
    return f"{channel_id}:{fact_id}"


def summary_key(channel_id: int) -> str:
    """Where GuildSettings.alert_posts remembers a forum's post for the alerts over the hourly limit."""
    return f"{channel_id}:over-the-hourly-limit"


@dataclass(frozen=True, slots=True)
class AlertMessage:
    """One alert: a new post for an incident (``follow_up_of`` is None) or a follow-up under its post."""

    channel_id: int
    key: str  # incident_key: where GuildSettings.alert_posts remembers the post
    answer: Answer
    fact_ids: tuple[str, ...]  # what it covers: recorded as sent once Discord accepted it
    role_ids: tuple[int, ...] = ()  # the roles to mention (new posts only; chosen by an admin)
    follow_up_of: int | None = None  # the incident's post (message id, or forum post id)
    thread_id: int | None = None  # the follow-up thread, once there is one (a forum post is its own thread)
    thread_name: str = ""  # the incident's name: for the follow-up thread, or the forum post
    # A new post whose intent was recorded by an earlier run that never recorded the post: it may exist (the
    # run died between Discord's accept and the record). A forum post, which takes no nonce, is looked for first.
    recovering: bool = False

    @property
    def content(self) -> str:
        return " ".join(f"<@&{r}>" for r in self.role_ids)

    @property
    def incident(self) -> str:
        """The incident's id (its story id; its article's URL without one), which every alert about it shows."""
        return self.key.split(":", 1)[1]


@dataclass(frozen=True, slots=True)
class AlertSummary:
    """The alerts over the hourly limit, in one message: "and 7 more alerts this hour: …"."""

    channel_id: int
    answer: Answer
    fact_ids: tuple[str, ...]
    count: int
    post_id: int | None = None  # in a forum: the post the summaries go into, once there is one


@dataclass(frozen=True, slots=True)
class AlertPlan:
    messages: tuple[AlertMessage, ...]
    summaries: tuple[AlertSummary, ...]
    up_to_seq: int  # the watermark once every message and summary was accepted

    @property
    def empty(self) -> bool:
        return not self.messages and not self.summaries


def recent_alerts(times: Sequence[str], now: datetime) -> tuple[str, ...]:
    """The alert times (ISO) still inside the last hour."""
    return tuple(t for t in times if now - datetime.fromisoformat(t) < HOUR)


def plan_alerts(new_facts: Sequence[StoredFact], rules: Sequence[AlertRule], *, sent: Collection[str],
                posts: Mapping[str, int], threads: Mapping[str, int], alerts_this_hour: int, limit: int,
                up_to_seq: int, names: Mapping[str, str] | None = None,
                in_flight: Collection[str] = ()) -> AlertPlan:
    """The alerts for ``new_facts`` (oldest first, backlog already left out by the store).

    ``sent`` holds sent_key()s already posted, ``posts`` the incidents' posts and ``threads`` their follow-up
    threads (incident_key → id), ``names`` the incidents' names (their first alert's title),
    ``alerts_this_hour`` how many new posts the guild made in the last hour, ``in_flight`` the incidents whose
    new post an earlier run set out to make without recording it.
    """
    names = names or {}
    patterns = {r.id: keyword_pattern(r.keywords) for r in rules}
    # channel → incident key → (facts, roles), in the order the facts were stored
    grouped: dict[int, dict[str, tuple[list[StoredFact], set[int]]]] = {}
    for f in new_facts:
        for rule in rules:
            if sent_key(rule.channel_id, f.id) in sent or not rule_matches(rule, f, patterns[rule.id]):
                continue
            facts, roles = grouped.setdefault(rule.channel_id, {}).setdefault(incident_key(rule.channel_id, f),
                                                                              ([], set()))
            if f not in facts:
                facts.append(f)
            if rule.role_id is not None:
                roles.add(rule.role_id)
    budget = max(0, limit - alerts_this_hour)
    messages: list[AlertMessage] = []
    excess: dict[int, list[tuple[str, list[StoredFact]]]] = {}
    for channel_id, incidents in grouped.items():
        for key, (facts, roles) in incidents.items():
            post = posts.get(key)
            if post is None:  # a new post: the hourly limit is about these
                if budget <= 0:
                    excess.setdefault(channel_id, []).append((key, facts))
                    continue
                budget -= 1
            messages.append(AlertMessage(
                channel_id=channel_id, key=key, answer=alert_answer(facts, follow_up=post is not None),
                fact_ids=tuple(f.id for f in facts), role_ids=tuple(sorted(roles)) if post is None else (),
                follow_up_of=post, thread_id=threads.get(key) if post is not None else None,
                thread_name=_cut(names.get(key) or facts[0].article.title, THREAD_NAME_MAX),
                recovering=post is None and key in in_flight))
    summaries = tuple(replace(_summary(channel_id, items), post_id=posts.get(summary_key(channel_id)))
                      for channel_id, items in excess.items())
    return AlertPlan(tuple(messages), summaries, up_to_seq)


def alert_answer(facts: Sequence[StoredFact], *, follow_up: bool) -> Answer:
    """What one alert says: each claim on its own line with its claimant, each matching event with its date."""
    first = facts[0]
    lines = [_line(f) for f in facts[:MAX_LINES]]
    if len(facts) > MAX_LINES:
        lines.append(Line.of(f"… and {len(facts) - MAX_LINES} more"))
    outlets = list(dict.fromkeys(f.article.outlet for f in facts))
    footer = (f"Reported by {', '.join(outlets)}. Each figure is as its claimant states it, never added up. "
              f"/incident {first.story_id} shows every claim about it." if first.story_id else
              f"Reported by {', '.join(outlets)}. Each figure is as its claimant states it, never added up.")
    title = f"{'Update' if follow_up else 'Alert'}: {first.article.title}"
    return Answer(title, (Section("", tuple(lines)),), footer=footer, url=facts[-1].article.url)


def _line(f: StoredFact) -> Line:
    fact = f.fact
    if isinstance(fact, Casualty):
        scope = " (total)" if fact.cumulative else (" (subset)" if fact.breakdown else "")  # as /casualties says
        segments: list[object] = [f"{figure_text(fact)} {who_text(fact)} {fact.category}{scope} — "
                                  f"{claim_label(fact, f.article.outlet)}"]
        if fact.date:
            segments += [", ", Day(fact.date)]
        segments += [" · ", source_of(f), " ", Ref(f.id)]
        return Line.of(*segments, detail=fact.quote)  # type: ignore[arg-type]
    assert isinstance(fact, Event)
    day: list[object] = [Day(fact.date), " — "] if fact.date else []
    return Line.of(*day, f"{fact.summary} · ", source_of(f), " ", Ref(f.id))  # type: ignore[arg-type]


def _summary(channel_id: int, items: list[tuple[str, list[StoredFact]]]) -> AlertSummary:
    lines = tuple(Line.of(f"{_cut(facts[0].article.title, 90)} ({len(facts)} new "
                          f"{'fact' if len(facts) == 1 else 'facts'}) · ", Ref(facts[0].id)) for _, facts in items)
    shown = lines[:MAX_LINES * 2]
    more = (Line.of(f"… and {len(lines) - len(shown)} more"),) if len(lines) > len(shown) else ()
    answer = Answer(f"… and {len(items)} more alert{'s' if len(items) != 1 else ''} this hour",
                    (Section("", shown + more),),
                    footer="The hourly alert limit was reached; these were not posted one by one. "
                           "/incident and /casualties show them.")
    return AlertSummary(channel_id, answer, tuple(f.id for _, facts in items for f in facts), len(items))


def describe_rule(rule: AlertRule, topic_name: str | None) -> str:
    """ "a1: killed ≥ 20 or events mentioning ceasefire, topic Sudan war → <#123>, mentions <@&9>" """
    triggers = [f"a claim of {label} ≥ {n:,}" for label, n in (("killed", rule.min_killed),
                                                                    ("injured", rule.min_injured)) if n is not None]
    if rule.keywords:
        triggers.append(f"events mentioning {', '.join(rule.keywords)}")
    role = f", mentions <@&{rule.role_id}>" if rule.role_id is not None else ", mentions nobody"
    return (f"{rule.id}: {' or '.join(triggers)}, {f'topic {topic_name}' if topic_name else 'all topics'} "
            f"→ <#{rule.channel_id}>{role}")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"
