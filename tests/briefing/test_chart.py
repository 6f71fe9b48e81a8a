"""The casualties chart: what it plots (the prepared data), how it is drawn (the Axes), and the PNG itself."""

from __future__ import annotations

import struct
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.briefing import render_chart
from bot.briefing._casualties import claim_label
from bot.briefing._chart import MAX_PANELS, MAX_SERIES, ChartData, prepare_chart
from bot.model import ArticleRef, Casualty, StoredFact

ROOT = Path(__file__).resolve().parents[2]
_seq = iter(range(1, 100_000))


def fact(c: Casualty, outlet: str = "Wire", day: int = 12, story: str | None = None) -> StoredFact:
    seq = next(_seq)
    published = datetime(2025, 10, day, 8, tzinfo=UTC)
    return StoredFact(id=f"id{seq:07d}", seq=seq, fact=c, topics=("pak-afg",), stored_at=published, story_id=story,
                      article=ArticleRef(f"https://{outlet.lower()}.test/{seq}", outlet, f"Story {seq}", published))


def claim(count: int | None, victim: str | None, claimant: str | None, *, category: str = "killed",
          qualifier: str = "exact", date: str | None = None, **kw: object) -> Casualty:
    return Casualty(category=category, count=count, qualifier=qualifier, victim=victim,  # type: ignore[arg-type]
                    victim_text=kw.pop("victim_text", None) or f"{victim} soldiers", claimant=claimant,
                    quote=f"{count} were {category}, {claimant} said", date=date, **kw)  # type: ignore[arg-type]


def chart(facts: list[StoredFact], **kw: object) -> ChartData:
    newest_first = sorted(facts, key=lambda f: f.article.published, reverse=True)  # as the store returns them
    return prepare_chart(newest_first, topic_name="Pakistan–Afghanistan border", window="in the last 30d",
                         **kw)  # type: ignore[arg-type]


def contested() -> list[StoredFact]:
    """One border clash: Pakistan's claim about Taliban dead, the Taliban's admission and their claim about
    Pakistani dead, Pakistan's own figure raised from 19 to 23, a range, a vague figure and a later one."""
    return [
        fact(claim(200, "Afghanistan (Taliban)", "Pakistan", qualifier="more_than", date="2025-10-11",
                   victim_text="Taliban fighters"), story="s1"),
        fact(claim(9, "Afghanistan (Taliban)", "Afghanistan (Taliban)", date="2025-10-11",
                   victim_text="its fighters"), story="s1"),
        fact(claim(58, "Pakistan", "Afghanistan (Taliban)", date="2025-10-11", claimant_text="the Taliban government"),
             outlet="Al Jazeera", story="s1"),
        fact(claim(58, "Pakistan", "Afghanistan (Taliban)", date="2025-10-11", claimant_text="the Taliban government"),
             outlet="Dawn", story="s1"),
        fact(claim(19, "Pakistan", "Pakistan", date="2025-10-11"), day=12, story="s1"),
        fact(claim(23, "Pakistan", "Pakistan", date="2025-10-11"), day=13, story="s1"),
        fact(claim(30, "Pakistan", "Afghanistan (Taliban)", qualifier="range", count_high=45,
                   claimant_text="the Taliban government"), day=17),
        fact(claim(None, "Pakistan", "Afghanistan (Taliban)", qualifier="vague"), day=17),
    ]


# --- the prepared data ---------------------------------------------------------------------------------------


def test_each_claimant_is_its_own_series_per_side_and_category_named_as_the_text_lines_name_it() -> None:
    facts = contested()
    data = chart(facts)
    panels = {(p.side, p.category): p for p in data.panels}
    assert set(panels) == {("Pakistan", "killed"), ("Afghanistan (Taliban)", "killed")}
    pakistan = panels[("Pakistan", "killed")]
    labels = {s.label for s in pakistan.series}
    expected = {claim_label(f.fact, f.article.outlet) for f in facts  # type: ignore[arg-type]
                if f.fact.victim == "Pakistan" and f.fact.count is not None}  # type: ignore[union-attr]
    assert labels == expected == {"admitted by Pakistan", "claimed by the Taliban government · Afghanistan (Taliban)"}
    assert len(panels[("Afghanistan (Taliban)", "killed")].series) == 2


