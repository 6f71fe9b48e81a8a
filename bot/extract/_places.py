"""Where a fact happened: the place its sentence names, resolved in the gazetteer (``_gazetteer.py``).

Precision first, as everywhere in extraction: a place is given coordinates only when one entry fits.

1. **Candidates** are proper names the sentence puts in a place slot: after a place preposition ("in
   Voznesensk", "near Goma", "outside the town of X"), before an area word ("Sagaing region", "Kurram
   district"), after a country's possessive ("Ukraine's Mykolaiv region"). Directions and generic words
   ("northern", "the Centre", "the border") and the sides' names used as actors are never places.
2. **Entries**: the area word keeps only areas of that level ("region" → provinces); a bare name that is a
   town and an area too is the town, as news uses it ("in Kharkiv").
3. **Disambiguation** by the article: the countries it names (and the topic's, where the caller knows them),
   most mentioned first, and the provinces it names. Several towns of one name in one country are told apart
   by a named province, or by one being far larger; otherwise the words stay and no coordinates are given.
4. **Which place**: the sentence's most specific resolved place; a sentence with none takes the last place
   named earlier in its paragraph (the guidelines' "...in Chaman. Officials said six were killed").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from bot.extract._actors import Gazetteer as Actors
from bot.extract._gazetteer import Entry, Gazetteer, fold
from bot.extract._sentences import Sentence
from bot.model import Fact, Place

_NAME = r"[A-Z][\w'’.-]*(?:\s+(?:(?:al|el|ad|as|ash|an|de|du|la|le|di|of|bin|and)[-\s])?[A-Z][\w'’-]*){0,3}"
_AREA_WORD = r"region|province|district|state|oblast|governorate|county|prefecture|department|territory|raion"
_TOWN_WORD = r"town|city|village|camp|neighbou?rhood|suburb|area|settlement|locality|port"
_PREP = (r"in|near|at|outside|around|across|inside|struck|hit|attacked|shelled|bombed|bombarded|targeted|"
         r"captured|seized|stormed|entered|besieged|recaptured|overran|raided|"
         r"(?:attacks?|assaults?|strikes?|airstrikes?|raids?|offensives?|shelling|bombing|bombardment|ambush) on|"
         r"(?:cent(?:re|er)|outskirts|heart|suburbs) of")
_DIR_WORDS = (r"north|south|east|west|north-?east|north-?west|south-?east|south-?west|northern|southern|eastern|"
              r"western|central|northeastern|northwestern|southeastern|southwestern|north-eastern|north-western|"
              r"south-eastern|south-western|restive|troubled|volatile|rural|remote|[A-Z]?[a-z]+-held")
_DIRECTION = rf"(?:(?:{_DIR_WORDS})\s+)*"
_SLOT = re.compile(
    rf"(?<![\w-])(?:(?P<prep>(?i:{_PREP}))\s+(?:the\s+)?{_DIRECTION})?(?:the\s+)?"
    rf"(?:(?:(?:border|frontline|besieged|embattled|nearby|key|strategic|{_DIR_WORDS})\s+)*"
    rf"(?:(?P<adj>[A-Z][\w'’-]+)\s+)?(?P<pre>{_TOWN_WORD}|{_AREA_WORD})\s+of\s+)?"
    rf"(?:(?P<owner>{_NAME})(?:'s|’s)\s+{_DIRECTION})?"
    rf"(?P<name>{_NAME})(?P<after>\s+(?:{_AREA_WORD}|{_TOWN_WORD}))?(?![\w-])")
_GENERIC = frozenset(fold(w) for w in (
    "north", "south", "east", "west", "northern", "southern", "eastern", "western", "central", "centre",
    "center", "northeast", "northwest", "southeast", "southwest", "north-east", "north-west", "south-east",
    "south-west", "upper", "lower", "middle", "border", "the border", "capital", "the capital", "frontline",
    "front", "region", "province", "district", "state", "city", "town", "village", "area", "west bank",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january", "february", "march",
    "april", "may", "june", "july", "august", "september", "october", "november", "december", "the", "this",
    "that", "these", "those", "his", "her", "its", "their", "our", "a", "an", "he", "she", "they", "we", "it",
    "i", "but", "and", "or", "as", "if", "when", "while", "after", "before", "since", "during", "reuters",
    "afp", "ap", "bbc", "police", "army", "government", "ministry", "officials", "president", "minister",
    "christmas", "ramadan", "eid", "easter", "parliament", "congress", "senate", "security", "health", "state",
    "national", "international", "united", "islamic", "republic", "democratic", "federal", "mr",
    "ms", "dr", "gen", "sheikh", "saint", "st", "new", "old", "great", "first", "second", "local", "hospital",
))
# Sides that are not countries, by the country they fight in: a mention of Hamas is a mention of Gaza's country.
_GROUPS = {"Palestinians": "PS", "Hamas": "PS", "Hezbollah": "LB", "Houthis": "YE", "M23": "CD", "ADF": "CD",
           "DR Congo": "CD", "Rapid Support Forces": "SD", "Sudan (SAF)": "SD", "JNIM": "ML", "al-Shabab": "SO",
           "ISWAP": "NG", "Boko Haram": "NG", "Arakan Army": "MM", "PDF": "MM", "Myanmar (junta)": "MM", "Fano": "ET",
           "TPLF": "ET", "ELN": "CO", "BLA": "PK", "Pakistani Taliban (TTP)": "PK", "SDF": "SY"}
# Names as the news uses them, where the gazetteer's entry has another name.
_NEWS_NAMES = {"gaza": "Gaza Strip", "the gaza strip": "Gaza Strip"}
_RANK = {"town": 3, "district": 2, "province": 1, "country": 0}
_LEVEL = {"region": "province", "province": "province", "state": "province", "oblast": "province",
          "governorate": "province", "prefecture": "province", "territory": "province", "department": "province",
          "district": "district", "county": "district", "raion": "district"}


@dataclass(frozen=True, slots=True)
class Candidate:
    text: str  # the words as the text names the place ("Mykolaiv region")
    name: str  # the name to look up ("Mykolaiv")
    level: str | None  # "town", "district" or "province" when a word says which; else None
    owner: str | None  # a country or province named before it ("Ukraine's")
    start: int


class PlaceResolver:
    """Facts' places for one article at a time; the gazetteer is loaded once, on first use."""

    def __init__(self, actors: Actors, gazetteer: Gazetteer | None = None) -> None:
        self.actors = actors
        self._gazetteer = gazetteer

    @property
    def gazetteer(self) -> Gazetteer:
        if self._gazetteer is None:
            from bot.extract._gazetteer import load_gazetteer

            self._gazetteer = load_gazetteer()
        return self._gazetteer

    def place_facts(self, facts: list[Fact], sentences: Sequence[Sentence],
                    countries: Iterable[str] = ()) -> list[Fact]:
        """``facts`` with ``location`` (the words) and ``place`` (the entry, or None) of their sentence."""
        if not facts:
            return facts
        context = _Context(self._countries(sentences, countries), Counter())
        by_sentence: dict[str, tuple[str | None, Place | None]] = {}
        own: dict[str, tuple[str | None, Place | None]] = {}
        last: dict[int, tuple[str, Place]] = {}  # paragraph → the last place named in it so far
        for sentence in sentences:
            found = self._sentence_place(sentence.text, context)
            own.setdefault(sentence.text, found)
            if found[1] is not None:
                last[sentence.paragraph] = (found[0] or found[1].name, found[1])
            elif found[0] is None and sentence.paragraph in last:
                found = last[sentence.paragraph]
            by_sentence.setdefault(sentence.text, found)
        out: list[Fact] = []
        for fact in facts:
            # a figure takes a place named earlier in its paragraph; an event only its sentence's own
            words, place = (by_sentence if fact.kind == "casualty" else own).get(fact.quote, (None, None))
            # the configured or province name found earlier stays (incidents are matched on it); else the words
            # of the place resolved. Words that could not be placed are not made a location: the briefing reads
            # two locations of one story as two places, and an unknown village may lie in the named district.
            location = _keep(fact.location) or (words if place is not None else None)
            out.append(replace(fact, location=location, place=place))
        return out

    def countries_named(self, names: Sequence[str]) -> tuple[str, ...]:
        found: list[str] = []
        for name in names:
            code = self.gazetteer.country(name) or self._owner_country(name)
            if code and code not in found:
                found.append(code)
        return tuple(found)

    def _countries(self, sentences: Sequence[Sentence], topic: Iterable[str]) -> Counter[str]:
        """ISO codes of the countries the article names (or its sides stand for), by mentions; the topic's
        countries count as a few mentions."""
        counts: Counter[str] = Counter({code: 3 for code in topic})
        g = self.gazetteer
        for sentence in sentences:
            for mention in self.actors.actors(sentence.text):
                code = _GROUPS.get(mention.canonical) or g.country(re.sub(r"\s*\(.*\)$", "", mention.canonical))
                if code:
                    counts[code] += 1
        return counts

    def _sentence_place(self, text: str, context: _Context) -> tuple[str | None, Place | None]:
        """The first place the sentence names (the incident's, as news writes it), made finer by a place named
        inside it ("in a town in Ethiopia's Amhara region"? no: "Voznesensk in Ukraine's Mykolaiv region" is
        Voznesensk). A first name that cannot be placed gives no place: a later one may be elsewhere."""
        words: str | None = None
        best: Entry | None = None
        for candidate in _candidates(text):
            entry = self._resolve(candidate, context)
            if entry is not None and entry.precision == "province":
                context.provinces[entry.admin1 or entry.name] += 1
            if entry is None and self.actors.resolve(candidate.name) is not None:
                continue  # "in Israeli strikes": a side's name, not a place
            if best is None:
                if entry is None:
                    return candidate.text, None
                words, best = candidate.text, entry
            elif entry is not None and _RANK[entry.precision] > _RANK[best.precision] and _inside(entry, best):
                words, best = candidate.text, entry
        if best is None:
            return None, None
        return words, Place(best.name, round(best.lat, 5), round(best.lon, 5), best.country, best.precision,
                            best.admin1)

    def _resolve(self, candidate: Candidate, context: _Context) -> Entry | None:
        g = self.gazetteer
        name = _NEWS_NAMES.get(fold(candidate.name), candidate.name)
        entries = g.lookup(name)
        if not entries and fold(name).endswith(" city"):  # "Gaza City", "Kherson city"
            entries = [e for e in g.lookup(name[:-5]) if e.precision == "town"]
        if not entries:  # another transliteration; only where one entry in the article's countries fits
            similar = [e for e in g.sounds_like(name) if context.countries.get(e.country)]
            entries = similar if len({(e.name, e.precision) for e in similar}) == 1 else []
        if candidate.level == "town":
            entries = [e for e in entries if e.precision == "town"]
        elif candidate.level is not None:
            same = [e for e in entries if e.precision == candidate.level]
            entries = same or [e for e in entries if e.precision in ("province", "district")]
        if not entries:
            return None
        countries = [e for e in entries if e.precision == "country"]
        if countries and candidate.level is None:  # "in Colombia" is the country, not a town named after it
            if countries[0].country == "CG" and context.countries.get("CD"):  # "eastern Congo" in a DRC story
                return g.country_entry("CD")
            return countries[0]
        owner = self._owner_country(candidate.owner) if candidate.owner else None
        if owner:
            entries = [e for e in entries if e.country == owner]
        elif candidate.owner:  # "Mykolaiv's Voznesensk district": the owner is a province; else unknown
            entries = [e for e in entries if e.admin1 and fold(candidate.owner) in fold(e.admin1)]
        entries = self._in_context(entries, context.countries)
        if not entries:
            return None
        # a bare name that is a town and its province too (Tillaberi, Kharkiv): the province, which is right
        # whichever the text means; a town and a district (Voznesensk): the town, as news means it
        towns = [e for e in entries if e.precision == "town"]
        if candidate.level is None and towns:
            provinces = [e for e in entries if e.precision == "province"
                         and all(t.area == e.ident for t in towns)]
            entries = provinces if len(provinces) == 1 else towns
        if len(entries) == 1:
            return entries[0]
        named = [e for e in entries if e.admin1 and context.provinces.get(e.admin1)]
        if len(named) == 1:
            return named[0]
        if {e.precision for e in entries} == {"town"}:
            ranked = sorted(entries, key=lambda e: -e.population)
            if ranked[0].population >= 10_000 and ranked[0].population >= 5 * max(ranked[1].population, 1):
                return ranked[0]
        return None

    def _owner_country(self, owner: str) -> str | None:
        """The country a possessive or adjective names: "Ukraine's", "Ukrainian", "Hamas-run"."""
        code = self.gazetteer.country(owner)
        if code is None and (side := self.actors.resolve(owner)) is not None:
            code = _GROUPS.get(side) or self.gazetteer.country(re.sub(r"\s*\(.*\)$", "", side))
        if code is None:  # an area's name ("the southern Gaza city of"): its country, if it has one
            areas = {e.country for e in self.gazetteer.lookup(_NEWS_NAMES.get(fold(owner), owner))
                     if e.precision in ("province", "district")}
            code = areas.pop() if len(areas) == 1 else None
        return code

    @staticmethod
    def _in_context(entries: list[Entry], countries: Counter[str]) -> list[Entry]:
        """The entries in the article's most-named country that has any; none when the name is known only
        outside the countries the article names (a guess)."""
        if not countries:
            return entries if len({e.country for e in entries}) == 1 and any(
                e.population >= 50_000 or e.precision != "town" for e in entries) else []
        for code, _ in countries.most_common():
            inside = [e for e in entries if e.country == code]
            if inside:
                return inside
        return []


