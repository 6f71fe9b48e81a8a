"""Territory answers: every claim about places with its claimant, side by side, never summed.

"The army says it took control of 21 posts" and "the Taliban say they captured 25 posts" are two claims;
no line adds them, nets them or calls one a revision of the other. The same claim from several outlets about
the same story is one line with its sources.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from bot.briefing._answers import Answer, Day, Line, Ref, Section, source_of
from bot.briefing._casualties import QUALIFIER_WORDS, plural
from bot.model import StoredFact, Territory

MAX_LINES = 40


def territory_text(t: Territory) -> str:
    """"more than 21 posts taken by Pakistan from Afghanistan (Taliban)": the claim as stated."""
    if t.count is None:
        figure = "several"
    elif t.qualifier == "range" and t.count_high is not None:
        figure = f"{t.count:,}–{t.count_high:,}"
    else:
        figure = f"{QUALIFIER_WORDS.get(t.qualifier, '')}{t.count:,}"
    what = f"{figure} {t.object}" + (f" ({t.location})" if t.location and t.location not in t.object else "")
    sides = "".join([f" by {t.by_side}" if t.by_side else "", f" from {t.from_side}" if t.from_side else ""])
    return f"{what} {t.action}{sides}"


def territory_claimant(t: Territory, outlet: str) -> str:
    if t.claimant is None:
        return f"reported by {outlet}"
    text = (t.claimant_text or "").strip()
    if not text or text.casefold() == t.claimant.casefold() or t.claimant.casefold() in text.casefold():
        return f"claimed by {text or t.claimant}"
    return f"claimed by {text} ({t.claimant})"


def build_territory(facts: Sequence[StoredFact], *, topic_name: str, window: str,
                    max_lines: int = MAX_LINES) -> Answer:
    """``facts`` newest first. Sections per claimant; a line per claim, with every outlet that reported it."""
    title = f"Territory claims: {topic_name}"
    claims = [f for f in facts if isinstance(f.fact, Territory)]
    if not claims:
        return Answer(title, empty_message=f"No territory claims stored for {topic_name} {window}.")
    merged: dict[tuple[object, ...], list[StoredFact]] = {}
    for f in claims:
        t = f.fact
        assert isinstance(t, Territory)
        key = ((t.claimant or f"outlet:{f.article.outlet}").casefold(), t.action, t.object, t.count, t.qualifier,
               t.by_side, t.from_side, t.location, f.story_id or f.article.url)
        merged.setdefault(key, []).append(f)
    by_claimant: dict[str, list[list[StoredFact]]] = defaultdict(list)
    for group in merged.values():
        t = group[0].fact
        assert isinstance(t, Territory)
        by_claimant[territory_claimant(t, group[0].article.outlet)].append(group)
    sections = []
    shown = 0
    for label, groups in sorted(by_claimant.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        lines = []
        for group in groups[:max(0, max_lines - shown)]:
            lines.append(_line(group))
        shown += len(lines)
        sections.append(Section(label[0].upper() + label[1:], tuple(lines)))
    footer = f"{plural(len(merged), 'claim')} {window}. Claims are shown side by side, never added up."
    if len(merged) > shown:
        footer += f" {len(merged) - shown} more: narrow with since."
    return Answer(title, tuple(s for s in sections if s.lines), footer=footer)


def _line(group: list[StoredFact]) -> Line:
    f = group[0]
    t = f.fact
    assert isinstance(t, Territory)
    outlets = list(dict.fromkeys(m.article.outlet for m in group))
    more = f" +{len(outlets) - 1}" if len(outlets) > 1 else ""
    segments: list[object] = [territory_text(t)]
    if t.date:
        segments += [", ", Day(t.date)]
    segments += [" · ", source_of(f), f"{more} ", Ref(f.id)]
    return Line.of(*segments)  # type: ignore[arg-type]
