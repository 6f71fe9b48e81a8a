"""Casualty answers: every claim with its claimant, never merged across claimants, never summed.

Rule 5 of the product: a statement the bot derives itself needs evidence in the text; when unsure, the
claims stand side by side and nothing is derived. Three statements are derived here, each only under
stated conditions:

- **Corroboration** ("+2 outlets"): the same figure for the same side and category from the same claimant,
  about the *same incident* (below), merged into one line with all its sources.
- **Revision** ("raised from 19 to 23 on 13 Oct"): a named claimant (never the outlet fallback) changes its
  figure for the same known side, category and incident, and the new figure comes from a later report.
  Two figures of one article are never a revision: nothing here reads the text's own "rose to".
- **Range** ("Range — Pakistan killed, 11 Oct: 9 (Taliban) to more than 200 (Pakistan)"): different named
  claimants about one incident on one stated day, one known side, one category and a shared topic; never
  for "side not stated", the outlet standing in for a claimant, undated figures, totals, subsets or vague
  figures.

*Same incident* means the same story (articles linked across outlets by the sources layer) or the same
place and day, and never two different stated days or places; within one article, a dated and an undated
figure are not taken for one incident (articles recall earlier ones).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from bot.briefing._answers import MONTH, Answer, Day, Line, Ref, Section, source_of
from bot.model import Casualty, StoredFact

QUALIFIER_WORDS = {"at_least": "at least ", "more_than": "more than ", "about": "about ", "up_to": "up to ",
                   "fewer_than": "fewer than ", "exact": ""}
MAX_LINES = 40
NO_SIDE = "side not stated"


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


_POSSESSIVE = re.compile(r"^(?:of\s+)?(?:its|their|his|her|our)\s+(?:own\s+)?", re.IGNORECASE)
_BARE_TROOPS = re.compile(r"(?:(?:of\s+)?(?:its|their|our)\s+)?(?:soldiers?|troops?|servicem(?:e|a)n|"
                          r"military personnel)", re.IGNORECASE)
_ARMY = re.compile(r"\b(?:army|military|armed forces|defen[cs]e ministry|ministry of defen[cs]e)\b", re.IGNORECASE)
_COMBATANT = re.compile(r"\b(?:soldiers?|troops?|servicem(?:e|a)n|personnel|fighters?|militants?|members|"
                        r"forces|officers|policem(?:e|a)n|police|guards?|commanders?|men|its|their|our)\b",
                        re.IGNORECASE)


def side_of(c: Casualty) -> str:
    return c.victim or NO_SIDE


def known_side(c: Casualty) -> bool:
    """A side a revision or range may be about: a named one, not plain "civilians" of nobody in particular."""
    return c.victim is not None and c.victim != "civilians"


def who_text(c: Casualty) -> str:
    """Whose casualties, as the text names them; "its soldiers" reads "soldiers (Pakistan)"."""
    text = c.victim_text or c.victim or "people"
    if _POSSESSIVE.match(text) and c.victim:
        return f"{_POSSESSIVE.sub('', text)} ({c.victim})"
    return re.sub(r"^of\s+", "", text, flags=re.IGNORECASE)  # "thousands of | of regime troops" reads once


def claimant_text(c: Casualty) -> str:
    """Who asserts the figure, as precisely as the text names them, with the canonical side beside it once:
    "Lebanon's health ministry", "Taliban government · Afghanistan (Taliban)"."""
    assert c.claimant is not None
    text = (c.claimant_text or "").strip()
    if not text or text.casefold() == c.claimant.casefold():
        return c.claimant
    if c.claimant.casefold() in text.casefold():
        return text
    return f"{text} · {c.claimant}"


def admitted(c: Casualty) -> bool:
    """A side stating its own combatants' losses ("the army said 23 of its soldiers were killed"). A health
    ministry counting its country's dead is not an admission: its count is not a statement of the side.

    An army or military that reports bare "soldiers" or "troops" killed, with no side named for them ("The
    Malian army said 12 soldiers were killed"), reports its own: an army never calls the other side's
    fighters plain "soldiers" without naming whose. Those read "admitted" too, not "claimed"."""
    if c.admitted:
        return bool(_COMBATANT.search(c.victim_text or ""))
    return (c.victim is None and c.claimant is not None and bool(_BARE_TROOPS.fullmatch((c.victim_text or "").strip()))
            and bool(_ARMY.search(c.claimant_text or "")))


def claim_label(c: Casualty, outlet: str) -> str:
    """Rule 3: every figure names who asserts it; the outlet when nobody else does."""
    if c.claimant is None:
        return f"reported by {outlet}"
    return f"{'admitted' if admitted(c) else 'claimed'} by {claimant_text(c)}"


def incident_day(f: StoredFact) -> date | None:
    """The stated day of the incident; None when the text gives none (a publication date is no incident day)."""
    c = f.fact
    if isinstance(c, Casualty) and c.date and len(c.date) == 10:
        return _day(c.date)
    return None


@lru_cache(maxsize=4096)
def _day(iso: str) -> date:
    return date.fromisoformat(iso)


def same_incident(a: StoredFact, b: StoredFact) -> bool:
    """The same story, or the same place and day; never two different stated days or places."""
    day_a, day_b = incident_day(a), incident_day(b)
    ca, cb = a.fact, b.fact
    assert isinstance(ca, Casualty) and isinstance(cb, Casualty)
    if (day_a and day_b and day_a != day_b) or (ca.location and cb.location and ca.location != cb.location):
        return False
    if a.story_id and a.story_id == b.story_id and (day_a == day_b or a.article.url != b.article.url):
        return True  # one story; but within one article a dated and an undated figure may be two incidents
    return bool(day_a and day_a == day_b and ca.location and ca.location == cb.location)


def _published(f: StoredFact) -> float:
    return f.article.published.timestamp() if f.article.published else 0.0


@dataclass
class _Claim:
    """One figure from one claimant about one incident, with every outlet that reported it."""

    mentions: list[StoredFact]  # newest article first
    revised_from: tuple[StoredFact, date | None] | None = None  # the claimant's earlier figure, when backed
    superseded: list[StoredFact] = field(default_factory=list)

    @property
    def latest(self) -> StoredFact:
        return self.mentions[0]

    @property
    def fact(self) -> Casualty:
        c = self.latest.fact
        assert isinstance(c, Casualty)
        return c

    def outlets(self) -> list[str]:
        return list(dict.fromkeys(m.article.outlet for m in self.mentions))


def _clusters(facts: Sequence[StoredFact]) -> list[list[StoredFact]]:
    """Facts grouped into incidents (transitively), keeping the input order inside each group.

    Only facts that could be one incident are compared: those of one story, of one place and day, or of one
    article with one figure (a headline and its body), so the work grows with the size of those buckets,
    not with the square of the answer."""
    parent = list(range(len(facts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    buckets: dict[tuple[object, ...], list[int]] = defaultdict(list)
    for i, f in enumerate(facts):
        c = f.fact
        assert isinstance(c, Casualty)
        if f.story_id:
            buckets[("story", f.story_id)].append(i)
        day = incident_day(f)
        if day and c.location:
            buckets[("place", day, c.location)].append(i)
        buckets[("article", f.article.url, figure_text(c))].append(i)
    for key, members in buckets.items():
        same_article = key[0] == "article"
        for x in range(1, min(len(members), 200)):
            for y in range(x):
                i, j = members[x], members[y]
                if root(i) != root(j) and (same_article or same_incident(facts[i], facts[j])):
                    parent[root(i)] = root(j)
    groups: dict[int, list[StoredFact]] = defaultdict(list)
    for i, f in enumerate(facts):
        groups[root(i)].append(f)
    return list(groups.values())


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
        for incident in _clusters(mentions):
            figures: dict[str, list[StoredFact]] = {}
            for f in incident:
                figures.setdefault(figure_text(f.fact), []).append(f)  # type: ignore[arg-type]
            ordered = [_Claim(group) for group in figures.values()]  # first = the newest report's figure
            claims.extend(_revise(ordered))
    return claims


def _revise(claims: list[_Claim]) -> list[_Claim]:
    """Fold a claimant's earlier figure into its latest one where the conditions for a revision hold."""
    if len(claims) < 2:
        return claims
    latest, rest = claims[0], claims[1:]
    c = latest.fact
    if c.claimant is None or not known_side(c) or c.count is None or c.cumulative or c.breakdown:
        return claims
    newest_time = _published(latest.latest)
    earliest_time = min(_published(m) for m in latest.mentions)
    earlier = [cl for cl in rest if cl.fact.count is not None and cl.fact.count != c.count
               and max(_published(m) for m in cl.mentions) < earliest_time
               and not {m.article.url for m in cl.mentions} & {m.article.url for m in latest.mentions}]
    if not earlier or not newest_time:
        return claims
    previous = earlier[0]
    when = latest.latest.article.published
    latest.revised_from = (previous.latest, when.date() if when else None)
    latest.superseded = [m for cl in earlier for m in cl.mentions]
    return [latest, *(cl for cl in rest if cl not in earlier)]


def build_casualties(facts: Sequence[StoredFact], *, topic_name: str, window: str, max_lines: int = MAX_LINES,
                     story_outlets: Mapping[str, int] | None = None) -> Answer:
    """``story_outlets``: how many outlets reported each story; a line whose story more than one outlet
    reported says so and names its incident."""
    title = f"Casualty claims: {topic_name}"
    casualties = [f for f in facts if isinstance(f.fact, Casualty)]
    if not casualties:
        return Answer(title, empty_message=f"No casualty figures stored for {topic_name} {window}.")
    claims = group_claims(casualties)
    by_side: dict[str, list[_Claim]] = defaultdict(list)
    for claim in claims:
        by_side[side_of(claim.fact)].append(claim)
    sections = []
    shown = 0
    # Named sides first, most claims first; "side not stated" last: it is a heading, not a side.
    for side, side_claims in sorted(by_side.items(), key=lambda kv: (kv[0] == NO_SIDE, -len(kv[1]), kv[0])):
        side_claims.sort(key=lambda cl: (cl.fact.category, -(cl.fact.count or 0)))
        lines = range_lines(side, side_claims) if known_side(side_claims[0].fact) else []
        for claim in side_claims:
            if shown >= max_lines:
                break
            lines.append(_claim_line(claim, story_outlets or {}))
            shown += 1
        sections.append(Section(side, tuple(lines)))
    hidden = len(claims) - shown
    outlets = len({f.article.outlet for f in casualties})
    footer = f"{plural(len(claims), 'claim')} from {plural(outlets, 'outlet')}, {window}. " \
             "Contested figures are shown side by side, never added up."
    if hidden > 0:
        footer += f" {hidden} more: narrow with since, side or claimant."
    return Answer(title, tuple(sections), footer=footer)


def _claim_line(claim: _Claim, story_outlets: Mapping[str, int]) -> Line:
    f = claim.latest
    c = claim.fact
    outlets = claim.outlets()
    more = f" +{len(outlets) - 1} outlet{'s' if len(outlets) > 2 else ''}" if len(outlets) > 1 else ""
    flags = " (total)" if c.cumulative else (" (subset)" if c.breakdown else "")
    detail = ""
    basis: tuple[str, ...] = ()
    if claim.revised_from is not None:
        old_fact, when = claim.revised_from
        old = old_fact.fact
        assert isinstance(old, Casualty)
        basis = (old_fact.id, f.id)
        verb = "raised" if (c.count or 0) > (old.count or 0) else "lowered"
        detail = f"{verb} from {figure_text(old)} to {figure_text(c)}"
        if when:
            detail += f" on {when.day} {MONTH[when.month - 1]}"
    label = claim_label(c, f.article.outlet)
    segments: list[object] = [f"{figure_text(c)} {who_text(c)} {c.category}{flags} — {label}"]
    if c.date:
        segments += [", ", Day(c.date)]
    segments += [" · ", source_of(f), f"{more} ", Ref(f.id)]
    reported = story_outlets.get(f.story_id or "", 0)
    if reported > 1:  # the sources layer linked the story's articles across outlets
        segments.append(f" · story reported by {reported} outlets, incident {f.story_id}")
    return Line.of(*segments, detail=detail, basis=basis)  # type: ignore[arg-type]


def _claimant_key(claim: _Claim) -> str:
    return (claim.fact.claimant or f"outlet:{claim.latest.article.outlet}").casefold()


def range_lines(side: str, claims: Iterable[_Claim]) -> list[Line]:
    """Where different claimants give different figures for one incident, side and category: low to high."""
    out = []
    by_category: dict[str, list[_Claim]] = defaultdict(list)
    for claim in claims:
        c = claim.fact
        # both ends named by their claimant (never the outlet standing in) and dated: a range spans one
        # incident's day, never an undated running total against one strike's toll
        if c.count is not None and c.qualifier != "vague" and not c.cumulative and not c.breakdown and \
                c.claimant is not None and incident_day(claim.latest) is not None:
            by_category[c.category].append(claim)
    for category, group in sorted(by_category.items()):
        by_fact = {cl.latest.id: cl for cl in group}
        for incident in _clusters([cl.latest for cl in group]):
            members = [by_fact[f.id] for f in incident]
            line = _range_line(side, category, members)
            if line is not None:
                out.append(line)
    return out


def _range_line(side: str, category: str, incident: list[_Claim]) -> Line | None:
    if len({_claimant_key(cl) for cl in incident}) < 2:
        return None
    shared_topics = set.intersection(*(set(cl.latest.topics) for cl in incident))
    if not shared_topics:
        return None
    low = min(incident, key=lambda cl: cl.fact.count or 0)
    high = max(incident, key=lambda cl: cl.fact.count_high or cl.fact.count or 0)
    lo, hi = low.fact, high.fact
    if figure_text(lo) == figure_text(hi) or _claimant_key(low) == _claimant_key(high):
        return None
    days = sorted({d for d in (incident_day(cl.latest) for cl in incident) if d})
    if len(days) != 1:
        return None  # one incident is one day: figures of several days are claims side by side
    when = _span(days[0], days[-1])
    return Line.of(f"Range — {side} {category}{when}: {figure_text(lo)} ({_who(low)}) to {figure_text(hi)} "
                   f"({_who(high)})", basis=(low.latest.id, high.latest.id))


def _who(claim: _Claim) -> str:
    return claimant_text(claim.fact) if claim.fact.claimant else claim.latest.article.outlet


def _span(a: date, b: date) -> str:
    if a == b:
        return f", {a.day} {MONTH[a.month - 1]}"
    if (a.year, a.month) == (b.year, b.month):
        return f", {a.day}–{b.day} {MONTH[a.month - 1]}"
    return f", {a.day} {MONTH[a.month - 1]}–{b.day} {MONTH[b.month - 1]}"