def test_contested_figures_are_never_summed_and_corroboration_is_one_point() -> None:
    data = chart(contested())
    pakistan = next(p for p in data.panels if p.side == "Pakistan")
    taliban_claim = next(s for s in pakistan.series if s.label.startswith("claimed by"))
    oct_11 = [p for p in taliban_claim.points if p.day == date(2025, 10, 11)]
    assert [(p.low, len(p.fact_ids)) for p in oct_11] == [(58, 2)]  # Al Jazeera and Dawn: one figure, two facts
    stated = {f.fact.count for f in contested()} | {45}  # type: ignore[union-attr]
    plotted = {v for p in data.panels for pt in p.points for v in (pt.low, pt.high)}
    assert plotted <= stated  # every plotted value is a stated figure: no sum (81, 209), no average


def test_a_revision_steps_in_report_order_on_the_incident_day_and_ranges_keep_both_ends() -> None:
    data = chart(contested())
    pakistan = next(p for p in data.panels if p.side == "Pakistan")
    admitted = next(s for s in pakistan.series if s.label == "admitted by Pakistan")
    assert [(p.day, p.low) for p in admitted.points] == [(date(2025, 10, 11), 19), (date(2025, 10, 11), 23)]
    taliban_claim = next(s for s in pakistan.series if s.label.startswith("claimed by"))
    undated = taliban_claim.points[-1]
    assert (undated.day, undated.low, undated.high) == (date(2025, 10, 17), 30, 45)  # no incident day: report day


def test_vague_figures_and_subsets_are_not_plotted_and_the_chart_says_so() -> None:
    facts = [*contested(), fact(claim(2, "Pakistan", "Pakistan", breakdown=True, victim_text="officers"))]
    data = chart(facts)
    assert all(p.low is not None for panel in data.panels for p in panel.points)
    notes = " ".join(data.footnotes)
    assert "1 vague figure with no number" in notes
    assert "1 subset figure" in notes
    assert "never added up" in notes


def test_figures_about_incidents_before_the_window_are_footnoted_not_plotted() -> None:
    old = fact(claim(1200, "Pakistan", "Pakistan", date="2023-10-07"), day=16)  # a report this month, an old day
    data = chart([*contested(), old], start=date(2025, 10, 1))
    days = [p.day for panel in data.panels for p in panel.points]
    assert min(days) >= date(2025, 10, 1) and 1200 not in [p.low for panel in data.panels for p in panel.points]
    assert "Not plotted: 1 figure about incidents before 1 Oct 2025 (in the text answer)." in data.footnotes


def test_running_totals_are_a_separate_series_marked_as_the_text_marks_them() -> None:
    data = chart([*contested(), fact(claim(400, "Pakistan", "Pakistan", cumulative=True), day=18)])
    pakistan = next(p for p in data.panels if p.side == "Pakistan")
    totals = [s for s in pakistan.series if s.totals]
    assert [(s.label, [p.low for p in s.points]) for s in totals] == [("admitted by Pakistan (total)", [400])]
    admitted = next(s for s in pakistan.series if s.label == "admitted by Pakistan")
    assert totals[0].colour == admitted.colour  # one colour per claimant
    assert 400 not in [p.low for p in admitted.points]


def test_one_colour_per_claimant_across_panels() -> None:
    data = chart(contested())
    colours: dict[str, set[int]] = {}
    for panel in data.panels:
        for s in panel.series:
            colours.setdefault(s.key, set()).add(s.colour)
    assert all(len(c) == 1 for c in colours.values())
    assert len({next(iter(c)) for c in colours.values()}) == len(colours)


def test_only_the_largest_groups_are_drawn_and_the_rest_is_footnoted() -> None:
    facts = [fact(claim(i + 1, f"Side {g}", "Ministry", date=f"2025-10-{i + 1:02d}"))
             for g in range(MAX_PANELS + 2) for i in range(g + 1)]
    data = chart(facts)
    assert [p.side for p in data.panels] == [f"Side {g}" for g in range(MAX_PANELS + 1, 1, -1)]
    assert "Not shown: 2 more side/category groups (3 figures)" in " ".join(data.footnotes)