def _inside(inner: Entry, outer: Entry) -> bool:
    if inner.country != outer.country:
        return False
    if outer.precision == "country":
        return True
    if outer.precision == "province":
        return inner.admin1 == outer.name
    return outer.ident in (inner.area, inner.area2)


@dataclass
class _Context:
    countries: Counter[str]
    provinces: Counter[str]


def _candidates(text: str) -> list[Candidate]:
    out = []
    for m in _SLOT.finditer(text):
        name = m.group("name").rstrip(".")
        after = (m.group("after") or "").strip().lower()
        pre = (m.group("pre") or "").lower()
        if not (m.group("prep") or after or pre or m.group("owner")):
            continue
        words = name.split()
        while words and fold(words[0]) in _GENERIC:  # "the Centre", "Sunday"; "Northern Kivu" is read as "Kivu"
            words = words[1:]
        if not words or fold(" ".join(words)) in _GENERIC:
            continue
        name = " ".join(words)
        level_word = after or pre
        level = _LEVEL.get(level_word) if level_word in _LEVEL else ("town" if level_word and level_word != "area"
                                                                     else None)
        shown = name + (f" {after}" if after else "")
        out.append(Candidate(shown, name, level, m.group("owner") or m.group("adj"), m.start("name")))
    return out


def _keep(location: str | None) -> str | None:
    """A location found by the older province list, unless it is a direction or generic word."""
    return None if location is None or fold(location) in _GENERIC else location
