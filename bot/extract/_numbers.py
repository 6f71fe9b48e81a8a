"""Quantities of people as news writes them: "1,640", "twenty-three", "a dozen", "1.5 million",
"between 10 and 15", "seven to eight", "dozens", each with its qualifier ("at least", "more than", ...).

A quantity is only found here; whether it counts casualties is decided by the caller from its context.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
        "ninety": 90}
SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
VAGUE = {"dozens", "scores", "hundreds", "thousands", "tens of thousands", "hundreds of thousands",
         "several dozen", "a few dozen", "a lot of", "lots of", "several hundred", "a few hundred",
         "several thousand", "a few thousand",
         "millions", "several", "many", "multiple", "a number of", "numerous", "an unknown number of",
         "a large number of", "countless"}

_WORD_NUM = (r"(?:(?:" + "|".join(sorted([*UNITS, *TENS], key=len, reverse=True)) + r")(?:[- ](?:"
             + "|".join(UNITS) + r"))?(?:\s+(?:hundred|thousand|million)(?:\s+(?:and\s+)?(?:"
             + "|".join(sorted([*UNITS, *TENS], key=len, reverse=True)) + r")(?:[- ](?:" + "|".join(UNITS)
             + r"))?)?)?)")
_DIGITS = r"(?:\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?:\s*(?:million|thousand))?"
NUM = rf"(?:{_DIGITS}|a\s+dozen|two\s+dozen|three\s+dozen|half\s+a\s+dozen|a\s+hundred|a\s+thousand|{_WORD_NUM})"

QUALIFIERS = [
    (r"at\s+least|no\s+fewer\s+than|no\s+less\s+than|a\s+minimum\s+of", "at_least"),
    (r"more\s+than|over|upwards\s+of|in\s+excess\s+of", "more_than"),
    (r"about|around|approximately|some|nearly|almost|roughly|close\s+to|an\s+estimated|estimated|"
     r"approx\.|just\s+under|just\s+over", "about"),
    (r"up\s+to|as\s+many\s+as", "up_to"),
    (r"fewer\s+than|less\s+than|under", "fewer_than"),
]
_QUAL = "|".join(f"(?P<q_{name}_{i}>{pattern})" for i, (pattern, name) in enumerate(QUALIFIERS))
_VAGUE = "|".join(re.escape(v).replace(r"\ ", r"\s+") for v in sorted(VAGUE, key=len, reverse=True))

QUANTITY = re.compile(
    rf"""(?<![\w$£€.,:/-])
    (?:(?:{_QUAL})\s+)?
    (?:
      between\s+(?P<lo_b>{NUM})\s+and\s+(?P<hi_b>{NUM})
    | (?P<lo>{NUM})(?:\s*[–—]\s*|\s+(?:to|or)\s+|(?<=\d)-(?=\d))(?P<hi>{NUM})(?!\s*(?:years?|year-old|-year))
    | (?P<num>{NUM})
    | (?P<vague>{_VAGUE})
    )(?![\w%]|,\d|\.\d|:\d|-[A-Za-z])""",
    re.IGNORECASE | re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class Quantity:
    count: int | None
    qualifier: str
    count_high: int | None
    start: int
    end: int
    text: str


def parse_number(text: str) -> int | None:
    t = re.sub(r"\s+", " ", text.lower().replace(",", "")).strip()
    special = {"a dozen": 12, "two dozen": 24, "three dozen": 36, "half a dozen": 6, "a hundred": 100,
               "a thousand": 1000}
    if t in special:
        return special[t]
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(million|thousand)?", t)
    if m:
        value = float(m.group(1)) * (SCALES.get(m.group(2) or "", 1))
        return int(value) if value == int(value) else None
    total = current = 0
    for word in re.split(r"[\s-]+", t.replace(" and ", " ")):
        if word in UNITS:
            current += UNITS[word]
        elif word in TENS:
            current += TENS[word]
        elif word == "hundred":
            current = max(current, 1) * 100
        elif word in ("thousand", "million"):
            total += max(current, 1) * SCALES[word]
            current = 0
        elif word:
            return None
    return total + current


def find_quantities(text: str) -> list[Quantity]:
    out = []
    for m in QUANTITY.finditer(text):
        qualifier = next((k.split("_", 1)[1].rsplit("_", 1)[0] for k, v in m.groupdict().items()
                          if k.startswith("q_") and v), "exact")
        if m.group("vague"):
            count, high, qualifier = None, None, "vague"
        elif m.group("lo_b") or m.group("lo"):
            count = parse_number(m.group("lo_b") or m.group("lo"))
            high = parse_number(m.group("hi_b") or m.group("hi"))
            qualifier = "range"
            if count is None or high is None or high <= count:
                continue
        else:
            count, high = parse_number(m.group("num")), None
            if count is None:
                continue
            if re.fullmatch(r"(?i)(?:a|two|three|half a)\s+dozen", m.group("num").strip()) and qualifier == "exact":
                qualifier = "about"
        out.append(Quantity(count, qualifier, high, m.start(), m.end(), m.group(0)))
    return out
