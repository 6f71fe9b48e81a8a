"""The casualties chart, part two: ChartData → a matplotlib Figure → PNG bytes.

Only the object-oriented API (``Figure`` and the Agg canvas), never pyplot: no global figure registry, no GUI
backend, nothing shared between threads, so the cog can render in ``asyncio.to_thread``. This module imports
matplotlib at the top; ``_chart.render_chart`` imports this module lazily.

Text from feeds (topic names, claimants as written) is drawn as plain text: ``$`` would start matplotlib's
math mode, so it is escaped.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Iterable
from datetime import date, timedelta

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
from matplotlib.figure import Figure

from bot.briefing._chart_data import DPI, FOOTER_PX, HEADER_PX, ChartData, Panel

# Colour-blind-safe (Okabe–Ito), then matplotlib's tab10 for claimants beyond eight.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442",
           "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
FONT = 10
MIN_SPAN_DAYS = 6  # the x axis shows at least this many days
LEGEND_WIDTH = 44  # characters per legend line


def plain(text: str) -> str:
    """Feed text shown literally: no math mode."""
    return text.replace("$", r"\$")


def legend_label(label: str) -> str:
    """A claimant's label as the text lines give it, wrapped to fit beside the panel."""
    return "\n".join(textwrap.wrap(plain(label), LEGEND_WIDTH)) or plain(label)


def draw_chart(data: ChartData) -> Figure:
    width, height = data.size
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    FigureCanvasAgg(fig)
    top = 1 - HEADER_PX / height
    bottom = FOOTER_PX * max(1, len(data.footnotes)) / height
    fig.suptitle(plain(data.title), fontsize=FONT + 3, fontweight="bold", y=1 - 20 / height)
    fig.text(0.01, 0.005, "\n".join(plain(n) for n in data.footnotes), fontsize=FONT - 1, color="#444444",
             ha="left", va="bottom")
    if not data.panels:
        fig.text(0.5, 0.5, plain(data.empty_message), ha="center", va="center", fontsize=FONT + 1)
        return fig
    axes = fig.subplots(len(data.panels), 1, squeeze=False)[:, 0]
    fig.subplots_adjust(left=0.08, right=0.62, top=top, bottom=bottom + 40 / height, hspace=0.55)
    days = [p.day for panel in data.panels for p in panel.points]
    first, last = min(days), max(days)
    pad = max(1, (last - first).days // 20, (MIN_SPAN_DAYS - (last - first).days + 1) // 2)
    x_range = _x([first - timedelta(days=pad), last + timedelta(days=pad)])  # whole days: no hour ticks
    for ax, panel in zip(axes, data.panels, strict=True):
        _draw_panel(ax, panel)
        ax.set_xlim(*x_range)  # one time scale for every panel: dates line up down the chart
    return fig


def _draw_panel(ax: Axes, panel: Panel) -> None:
    for series in panel.series:
        colour = PALETTE[series.colour % len(PALETTE)]
        marker = MARKERS[series.colour % len(MARKERS)]
        days = _x(p.day for p in series.points)
        lows = [p.low for p in series.points]
        ax.step(days, lows, where="post", color=colour, marker=marker, markersize=5, linewidth=1.8,
                linestyle="--" if series.totals else "-", label=legend_label(series.label),
                markerfacecolor="white" if series.totals else colour)  # a total: hollow, dashed, same colour
        ranges = [p for p in series.points if p.high > p.low]
        if ranges:
            ax.vlines(_x(p.day for p in ranges), [p.low for p in ranges], [p.high for p in ranges], colors=colour,
                      linewidth=4, alpha=0.45)
    top = max(p.high for p in panel.points)
    ax.set_ylim(0, top * 1.12 + 1)
    locator = AutoDateLocator(maxticks=8)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    ax.set_title(plain(f"{panel.side}: {panel.category}"), fontsize=FONT + 1, loc="left")
    ax.set_xlabel("Date (incident, else report)", fontsize=FONT - 1)
    ax.set_ylabel(f"{panel.category} (as stated)", fontsize=FONT - 1)
    ax.tick_params(labelsize=FONT - 1)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=FONT - 1, frameon=False,
              title="Claimant", title_fontsize=FONT - 1)


def _x(days: Iterable[date]) -> list[float]:
    """Days as matplotlib's date numbers (its configured epoch), for one date axis."""
    return [float(v) for v in date2num(list(days))]  # type: ignore[no-untyped-call]


def render_png(data: ChartData) -> bytes:
    fig = draw_chart(data)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()
