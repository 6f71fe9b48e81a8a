"""The map's data types, shared by the data step (`_map.py`) and the drawing (`_map_draw.py`), so that
neither imports the other."""

from __future__ import annotations

from dataclasses import dataclass

from bot.model import Place

WIDTH, HEIGHT = 1200, 900  # px of the PNG
DPI = 100
MAP_BOX = (0.02, 0.2, 0.96, 0.72)  # the map's axes in figure fractions: left, bottom, width, height
LABELS = 6  # the largest incidents carry a label
UNPLACED_SHOWN = 7  # lines of unplaced incidents drawn under the map (the answer lists them all)


@dataclass(frozen=True, slots=True)
class Marker:
    incident_id: str
    label: str  # "Kurram: 40 Pakistan killed"
    place: Place
    figure: int  # the largest single stated figure; 0 when none is stated
    figure_text: str  # as stated ("more than 150")
    side: str  # the victim side of that figure
    contested: bool


@dataclass(frozen=True, slots=True)
class Unplaced:
    incident_id: str
    label: str


@dataclass(frozen=True, slots=True)
class MapFrame:
    """The area shown: longitudes and latitudes at the map's edges; the map box fills the figure's MAP_BOX."""

    west: float
    east: float
    south: float
    north: float
    width: int = WIDTH
    height: int = HEIGHT

    def pixel(self, lon: float, lat: float) -> tuple[float, float]:
        """The pixel (x from the left, y from the top) of a coordinate in the PNG."""
        left, bottom, w, h = MAP_BOX
        fx = left + (lon - self.west) / (self.east - self.west) * w
        fy = bottom + (lat - self.south) / (self.north - self.south) * h
        return fx * self.width, (1 - fy) * self.height


@dataclass(frozen=True, slots=True)
class MapData:
    title: str
    markers: tuple[Marker, ...]
    unplaced: tuple[Unplaced, ...]
    frame: MapFrame

    @property
    def size(self) -> tuple[int, int]:
        return self.frame.width, self.frame.height
