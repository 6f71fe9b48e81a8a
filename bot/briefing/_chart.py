"""The casualties chart, part one: from stored facts to what will be drawn (pure data, no matplotlib).

For a topic and window, each claimant's figures over time, one panel per victim side and category:

- **One series per claimant** (the outlet when nobody else states the figure), named in the legend exactly as
  the text lines name it (:func:`claim_label`), one colour per claimant across every panel. Contested
  figures are separate series; nothing here adds, nets or averages figures, so no point is ever a sum.
- A point is one figure as stated, at the incident's day, else the article's publication day. A range
  ("7–8") is a point at its low end with a bar up to its high end. The same figure from several outlets
  about the same day is one point, with every fact behind it kept as its evidence.
- Running totals ("400 killed since January") are their own series beside the claimant's incident figures,
  marked "(total)" as the text lines mark them: a step from an incident figure to a war's total would read
  as a jump in the fighting.
- Not plotted, and said so in a footnote on the chart: vague figures (no number), subsets ("including two
  commanders"), figures about incidents before the window, and the groups and claimants beyond what stays
  readable.

What a chart is (``ChartData``, its panels, series and points) is in ``_chart_data.py``; drawing is in
``_chart_draw.py``, imported only when a chart is rendered, so that ``python -m bot --help`` and every text
answer never pay for matplotlib.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from bot.briefing._answers import MONTH
from bot.briefing._casualties import NO_SIDE, claim_label, incident_day, plural
from bot.briefing._chart_data import ChartData, Panel, Point, Series
from bot.model import Casualty, StoredFact

MAX_PANELS = 4  # side+category groups drawn; the largest (most plotted claims) first
MAX_SERIES = 6  # claimants per panel; the most prolific first


def chart_day(f: StoredFact) -> date:
    """The incident's stated day, else the article's publication day (else the day it was stored)."""
    day = incident_day(f)
    if day is not None:
        return day
    return (f.article.published or f.stored_at).date()


def _claimant_key(c: Casualty, outlet: str) -> str:
    return c.claimant.casefold() if c.claimant else f"outlet:{outlet.casefold()}"


@dataclass
class _Draft:
    key: str
    label: str
    totals: bool
    facts: list[StoredFact]  # newest article first, as read


def prepare_chart(facts: Sequence[StoredFact], *, topic_name: str, window: str, start: date | None = None,
                  max_panels: int = MAX_PANELS, max_series: int = MAX_SERIES) -> ChartData:
    """What to draw for these facts (newest article first, as the store returns them). ``start`` is the
    window's first day: a figure about an incident before it (a report this month about a clash two years
    ago) is left out and counted in a footnote, so one old date cannot squeeze the month into a sliver."""
    title = f"Casualty claims: {topic_name}, {window}"
    vague = subsets = earlier = 0
    groups: dict[tuple[str, str], dict[tuple[str, bool], _Draft]] = defaultdict(dict)
    for f in facts:
        c = f.fact
        if not isinstance(c, Casualty):
            continue
        if c.count is None:
            vague += 1
            continue
        if c.breakdown:
            subsets += 1
            continue
        if start is not None and chart_day(f) < start:
            earlier += 1
            continue
        key = _claimant_key(c, f.article.outlet)
        drafts = groups[(c.victim or NO_SIDE, c.category)]
        draft = drafts.get((key, c.cumulative))
        if draft is None:  # the newest report names the claimant, as the text line does
            label = claim_label(c, f.article.outlet) + (" (total)" if c.cumulative else "")
            draft = drafts[(key, c.cumulative)] = _Draft(key, label, c.cumulative, [])
        draft.facts.append(f)

    def size(item: tuple[tuple[str, str], dict[tuple[str, bool], _Draft]]) -> tuple[object, ...]:
        (side, category), drafts = item
        return (side == NO_SIDE, -sum(len(d.facts) for d in drafts.values()), side, category)

    ranked = sorted(groups.items(), key=size)
    shown, hidden_groups = ranked[:max_panels], ranked[max_panels:]
    colours: dict[str, int] = {}
    panels = []
    hidden_series = 0
    for (side, category), drafts in shown:
        ordered = sorted(drafts.values(), key=lambda d: (-len(d.facts), d.label, d.totals))
        hidden_series += max(0, len(ordered) - max_series)
        series = []
        for draft in ordered[:max_series]:
            colour = colours.setdefault(draft.key, len(colours))
            series.append(Series(draft.key, draft.label, colour, _points(draft.facts), draft.totals))
        panels.append(Panel(side, category, tuple(series)))

    footnotes = ["Each line: one claimant's figures as stated; contested figures stand apart, never added up. "
                 "Bars: stated ranges. Dates: the incident's, else the report's."]
    if vague:
        footnotes.append(f"Not plotted: {plural(vague, 'vague figure')} with no number (such as \"dozens\").")
    if subsets:
        footnotes.append(f"Not plotted: {plural(subsets, 'subset figure')} (\"including ...\").")
    if earlier and start is not None:
        footnotes.append(f"Not plotted: {plural(earlier, 'figure')} about incidents before {start.day} "
                         f"{MONTH[start.month - 1]} {start.year} (in the text answer).")
    if hidden_groups:
        hidden_claims = sum(len(d.facts) for _, drafts in hidden_groups for d in drafts.values())
        footnotes.append(f"Not shown: {plural(len(hidden_groups), 'more side/category group')} "
                         f"({plural(hidden_claims, 'figure')}); narrow with side or category.")
    if hidden_series:
        footnotes.append(f"Not shown: {plural(hidden_series, 'more claimant series')}; narrow with claimant.")
    empty = "" if panels else f"No stated figures to plot for {topic_name} {window}."
    return ChartData(title, tuple(panels), tuple(footnotes), empty)


def _points(facts: list[StoredFact]) -> tuple[Point, ...]:
    """One point per day and figure; oldest report first within a day, so a revision steps the right way."""
    merged: dict[tuple[date, int, int], list[StoredFact]] = {}
    for f in reversed(facts):  # oldest article first
        c = f.fact
        assert isinstance(c, Casualty) and c.count is not None
        high = c.count_high if c.qualifier == "range" and c.count_high is not None else c.count
        merged.setdefault((chart_day(f), c.count, max(high, c.count)), []).append(f)
    ordered = sorted(merged.items(), key=lambda kv: kv[0][0])  # stable: same-day figures keep report order
    return tuple(Point(day, low, high, tuple(f.id for f in group)) for (day, low, high), group in ordered)


def render_chart(data: ChartData) -> bytes:
    """PNG bytes of the chart, ``data.size`` pixels. Slow (tens to hundreds of milliseconds) and CPU-bound:
    the bot calls it in a worker thread. matplotlib is imported here, on first use, not at start-up."""
    from bot.briefing._chart_draw import render_png

    return render_png(data)
