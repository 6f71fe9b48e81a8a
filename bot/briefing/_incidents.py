"""Incidents: every claim about one happening, side by side, with an evidence note that says why it was given.

An incident is a *story*, the articles the sources layer linked across outlets (``story_id``), together with the
other stories that state the same day and place for their figures ("Saturday's fighting in Kurram" in a
follow-up whose headline matched nothing). Its id is its first story's. Its claims are
shown as /casualties shows them (grouped by victim side, contested figures apart, never summed), with its
territory claims, its timeline entries and the articles that reported it.

The evidence notes are computed only from what the store holds, in the spirit of casualty recorders' grading
(Airwars grades incidents from "confirmed" through "fair", "weak" and "contested"):

- **single report**: one article so far;
- **corroborated by N independent outlets**: the same figure from the same claimant about the same side,
  in articles of N different outlets;
- **losses admitted**: a side states its own combatants' losses;
- **contested**: two claimants give different figures for the same side and category.

Where the grouping itself is uncertain (the linked articles state different days or places for their
figures: the link rests on headline similarity only), no note is given, and the answer says why.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from bot.briefing._answers import Answer, Day, Line, Ref, Section, source_of
from bot.briefing._casualties import (
    admitted,
    build_casualties,
    claimant_text,
    figure_text,
    known_side,
    plural,
    side_of,
    who_text,
)
from bot.briefing._territory import build_territory
from bot.model import Casualty, Event, StoredFact, Territory

MAX_INCIDENTS = 25


@dataclass(frozen=True, slots=True)
class Incident:
    id: str  # the id of its first story
    facts: tuple[StoredFact, ...]  # newest article first
    stories: tuple[str, ...] = ()  # every story it joins

    @property
    def outlets(self) -> list[str]:
        return list(dict.fromkeys(f.article.outlet for f in self.facts))

    @property
    def articles(self) -> list[StoredFact]:
        """One fact per article, newest article first: each article's reference."""
        seen: dict[str, StoredFact] = {}
        for f in self.facts:
            seen.setdefault(f.article.url, f)
        return list(seen.values())

    @property
    def headline(self) -> str:
        return self.articles[-1].article.title  # the first report's title

    @property
    def day(self) -> str | None:
        """The day its figures and events state most often; else the first report's publication day."""
        days = Counter(f.fact.date for f in self.facts
                       if isinstance(f.fact, Casualty | Event | Territory) and f.fact.date and len(f.fact.date) == 10)
        if days:
            return days.most_common(1)[0][0]
        first = self.articles[-1].article.published
        return first.date().isoformat() if first else None

    @property
    def place(self) -> str | None:
        places = Counter(f.fact.location for f in self.facts if getattr(f.fact, "location", None))
        return places.most_common(1)[0][0] if places else None


def incidents_of(facts: Sequence[StoredFact]) -> list[Incident]:
    """Facts grouped by story, stories joined where their figures state the same day and place; the
    incident with the newest report first."""
    by_story: dict[str, list[StoredFact]] = defaultdict(list)
    for f in facts:
        if f.story_id:
            by_story[f.story_id].append(f)
    parent = {story: story for story in by_story}

    def root(story: str) -> str:
        while parent[story] != story:
            parent[story] = parent[parent[story]]
            story = parent[story]
        return story

    first_at: dict[tuple[str, str], str] = {}
    for story, group in by_story.items():
        for f in group:
            c = f.fact
            if isinstance(c, Casualty | Territory) and c.date and len(c.date) == 10 and c.location:
                other = first_at.setdefault((c.date, c.location), story)
                parent[root(story)] = root(other)
    joined: dict[str, list[str]] = defaultdict(list)
    for story in by_story:
        joined[root(story)].append(story)
    incidents = []
    for stories in joined.values():
        group = sorted((f for s in stories for f in by_story[s]), key=_newest, reverse=True)
        first = min(stories, key=lambda s: min(_newest(f) for f in by_story[s]))
        incidents.append(Incident(first, tuple(group), tuple(sorted(stories))))
    return sorted(incidents, key=lambda i: _newest(i.facts[0]), reverse=True)


def _newest(f: StoredFact) -> tuple[float, int]:
    return (f.article.published.timestamp() if f.article.published else 0.0, f.seq)


def uncertain_grouping(incident: Incident) -> str | None:
    """Why the articles may not be about one happening, or None when nothing says so."""
    claims = [f.fact for f in incident.facts if isinstance(f.fact, Casualty | Territory)]
    days = sorted({c.date for c in claims if c.date and len(c.date) == 10})
    places = sorted({c.location for c in claims if c.location})
    if len(incident.articles) > 1 and len(days) > 1:
        return f"its articles give different days ({', '.join(days)})"
    if len(incident.articles) > 1 and len(places) > 1:
        return f"its articles name different places ({', '.join(places)})"
    return None


