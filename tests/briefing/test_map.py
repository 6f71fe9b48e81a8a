"""The map of incidents: a real PNG of the stated size, each placed incident's marker at the pixel the projection
gives for its coordinates, contested incidents ringed, unplaced incidents listed and never dropped."""

from __future__ import annotations

import io
import math
import struct

import numpy as np
import pytest
from matplotlib.image import imread

from bot.briefing import map_answer, render_map, render_text
from bot.briefing._incidents import incidents_of
from bot.briefing._map import prepare_map
from bot.briefing._map_draw import PALETTE, RING, marker_area
from bot.model import Place
from tests.briefing.test_answers import fact, killed

KURRAM = Place("Kurram District", 33.71791, 70.2231, "PK", "district", "Khyber Pakhtunkhwa")
EL_FASHER = Place("El Fasher", 13.62793, 25.34936, "SD", "town", "North Darfur")


def incidents():  # type: ignore[no-untyped-def]
    return incidents_of([
        # a contested incident in Kurram: Pakistan says 19 of its soldiers, the Taliban say 40
        fact(killed(19, "Pakistan", "Pakistan", date="2025-10-11", victim_text="of its soldiers", place=KURRAM,
                    location="Kurram"), story="kurram"),
        fact(killed(40, "Pakistan", "Afghanistan (Taliban)", date="2025-10-11", place=KURRAM, location="Kurram"),
             outlet="Kabul Times", story="kurram"),
        # one figure in El Fasher
        fact(killed(12, "Sudan", None, date="2025-10-10", place=EL_FASHER, location="El Fasher"), story="fasher"),
        # a village the gazetteer does not know: no place
        fact(killed(7, "Mali", None, date="2025-10-09", location="Xqzville"), story="nowhere"),
    ])


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])


def test_the_map_is_a_png_of_the_stated_size_with_every_incident() -> None:
    data = prepare_map(incidents(), topic_name="Border", window="last 30d", width=1000, height=700)
    png = render_map(data)
    assert png_size(png) == data.size == (1000, 700)
    assert [m.place.name for m in data.markers] == ["Kurram District", "El Fasher"]  # the largest figure first
    assert data.markers[0].figure == 40  # the largest single figure, never 19 + 40
    text = render_text(map_answer(data))
    assert "Not placed" in text and "7 killed (Mali)" in text  # listed, not dropped, not guessed
    assert "59" not in text


def test_a_known_place_is_drawn_at_its_projected_pixel_and_a_contested_one_is_ringed() -> None:
    data = prepare_map(incidents(), topic_name="Border", window="last 30d")
    image = imread(io.BytesIO(render_map(data)))[:, :, :3]
    kurram, fasher = data.markers
    assert kurram.contested and not fasher.contested
    for marker in (kurram, fasher):
        x, y = data.frame.pixel(marker.place.lon, marker.place.lat)
        colour = rgb(PALETTE[0]) if marker is kurram else rgb(PALETTE[1])
        # the marker's pixels (its fill colour, drawn at 85% over the land) are centred there
        ys, xs = np.nonzero(np.abs(image - (0.85 * colour + 0.15 * rgb("#f4f1ea"))).sum(axis=2) < 0.12)
        assert len(xs) > 20, f"no marker pixels for {marker.place.name}"
        assert abs(xs.mean() - x) < 4 and abs(ys.mean() - y) < 4
    # the ring: dark pixels on a circle around Kurram's marker, at the ring's radius
    x, y = data.frame.pixel(kurram.place.lon, kurram.place.lat)
    radius = math.sqrt(marker_area(kurram.figure, kurram.figure) * 1.9 + 60) / 2 * 100 / 72
    dark = 0
    for k in range(36):
        px = round(x + radius * math.cos(k * math.pi / 18))
        py = round(y + radius * math.sin(k * math.pi / 18))
        patch = image[py - 2:py + 3, px - 2:px + 3]
        dark += bool((np.abs(patch - rgb(RING)).sum(axis=2) < 0.3).any())
    assert dark >= 30
    # no ring around El Fasher's
    x, y = data.frame.pixel(fasher.place.lon, fasher.place.lat)
    radius = math.sqrt(marker_area(fasher.figure, kurram.figure) * 1.9 + 60) / 2 * 100 / 72
    ring = sum(bool((np.abs(image[round(y + radius * math.sin(a)) - 1:round(y + radius * math.sin(a)) + 2,
                                  round(x + radius * math.cos(a)) - 1:round(x + radius * math.cos(a)) + 2]
                            - rgb(RING)).sum(axis=2) < 0.3).any())
               for a in np.linspace(0, 2 * math.pi, 36, endpoint=False))
    assert ring < 5


@pytest.mark.parametrize(("lon", "lat"), [(70.2231, 33.71791), (25.34936, 13.62793)])
def test_the_projection_keeps_places_inside_the_map(lon: float, lat: float) -> None:
    data = prepare_map(incidents(), topic_name="Border", window="last 30d")
    x, y = data.frame.pixel(lon, lat)
    assert 0 < x < data.size[0] and 0 < y < data.size[1] * 0.8
