"""Date expressions resolved against the article's publication date, keeping their real precision.

"on Thursday night" in an article of Sunday 12 Oct 2025 → 2025-10-09 (day); "in April" → 2025-04
(month), never a made-up day; "last week" → the month when the whole week lies in one month, else
nothing; "in 2014", "two years ago" → year. Without a publication date, only expressions that carry
their own year resolve; relative ones stay unresolved rather than guessed from today.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5,
    "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sep": 9, "sept": 9,
    "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}
_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December|" \
         r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?"
_WEEKDAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_SMALL = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
          "ten": 10, "a": 1}


@dataclass(frozen=True, slots=True)
class DateRef:
    value: str | None  # ISO: YYYY-MM-DD, YYYY-MM or YYYY; None when it cannot be resolved
    precision: str | None  # day, month, year
    start: int
    end: int
    text: str
    span: bool = False  # a period ("since January", "over 48 hours"), not a point in time


_PATTERNS: list[tuple[str, str]] = [
    ("dmy", rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<m>{_MONTH})(?:,?\s+(?P<y>(?:19|20)\d\d))?\b"),
    ("mdy", rf"\b(?P<m>{_MONTH})\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<y>(?:19|20)\d\d))?"),
    ("iso", r"\b(?P<y>(?:19|20)\d\d)-(?P<m>\d\d)-(?P<d>\d\d)\b"),
    ("since", rf"\b(?:since|so\s+far\s+(?:this|in)|since\s+the\s+start\s+of)\s+(?:(?:early|mid-?|late)\s*)?"
              rf"(?P<m>{_MONTH})?(?:\s*(?P<y>(?:19|20)\d\d))?\b"),
    ("month", rf"\b(?:in|since|during|by|early|late|mid-?|of|until|throughout)\s+(?:(?:early|mid-?|late)\s*)?"
              rf"(?P<m>{_MONTH})(?:\s+(?P<y>(?:19|20)\d\d))?\b"),
    ("year", r"\b(?:in|since|during|by|of|early|late|mid-?)\s+(?P<y>(?:19|20)\d\d)\b(?!\s*-)"),
    ("weekday", rf"\b(?P<last>last\s+)?(?P<w>{_WEEKDAY})(?:'s)?\b"),
    ("yesterday", r"\b(?:yesterday|the\s+previous\s+day|the\s+day\s+before)\b"),
    ("today", r"\b(?:today|this\s+morning|this\s+afternoon|earlier\s+today|tonight|overnight)\b"),
    ("lastweek", r"\b(?:last|the\s+past|the\s+previous)\s+week(?:end)?\b|\bover\s+the\s+weekend\b"),
    ("thisweek", r"\b(?:earlier\s+)?this\s+week\b"),
    ("lastmonth", r"\b(?:late\s+|early\s+|earlier\s+)?last\s+month\b"),
    ("thismonth", r"\b(?:earlier|late|early)\s+this\s+month\b|\bthis\s+month\b"),
    ("lastyear", r"\blast\s+year\b"),
    ("yearsago", r"\b(?P<n>\d+|one|two|three|four|five|six|seven|eight|nine|ten|a)\s+years?\s+ago\b"),
    ("span", r"\b(?:in|over|during|within)\s+(?:the\s+(?:past|last)\s+)?(?:\w+\s+)?(?:days?|hours?|weeks?)\b"),
]
_COMPILED = [(kind, re.compile(pattern, re.IGNORECASE)) for kind, pattern in _PATTERNS]
_HAS_MONTH = re.compile(rf"\b{_MONTH}", re.IGNORECASE)
# A cheap test per kind of expression before its pattern runs: most sentences name no month, no weekday and
# no "week", and extraction runs every pattern on every sentence.
_GATES: dict[str, Callable[[str, bool], bool]] = {
    "dmy": lambda t, m: m, "mdy": lambda t, m: m, "month": lambda t, m: m,
    "iso": lambda t, m: "-" in t, "year": lambda t, m: True,
    "since": lambda t, m: "since" in t or "so far" in t,
    "weekday": lambda t, m: "day" in t, "span": lambda t, m: "day" in t or "hour" in t or "week" in t,
    "yesterday": lambda t, m: "yesterday" in t or "previous day" in t or "day before" in t,
    "today": lambda t, m: any(w in t for w in ("today", "this morning", "this afternoon", "tonight", "overnight")),
    "lastweek": lambda t, m: "week" in t, "thisweek": lambda t, m: "week" in t,
    "lastmonth": lambda t, m: "month" in t, "thismonth": lambda t, m: "month" in t,
    "lastyear": lambda t, m: "last year" in t, "yearsago": lambda t, m: "ago" in t,
}


def find_dates(text: str, published: date | None) -> list[DateRef]:
    """Every date expression in ``text``, resolved against ``published``, in order, without overlaps."""
    found: list[DateRef] = []
    taken: list[tuple[int, int]] = []
    lower = text.lower()
    has_digit = any(c.isdigit() for c in text)
    has_month = bool(_HAS_MONTH.search(text))
    for kind, pattern in _COMPILED:
        if (kind in ("dmy", "mdy", "iso", "year") and not has_digit) or not _GATES[kind](lower, has_month):
            continue
        for m in pattern.finditer(text):
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue
            ref = _resolve(kind, m, published)
            if ref is not None:
                found.append(ref)
                taken.append((m.start(), m.end()))
    return sorted(found, key=lambda r: r.start)


def _resolve(kind: str, m: re.Match[str], pub: date | None) -> DateRef | None:
    def ref(value: str | None, precision: str | None, span: bool = False) -> DateRef:
        return DateRef(value, precision, m.start(), m.end(), m.group(0), span)

    g = m.groupdict()
    year = int(g["y"]) if g.get("y") else None
    month = MONTHS.get(g["m"].lower().rstrip(".")) if g.get("m") else None
    if kind in ("dmy", "mdy", "iso"):
        month = month if kind != "iso" else int(g["m"])
        day = int(g["d"])
        if not month or not 1 <= day <= 31:
            return None
        if year is None:
            if pub is None:
                return ref(None, None)
            year = pub.year if (month, day) <= (pub.month, pub.day) else pub.year - 1
        try:
            return ref(date(year, month, day).isoformat(), "day")
        except ValueError:
            return None
    if kind == "since":
        if month is None and year is None:
            return None
        if year is None:
            year = _year_of_month(month, pub) if month else None
        if year is None:
            return ref(None, None, span=True)
        return ref(f"{year:04d}-{month:02d}" if month else f"{year:04d}", "month" if month else "year", span=True)
    if kind == "month":
        if month is None:
            return None
        if year is None:
            year = _year_of_month(month, pub)
            if year is None:
                return ref(None, None)
        return ref(f"{year:04d}-{month:02d}", "month")
    if kind == "year":
        return ref(f"{year:04d}", "year", span=m.group(0).lower().startswith("since"))
    if pub is None:
        return ref(None, None, span=kind == "span")
    if kind == "weekday":
        target = WEEKDAYS.index(g["w"].lower())
        back = (pub.weekday() - target) % 7
        if g.get("last") and back == 0:
            back = 7
        return ref((pub - timedelta(days=back)).isoformat(), "day")
    if kind == "yesterday":
        return ref((pub - timedelta(days=1)).isoformat(), "day")
    if kind == "today":
        return ref(pub.isoformat(), "day")
    if kind == "lastweek":
        start = pub - timedelta(days=pub.weekday() + 7)
        return _month_span(ref, start, start + timedelta(days=6))
    if kind == "thisweek":
        return _month_span(ref, pub - timedelta(days=pub.weekday()), pub)
    if kind == "lastmonth":
        last = pub.replace(day=1) - timedelta(days=1)
        return ref(f"{last.year:04d}-{last.month:02d}", "month")
    if kind == "thismonth":
        return ref(f"{pub.year:04d}-{pub.month:02d}", "month")
    if kind == "lastyear":
        return ref(f"{pub.year - 1:04d}", "year")
    if kind == "yearsago":
        n = g["n"].lower()
        years = int(n) if n.isdigit() else _SMALL[n]
        return ref(f"{pub.year - years:04d}", "year")
    if kind == "span":
        return ref(None, None, span=True)
    return None


def _year_of_month(month: int, pub: date | None) -> int | None:
    if pub is None:
        return None
    return pub.year if month <= pub.month else pub.year - 1


def _month_span(ref, start: date, end: date) -> DateRef:  # type: ignore[no-untyped-def]
    if (start.year, start.month) == (end.year, end.month):
        return ref(f"{start.year:04d}-{start.month:02d}", "month")  # type: ignore[no-any-return]
    return ref(None, None)  # type: ignore[no-any-return]