def evidence_notes(incident: Incident) -> list[str]:
    """The evidence notes, each saying in words why it was given. None where the grouping is uncertain."""
    if uncertain_grouping(incident):
        return []
    notes: list[str] = []
    if len(incident.articles) == 1:
        notes.append(f"Single report: only {incident.outlets[0]} has reported it so far.")
    claims = [f for f in incident.facts if isinstance(f.fact, Casualty) and f.fact.count is not None]
    same: dict[tuple[object, ...], set[str]] = defaultdict(set)
    for f in claims:
        c = f.fact
        assert isinstance(c, Casualty)
        same[(c.claimant or f"outlet:{f.article.outlet}", side_of(c), c.category, figure_text(c))].add(f.article.outlet)
    for (claimant, side, category, figure), outlets in same.items():
        if len(outlets) > 1:
            by = claimant if not str(claimant).startswith("outlet:") else "the outlets themselves"
            notes.append(f"Corroborated by {len(outlets)} independent outlets: {', '.join(sorted(outlets))} report "
                         f"{figure} {side} {category}, as stated by {by}.")
    for f in claims:
        c = f.fact
        assert isinstance(c, Casualty)
        if admitted(c):
            notes.append(f"Losses admitted by the side that suffered them: {claimant_text(c)} says {figure_text(c)} "
                         f"{who_text(c)} {c.category}.")
            break
    by_side: dict[tuple[str, str], dict[str, Casualty]] = defaultdict(dict)
    for f in claims:
        c = f.fact
        assert isinstance(c, Casualty)
        if c.claimant and known_side(c) and not c.cumulative and not c.breakdown:
            by_side[(side_of(c), c.category)].setdefault(c.claimant, c)
    for (side, category), per_claimant in sorted(by_side.items()):
        if len(per_claimant) > 1 and len({figure_text(c) for c in per_claimant.values()}) > 1:
            said = "; ".join(f"{claimant_text(c)} says {figure_text(c)}" for c in per_claimant.values())
            notes.append(f"Contested: claimants' figures for {side} {category} differ ({said}).")
    return notes


def build_incident(incident: Incident) -> Answer:
    casualty_facts = [f for f in incident.facts if isinstance(f.fact, Casualty)]
    sections: list[Section] = []
    uncertain = uncertain_grouping(incident)
    notes = evidence_notes(incident)
    if uncertain:
        sections.append(Section("Evidence", (Line.of(f"No evidence note: {uncertain}, so the grouping itself is "
                                                     "uncertain."),)))
    elif notes:
        sections.append(Section("Evidence", tuple(Line.of(n) for n in notes)))
    if casualty_facts:
        claims = build_casualties(casualty_facts, topic_name="", window="")
        sections += [Section(f"Claims — {s.heading}", s.lines) for s in claims.sections]
    places = [f for f in incident.facts if isinstance(f.fact, Territory)]
    if places:
        territory = build_territory(places, topic_name="", window="")
        sections += [Section(f"Territory — {s.heading}", s.lines) for s in territory.sections]
    events = sorted((f for f in incident.facts if isinstance(f.fact, Event) and f.fact.date),
                    key=lambda f: (f.fact.date or "", f.seq))
    if events:
        sections.append(Section("Timeline", tuple(
            Line.of(Day(f.fact.date or ""), f" — {f.fact.summary} · ", source_of(f), " ", Ref(f.id))  # type: ignore[union-attr]
            for f in events)))
    sections.append(Section(f"Reported by {plural(len(incident.outlets), 'outlet')}", tuple(
        Line.of(source_of(f), f" — {f.article.title}") for f in incident.articles)))
    when = f"{incident.day}" if incident.day else "date unknown"
    where = f", {incident.place}" if incident.place else ""
    return Answer(f"Incident {incident.id}: {incident.headline}", tuple(sections),
                  footer=f"{when}{where}. Claims are shown side by side, never added up.",
                  url=incident.articles[0].article.url)


def build_incidents(incidents: Sequence[Incident], *, topic_name: str) -> Answer:
    title = f"Incidents: {topic_name}"
    if not incidents:
        return Answer(title, empty_message=f"No incidents stored for {topic_name} yet.")
    lines = [Line.of(f"{incident_label(i)} · id {i.id}") for i in incidents[:MAX_INCIDENTS]]
    return Answer(title, (Section("", tuple(lines)),),
                  footer="Ask /incident with an id for every claim about it, side by side.")


def incident_label(incident: Incident) -> str:
    """ "2025-10-11 · Kurram — Pakistan and Taliban trade claims … (3 outlets)" """
    where = f" · {incident.place}" if incident.place else ""
    headline = incident.headline if len(incident.headline) <= 60 else incident.headline[:59] + "…"
    return f"{incident.day or 'undated'}{where} — {headline} ({plural(len(incident.outlets), 'outlet')})"
