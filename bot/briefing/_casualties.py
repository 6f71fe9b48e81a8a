"""Casualty answers: every claim with its claimant, never merged across claimants, never summed.

- The same claim from several outlets (same victim, category, claimant, figure, incident within two
  days) is one line with all its sources.
- A claimant that changes its own figure for the same incident is a revision: the latest figure is
  shown with the change ("raised from 12 to 23 on 13 Oct").
- Where claimants disagree about one side and category, a range line names the low and the high end
  and who said each, in the spirit of UCDP's low/high estimates without hiding who said what.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from bot.briefing._answers import MONTH, Answer, Day, Line, Ref, Section
from bot.model import Casualty, StoredFact

QUALIFIER_WORDS = {"at_least": "at least ", "more_than": "more than ", "about": "about ", "up_to": "up to ",
                   "fewer_than": "fewer than ", "exact": ""}
MAX_LINES = 40


def figure_text(c: Casualty) -> str:
    """The figure as stated: "more than 200", "at least 23", "7–8", "dozens"."""
    if c.count is None:
        word = _vague_word(c.quote)
        return f"{word} of" if word in _TAKES_OF else word
    if c.qualifier == "range" and c.count_high is not None:
        return f"{c.count:,}–{c.count_high:,}"
    return f"{QUALIFIER_WORDS.get(c.qualifier, '')}{c.count:,}"


_TAKES_OF = {"tens of thousands", "hundreds of thousands", "dozens", "scores", "hundreds", "thousands", "millions"}


def _vague_word(quote: str) -> str:
    lowered = quote.lower()
    for word in ("tens of thousands", "hundreds of thousands", "dozens", "scores", "hundreds", "thousands",
                 "millions", "several", "many", "a number of", "multiple", "numerous"):
        if word in lowered:
            return word
    return "an unstated number of"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


UNSPECIFIED = "Unspecified side"
_POSSESSIVE = re.compile(r"^(?:of\s+)?(?:its|their|his|her|our)\s+(?:own\s+)?", re.IGNORECASE)


def side_of(c: Casualty) -> str:
    return c.victim or UNSPECIFIED


def who_text(c: Casualty) -> str:
    """Whose casualties, as the text names them; "its soldiers" reads "soldiers (Pakistan)"."""
    text = c.victim_text or c.victim or "people"
    if _POSSESSIVE.match(text) and c.victim:
        return f"{_POSSESSIVE.sub('', text)} ({c.victim})"
    return text


def claim_label(c: Casualty, outlet: str) -> str:
    """Rule 3: every figure names who asserts it; the outlet when nobody else does."""
    if c.claimant is None:
        return f"reported by {outlet}"
    return f"{'admitted' if c.admitted else 'claimed'} by {c.claimant}"


def incident_day(f: StoredFact) -> date | None:
    c = f.fact
    if isinstance(c, Casualty) and c.date and len(c.date) == 10:
        return date.fromisoformat(c.date)
    return f.article.published.date() if f.article.published else None


@dataclass
class _Claim:
    """One claim: every mention of the same figure by the same claimant about the same incident."""

    mentions: list[StoredFact]
    revisions: list[tuple[str, date | None]]  # earlier figures and when they were reported

    @property
    def latest(self) -> StoredFact:
        return self.mentions[0]

    def outlets(self) -> list[str]:
        return list(dict.fromkeys(m.article.outlet for m in self.mentions))


def group_claims(facts: Sequence[StoredFact]) -> list[_Claim]:
    """Corroboration and revisions. ``facts`` newest article first."""
    by_key: dict[tuple[object, ...], list[StoredFact]] = defaultdict(list)
    for f in facts:
        c = f.fact
        assert isinstance(c, Casualty)
        by_key[(side_of(c), c.category, (c.claimant or "").casefold(), c.cumulative, c.breakdown,
                c.claimant is None and f.article.outlet)].append(f)
    claims: list[_Claim] = []
    for mentions in by_key.values():
        # Split one claimant's mentions into incidents: reports within two days of each other.
        incidents: list[list[StoredFact]] = []
        for f in mentions:
            day = incident_day(f)
            for incident in incidents:
                other = incident_day(incident[0])
                if day is None or other is None or abs((day - other).days) <= 2:
                    incident.append(f)
                    break
            else:
                incidents.append([f])
        for incident in incidents:
            figures: dict[str, list[StoredFact]] = {}
            for f in incident:
                figures.setdefault(figure_text(f.fact), []).append(f)  # type: ignore[arg-type]
            ordered = list(figures.values())  # first = the newest report's figure
            latest = ordered[0]
            vague_only = all(f.fact.count is None for f in latest)  # type: ignore[union-attr]
            if vague_only or len(ordered) == 1:
                claims.extend(_Claim(group, []) for group in ordered)
                continue
            revisions = [(figure_text(g[0].fact), g[0].article.published.date() if g[0].article.published  # type: ignore[arg-type]
                          else None) for g in ordered[1:] if g[0].fact.count is not None]  # type: ignore[union-attr]
            claims.append(_Claim(latest, revisions))
            claims.extend(_Claim(g, []) for g in ordered[1:] if g[0].fact.count is None)  # type: ignore[union-attr]
    return claims


def build_casualties(facts: Sequence[StoredFact], *, topic_name: str, window: str,
                     max_lines: int = MAX_LINES) -> Answer:
    title = f"Casualty claims: {topic_name}"
    casualties = [f for f in facts if isinstance(f.fact, Casualty)]
    if not casualties:
        return Answer(title, empty_message=f"No casualty figures stored for {topic_name} {window}.")
    claims = group_claims(casualties)
    by_side: dict[str, list[_Claim]] = defaultdict(list)
    for claim in claims:
        by_side[side_of(claim.latest.fact)].append(claim)  # type: ignore[arg-type]
    sections = []
    shown = 0
    for side, side_claims in sorted(by_side.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        side_claims.sort(key=lambda cl: (cl.latest.fact.category, -(cl.latest.fact.count or 0)))  # type: ignore[union-attr]
        lines = [*_range_lines(side, side_claims)]
        for claim in side_claims:
            if shown >= max_lines:
                break
            lines.append(_claim_line(claim))
            shown += 1
        sections.append(Section(f"{side}", tuple(lines)))
    hidden = len(claims) - shown
    outlets = len({f.article.outlet for f in casualties})
    footer = f"{plural(len(claims), 'claim')} from {plural(outlets, 'outlet')}, {window}. " \
             "Contested figures are shown side by side, never added up."
    if hidden > 0:
        footer += f" {hidden} more: narrow with since, side or claimant."
    return Answer(title, tuple(sections), footer=footer)


def _claim_line(claim: _Claim) -> Line:
    f = claim.latest
    c = f.fact
    assert isinstance(c, Casualty)
    outlets = claim.outlets()
    sources = outlets[0] + (f" +{len(outlets) - 1} outlet{'s' if len(outlets) > 2 else ''}" if len(outlets) > 1 else "")
    flags = " (total)" if c.cumulative else (" (subset)" if c.breakdown else "")
    detail = ""
    if claim.revisions:
        old = claim.revisions[0][0]
        when = f.article.published.date() if f.article.published else None
        latest = c.count or 0
        verb = "raised" if latest > _first_number(old) else "lowered"
        detail = f"{verb} from {old} to {figure_text(c)}"
        if when:
            detail += f" on {when.day} {MONTH[when.month - 1]}"
    label = claim_label(c, f.article.outlet)
    segments: list[object] = [f"{figure_text(c)} {who_text(c)} {c.category}{flags} — {label}"]
    if c.date:
        segments += [", ", Day(c.date)]
    segments += [f" · {sources} ", Ref(f.id)]
    return Line.of(*segments, detail=detail)  # type: ignore[arg-type]


def _first_number(text: str) -> int:
    digits = "".join(ch if ch.isdigit() else " " for ch in text).split()
    return int(digits[0]) if digits else 0


def _range_lines(side: str, claims: list[_Claim]) -> list[Line]:
    """Where different claimants give different numbers for one side, category and incident: low to high.
    Claims about different incidents (more than two days apart) are never put in one range."""
    out = []
    by_category: dict[str, list[_Claim]] = defaultdict(list)
    for claim in claims:
        c = claim.latest.fact
        assert isinstance(c, Casualty)
        if c.count is not None and not c.cumulative and not c.breakdown and incident_day(claim.latest):
            by_category[c.category].append(claim)
    for category, group in sorted(by_category.items()):
        group.sort(key=lambda cl: incident_day(cl.latest))  # type: ignore[arg-type, return-value]
        incidents: list[list[_Claim]] = []
        for claim in group:
            if incidents and (incident_day(claim.latest) - incident_day(incidents[-1][0].latest)).days <= 2:  # type: ignore[operator]
                incidents[-1].append(claim)
            else:
                incidents.append([claim])
        for incident in incidents:
            line = _range_line(side, category, incident)
            if line is not None:
                out.append(line)
    return out


def _range_line(side: str, category: str, incident: list[_Claim]) -> Line | None:
    claimants = {cl.latest.fact.claimant or cl.latest.article.outlet for cl in incident}  # type: ignore[union-attr]
    if len(claimants) < 2:
        return None
    low = min(incident, key=lambda cl: cl.latest.fact.count)  # type: ignore[union-attr, arg-type, return-value]
    high = max(incident, key=lambda cl: cl.latest.fact.count_high or cl.latest.fact.count)  # type: ignore[union-attr, arg-type, return-value]
    lo, hi = low.latest.fact, high.latest.fact
    assert isinstance(lo, Casualty) and isinstance(hi, Casualty)
    if figure_text(lo) == figure_text(hi):
        return None
    days = sorted(d for d in (incident_day(cl.latest) for cl in incident) if d)
    return Line.of(
        f"Range — {side} {category}{_span(days[0], days[-1])}: {figure_text(lo)} "
        f"({lo.claimant or low.latest.article.outlet}) to {figure_text(hi)} "
        f"({hi.claimant or high.latest.article.outlet})")


def _span(a: date, b: date) -> str:
    if a == b:
        return f", {a.day} {MONTH[a.month - 1]}"
    if (a.year, a.month) == (b.year, b.month):
        return f", {a.day}–{b.day} {MONTH[a.month - 1]}"
    return f", {a.day} {MONTH[a.month - 1]}–{b.day} {MONTH[b.month - 1]}"