def test_nothing_to_plot_says_why() -> None:
    data = chart([fact(claim(None, "Pakistan", "Pakistan", qualifier="vague"))])
    assert data.panels == ()
    assert data.empty_message == "No stated figures to plot for Pakistan–Afghanistan border in the last 30d."


# --- the drawing ----------------------------------------------------------------------------------------------


def test_the_figure_has_a_panel_per_group_a_line_per_series_and_axes_that_hold_every_figure() -> None:
    from matplotlib.dates import date2num

    from bot.briefing._chart_draw import draw_chart

    data = chart(contested())
    fig = draw_chart(data)
    assert fig._suptitle is not None
    assert fig._suptitle.get_text() == "Casualty claims: Pakistan–Afghanistan border, in the last 30d"
    axes = fig.get_axes()
    assert len(axes) == len(data.panels)
    for ax, panel in zip(axes, data.panels, strict=True):
        assert len(ax.get_lines()) == len(panel.series)
        legend = [t.get_text().replace("\n", " ") for t in ax.get_legend().get_texts()]
        assert legend == [s.label for s in panel.series]
        assert ax.get_xlabel() and ax.get_ylabel()
        assert ax.get_title(loc="left") == f"{panel.side}: {panel.category}"
        y0, y1 = ax.get_ylim()
        x0, x1 = ax.get_xlim()
        for point in panel.points:
            assert y0 <= point.low <= point.high <= y1
            assert x0 < date2num(point.day) < x1
    assert len({ax.get_xlim() for ax in axes}) == 1  # one time scale: dates line up down the chart
    colours = {line.get_color() for ax in axes for line in ax.get_lines()}
    assert len(colours) == len({s.key for p in data.panels for s in p.series})


def test_feed_text_is_drawn_literally_not_as_math() -> None:
    from bot.briefing._chart_draw import draw_chart

    data = chart([fact(claim(3, "Pakistan", "Pakistan", claimant_text="the $Pakistan$ army"))])
    fig = draw_chart(data)
    (text,) = fig.get_axes()[0].get_legend().get_texts()
    assert text.get_text() == r"admitted by the \$Pakistan\$ army"
    render_chart(data)  # mathtext would fail or eat the dollars; escaped, it draws


# --- the PNG --------------------------------------------------------------------------------------------------


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", png[8:16])
    assert (length, kind) == (13, b"IHDR")
    width, height = struct.unpack(">II", png[16:24])
    return width, height


@pytest.mark.parametrize("facts", [contested(), []], ids=["contested", "empty"])
def test_the_png_is_real_and_of_the_stated_size(facts: list[StoredFact]) -> None:
    data = chart(facts)
    png = render_chart(data)
    assert png_size(png) == data.size
    assert png.endswith(b"IEND\xaeB`\x82")
    assert len(png) < 8 * 1024 * 1024  # Discord's attachment limit


def test_a_busy_month_is_drawn_readably_and_quickly() -> None:
    """3,000 figures in a month: four panels, at most six claimants each. The 1 s target is measured by
    bench/briefing.py (chart_p99_ms) on a quiet machine; here a loose bound only catches a pathological
    regression (text per point, say) without failing on a loaded test machine."""
    import time

    sides = ("Pakistan", "Afghanistan (Taliban)", "civilians")
    claimants = ("Pakistan", "Afghanistan (Taliban)", None)
    facts = [fact(claim(5 + i * 7 % 300, sides[i % 3], claimants[i // 3 % 3], category=("killed", "injured")[i % 2],
                        date=f"2025-10-{1 + i % 28:02d}"), outlet=f"Outlet {i % 9}", day=1 + i % 28)
             for i in range(3000)]
    render_chart(chart(facts[:10]))  # the first drawing loads fonts: the bot pays it once per process
    started = time.perf_counter()
    data = chart(facts)
    render_chart(data)
    elapsed = time.perf_counter() - started
    assert len(data.panels) == MAX_PANELS
    assert all(len(p.series) <= MAX_SERIES for p in data.panels)
    assert elapsed < 3.0


def test_importing_the_briefing_layer_does_not_import_matplotlib() -> None:
    code = "import sys, bot.briefing, bot.cli; print('matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.stdout.strip() == "False", result.stderr
