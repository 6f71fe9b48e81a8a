"""The casualties chart's data: what ``_chart.py`` prepares from the facts and ``_chart_draw.py`` draws, and
the sizes both agree on (pure data, no matplotlib)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

WIDTH_PX = 1000
HEADER_PX = 90  # the title
PANEL_PX = 300
FOOTER_PX = 30  # per footnote line
DPI = 100


@dataclass(frozen=True, slots=True)
class Point:
    """One figure as stated. ``high`` equals ``low`` unless the claim is a range; ``fact_ids`` are its evidence
    (several when outlets report the same figure for the same day)."""

    day: date
    low: int
    high: int
    fact_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Series:
    key: str  # the claimant's identity: canonical claimant, or "outlet:<name>" for unattributed figures
    label: str  # as the text lines name it: "claimed by the Taliban government (Afghanistan (Taliban))"
    colour: int  # index into the palette; the same claimant has the same colour in every panel
    points: tuple[Point, ...]  # in date order (then publication order)
    totals: bool = False  # running totals, drawn dashed


@dataclass(frozen=True, slots=True)
class Panel:
    side: str
    category: str
    series: tuple[Series, ...]

    @property
    def points(self) -> list[Point]:
        return [p for s in self.series for p in s.points]


@dataclass(frozen=True, slots=True)
class ChartData:
    title: str
    panels: tuple[Panel, ...]
    footnotes: tuple[str, ...]
    empty_message: str = ""  # shown instead of panels when nothing can be plotted

    @property
    def size(self) -> tuple[int, int]:
        """The PNG's size in pixels: fixed width, one band per panel, one line per footnote."""
        body = PANEL_PX * len(self.panels) if self.panels else PANEL_PX
        return WIDTH_PX, HEADER_PX + body + FOOTER_PX * max(1, len(self.footnotes))
