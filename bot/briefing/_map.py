"""The map of incidents, part one: incidents → what the map shows (pure; no matplotlib).

- **One marker per incident**, at the place its facts resolve to most often (the most specific of those tied).
- **Its size** follows the largest single figure stated about it, one claim's figure, never a sum of claims.
- **Its colour** is the victim side of that figure; "side not stated" has its own grey.
- **A ring** marks a contested incident: claimants' figures for one side and category differ (the evidence note
  of /incident). The largest incidents carry a label.
- **Unplaced incidents** (no fact with a place) are listed under the map, never dropped, never guessed.

The projection is equirectangular, scaled by the cosine of the middle latitude so that shapes stay true around
the area shown; :meth:`MapFrame.pixel` gives the pixel of a coordinate, for the drawing and for the tests.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from bot.briefing._answers import Answer, Line, Section
from bot.briefing._casualties import figure_text, plural, side_of
from bot.briefing._incidents import Incident, evidence_notes
from bot.briefing._map_data import HEIGHT, MAP_BOX, WIDTH, MapData, MapFrame, Marker, Unplaced
from bot.model import Casualty, Place

_RANK = {"town": 3, "district": 2, "province": 1, "country": 0}


def prepare_map(incidents: Sequence[Incident], *, topic_name: str, window: str,
                width: int = WIDTH, height: int = HEIGHT) -> MapData:
    markers: list[Marker] = []
    unplaced: list[Unplaced] = []
    for incident in incidents:
        place = _place(incident)
        largest = _largest(incident)
        where = place.name if place else (incident.headline[:80] or incident.id)
        side = f" ({largest.victim})" if largest and largest.victim else ""
        figure = f": {figure_text(largest)} {largest.category}{side}" if largest else ""
        if place is None:
            unplaced.append(Unplaced(incident.id, f"{incident.headline[:90]}{figure} (incident {incident.id})"))
            continue
        markers.append(Marker(incident.id, f"{where}{figure}", place, (largest.count or 0) if largest else 0,
                              figure_text(largest) if largest else "", side_of(largest) if largest else "",
                              any(n.startswith("Contested") for n in evidence_notes(incident))))
    markers.sort(key=lambda m: -m.figure)
    return MapData(f"Incidents: {topic_name}, {window}", tuple(markers), tuple(unplaced),
                   frame_for([m.place for m in markers], width, height))


def _place(incident: Incident) -> Place | None:
    places: Counter[Place] = Counter(p for f in incident.facts
                                     if isinstance(p := getattr(f.fact, "place", None), Place))
    if not places:
        return None
    top = max(places.values())
    return max((p for p, n in places.items() if n == top), key=lambda p: (_RANK[p.precision], p.name))


def _largest(incident: Incident) -> Casualty | None:
    """The largest single figure stated about the incident (a total over a war is not one incident's)."""
    claims = [f.fact for f in incident.facts if isinstance(f.fact, Casualty) and f.fact.count is not None
              and not f.fact.cumulative]
    return max(claims, key=lambda c: (c.count_high or c.count or 0), default=None)


def frame_for(places: Sequence[Place], width: int = WIDTH, height: int = HEIGHT) -> MapFrame:
    """The area around the places, padded, at least 6° across, with the box's aspect at the middle latitude."""
    if places:
        west, east = min(p.lon for p in places), max(p.lon for p in places)
        south, north = min(p.lat for p in places), max(p.lat for p in places)
    else:
        west, east, south, north = -20.0, 60.0, -10.0, 50.0
    pad_lon = max((east - west) * 0.15, 3.0)
    pad_lat = max((north - south) * 0.15, 3.0)
    west, east, south, north = west - pad_lon, east + pad_lon, south - pad_lat, north + pad_lat
    mid = (south + north) / 2
    scale = max(math.cos(math.radians(mid)), 0.2)  # degrees of longitude per degree of latitude on the ground
    box_w = MAP_BOX[2] * width
    box_h = MAP_BOX[3] * height
    # widen one side so that one degree of latitude and cos(mid) degrees of longitude take the same pixels
    lon_span, lat_span = east - west, north - south
    if lon_span * scale / lat_span < box_w / box_h:
        extra = (lat_span * box_w / box_h / scale - lon_span) / 2
        west, east = west - extra, east + extra
    else:
        extra = (lon_span * scale * box_h / box_w - lat_span) / 2
        south, north = south - extra, north + extra
    south, north = max(south, -85.0), min(north, 85.0)
    return MapFrame(west, east, south, north, width, height)


def render_map(data: MapData) -> bytes:
    """PNG bytes of the map, ``data.size`` pixels. CPU-bound: the bot calls it in a worker thread. matplotlib
    and the outlines are loaded here, on first use."""
    from bot.briefing._map_draw import render_map as draw

    return draw(data)


def map_answer(data: MapData) -> Answer:
    """What goes with the PNG: every incident, placed ones with their place, and every unplaced one."""
    placed = tuple(Line.of(f"{m.label} · {m.place.name} ({m.place.precision}, {m.place.country})"
                           + (" · contested" if m.contested else "") + f" · incident {m.incident_id}")
                   for m in data.markers)
    unplaced = tuple(Line.of(u.label) for u in data.unplaced)
    footer = (f"{plural(len(data.markers), 'incident')} on the map, {len(data.unplaced)} not placed. Marker size: "
              "the largest single figure stated for the incident, never a sum; ringed: contested figures.")
    return Answer(data.title, (Section("On the map", placed), Section("Not placed", unplaced)), footer=footer,
                  empty_message="No incidents in this window.")
