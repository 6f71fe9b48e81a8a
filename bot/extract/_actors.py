"""Actors and places: canonical names for the sides, groups and places a text names.

Config aliases (``[actors]``, ``[places]``) come first; a built-in gazetteer covers countries (pycountry),
demonyms, capitals standing for their governments, and armed groups with their own identity (the
Pakistani Taliban, TTP, is not the Afghan Taliban).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache

# Canonical side → aliases. Demonyms map to the country; "Kabul"/"Islamabad" speak for governments.
BUILTIN_ACTORS: dict[str, tuple[str, ...]] = {
    "Afghanistan (Taliban)": ("Afghan Taliban", "Taliban", "Taliban government", "Islamic Emirate", "Kabul",
                              "Taliban administration", "Afghan forces", "Afghan border forces"),
    "Afghanistan": ("Afghanistan", "Afghan", "Afghans"),
    "Pakistani Taliban (TTP)": ("TTP", "Tehrik-i-Taliban Pakistan", "Tehreek-e-Taliban Pakistan",
                                "Pakistani Taliban"),
    "Pakistan": ("Pakistan", "Pakistani", "Pakistanis", "Islamabad", "ISPR", "Rawalpindi"),
    "India": ("India", "Indian", "Indians", "New Delhi"),
    "Russia": ("Russia", "Russian", "Russians", "Moscow", "Kremlin"),
    "Ukraine": ("Ukraine", "Ukrainian", "Ukrainians", "Kyiv", "Kiev"),
    "Israel": ("Israel", "Israeli", "Israelis", "IDF", "Israel Defense Forces"),
    "Hamas": ("Hamas",),
    "Hezbollah": ("Hezbollah", "Hizbollah"),
    "Houthis": ("Houthi", "Houthis", "Ansar Allah"),
    "Palestinians": ("Palestinian", "Palestinians"),
    "Lebanon": ("Lebanon", "Lebanese", "Beirut"),
    "Syria": ("Syria", "Syrian", "Syrians", "Damascus"),
    "SDF": ("SDF", "Syrian Democratic Forces"),
    "Turkey": ("Turkey", "Turkish", "Türkiye", "Ankara"),
    "Iran": ("Iran", "Iranian", "Iranians", "Tehran"),
    "Iraq": ("Iraq", "Iraqi", "Iraqis", "Baghdad"),
    "Islamic State": ("Islamic State", "ISIS", "ISIL", "IS", "Daesh"),
    "ISWAP": ("ISWAP", "Islamic State West Africa Province"),
    "Boko Haram": ("Boko Haram",),
    "JNIM": ("JNIM", "Jama'at Nusrat al-Islam wal-Muslimin", "Jamaat Nusrat al-Islam wal-Muslimin"),
    "al-Shabab": ("al-Shabab", "al-Shabaab", "Shabab", "Shabaab"),
    "Rapid Support Forces": ("RSF", "Rapid Support Forces"),
    "Sudan (SAF)": ("SAF", "Sudanese Armed Forces", "Sudanese army", "Sudan's army", "Port Sudan"),
    "Sudan": ("Sudan", "Sudanese"),
    "M23": ("M23", "AFC/M23", "March 23 Movement"),
    "DR Congo": ("DR Congo", "Congolese", "FARDC", "Kinshasa", "Democratic Republic of Congo",
                 "Democratic Republic of the Congo", "DRC"),
    "ADF": ("ADF", "Allied Democratic Forces"),
    "Rwanda": ("Rwanda", "Rwandan", "Kigali"),
    "Myanmar (junta)": ("junta", "Myanmar military", "Tatmadaw", "Naypyitaw", "Myanmar army"),
    "Myanmar": ("Myanmar", "Burmese"),
    "Arakan Army": ("Arakan Army",),
    "PDF": ("People's Defence Force", "People's Defense Force", "PDF"),
    "Somalia": ("Somalia", "Somali", "Mogadishu"),
    "Ethiopia": ("Ethiopia", "Ethiopian", "Addis Ababa", "ENDF"),
    "Fano": ("Fano",),
    "TPLF": ("TPLF", "Tigray People's Liberation Front", "Tigrayan forces"),
    "Nigeria": ("Nigeria", "Nigerian", "Abuja"),
    "Mali": ("Mali", "Malian", "Bamako", "FAMa"),
    "Burkina Faso": ("Burkina Faso", "Burkinabe", "Burkinabè", "Ouagadougou"),
    "Niger": ("Niger", "Nigerien", "Niamey"),
    "Yemen": ("Yemen", "Yemeni", "Yemenis"),
    "Haiti": ("Haiti", "Haitian", "Haitians"),
    "Colombia": ("Colombia", "Colombian", "Bogota", "Bogotá"),
    "ELN": ("ELN", "National Liberation Army"),
    "Mozambique": ("Mozambique", "Mozambican", "Maputo"),
    "Cameroon": ("Cameroon", "Cameroonian", "Yaoundé", "Yaounde"),
    "BLA": ("BLA", "Baloch Liberation Army"),
    "Wagner": ("Wagner", "Africa Corps"),
    "United Nations": ("United Nations", "UN", "U.N.", "UNICEF", "OCHA", "UNHCR", "WHO", "IOM"),
}
# Armed groups and movements, as opposed to states and their organs: "the group said" refers to one of these.
NON_STATE = frozenset({
    "Pakistani Taliban (TTP)", "Hamas", "Hezbollah", "Houthis", "SDF", "Islamic State", "ISWAP", "Boko Haram",
    "JNIM", "al-Shabab", "Rapid Support Forces", "M23", "ADF", "Arakan Army", "PDF", "Fano", "TPLF", "ELN", "BLA",
    "Wagner",
})
ROLES = ("civilians", "civilian", "children", "child", "women", "soldiers", "soldier", "troops", "militants",
         "fighters", "police", "policemen", "officers", "students", "worshippers", "villagers", "farmers",
         "miners", "passengers", "refugees", "aid workers", "journalists", "people", "persons", "residents")


@dataclass(frozen=True, slots=True)
class Mention:
    canonical: str
    text: str
    start: int
    end: int


class Gazetteer:
    def __init__(self, actors: Mapping[str, Sequence[str]] = {}, places: Mapping[str, Sequence[str]] = {}) -> None:
        alias_map: dict[str, str] = {}
        for canonical, aliases in BUILTIN_ACTORS.items():
            for alias in aliases:
                alias_map.setdefault(alias, canonical)
        # Config aliases win: they name the sides as this deployment wants them shown.
        for canonical, names in actors.items():
            for alias in (canonical, *names):
                alias_map[alias] = canonical
        self._actor_re, self._actor_map = _compile(alias_map)
        self.sides = frozenset(alias_map.values())  # every canonical side
        place_map = dict(_builtin_places())
        for canonical, names in places.items():
            for alias in (canonical, *names):
                place_map[alias] = canonical
        self._place_re, self._place_map = _compile(place_map)
        # The place pattern holds every province of thirty countries: matching it is the costliest step of
        # extraction, and a sentence is asked about several times (per figure, per clause). Cache per text.
        self._place_cache: dict[str, list[Mention]] = {}
        self._actor_cache: dict[str, list[Mention]] = {}

    def actors(self, text: str) -> list[Mention]:
        return _cached(self._actor_cache, text, lambda: _mentions(self._actor_re, self._actor_map, text))

    def places(self, text: str) -> list[Mention]:
        """Places the text names; a capital standing for its government ("accused Islamabad of ...") is an
        actor there, not a place."""
        def find() -> list[Mention]:
            actors = self.actors(text)
            return [p for p in _mentions(self._place_re, self._place_map, text)
                    if not any(a.start < p.end and p.start < a.end for a in actors)]
        return _cached(self._place_cache, text, find)

    def places_within(self, sentence: str, start: int, end: int) -> list[Mention]:
        """The places of ``sentence`` that lie inside [start, end): one match of the sentence serves every
        span of it."""
        return [m for m in self.places(sentence) if start <= m.start and m.end <= end]

    def resolve(self, text: str) -> str | None:
        """The canonical side a phrase names ("the Taliban government" → Afghanistan (Taliban)), or None."""
        found = self.actors(text)
        return found[0].canonical if found else None


def _compile(alias_map: dict[str, str]) -> tuple[re.Pattern[str], dict[str, str]]:
    # Short all-caps acronyms (IS, UN, PDF) must match case-sensitively; everything else ignores case.
    parts = []
    lookup: dict[str, str] = {}
    for alias in sorted(alias_map, key=len, reverse=True):
        escaped = re.escape(alias)
        parts.append(escaped if alias.isupper() and len(alias) <= 4 else f"(?i:{escaped})")
        lookup[alias.casefold()] = alias_map[alias]
    pattern = re.compile(r"(?<![\w-])(?:" + "|".join(parts) + r")(?![\w-])")
    return pattern, lookup


_CACHE_SIZE = 512


def _cached(cache: dict[str, list[Mention]], text: str, compute: Callable[[], list[Mention]]) -> list[Mention]:
    found = cache.get(text)
    if found is None:
        if len(cache) >= _CACHE_SIZE:
            cache.clear()
        found = cache[text] = compute()
    return list(found)


def _mentions(pattern: re.Pattern[str], lookup: dict[str, str], text: str) -> list[Mention]:
    return [Mention(lookup[m.group(0).casefold()], m.group(0), m.start(), m.end())
            for m in pattern.finditer(text) if m.group(0).casefold() in lookup]


@cache
def _builtin_places() -> tuple[tuple[str, str], ...]:
    """Subdivisions (provinces, states, regions) of the countries Sitrep's users follow, from pycountry."""
    import pycountry

    codes = ("AF", "PK", "SD", "SS", "ML", "BF", "NE", "NG", "CD", "MM", "YE", "SY", "UA", "RU", "IL", "PS",
             "LB", "SO", "ET", "HT", "CO", "IN", "IQ", "MZ", "CM", "TD", "LY", "IR")
    out = []
    for code in codes:
        for sub in pycountry.subdivisions.get(country_code=code) or ():  # type: ignore[no-untyped-call]
            name = re.sub(r"\s*\[.*?\]|\s*\(.*?\)", "", sub.name).strip()
            if len(name) > 3:
                out.append((name, name))
    return tuple(out)
