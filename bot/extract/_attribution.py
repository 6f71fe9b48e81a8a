"""Who asserts what: clauses and their attribution.

Attribution is looked for in the clause itself (a lead "X says ...", "according to X", a trailing
"..., X said"), then in the sentence's trailing attribution, then, for pronoun speakers ("he added",
"it said"), carried over from the previous attributed sentence. Bare "sources" or "reports" are no
claimant at all: the outlet states the figure (rule 3: shown as "reported by <outlet>").
"""

from __future__ import annotations

import re

from bot.extract._actors import Gazetteer
from bot.extract._casualties import Attribution

_SPEECH = (r"(?:says|said|say|saying|claimed|claims|claim|claiming|told|tells|reported|reports|report|"
           r"acknowledged|acknowledges|admitted|admits|announced|announces|stated|states|confirmed|confirms|"
           r"added|adds|insisted|insists|maintained|estimated|estimates|put\s+the\s+(?:death\s+)?toll|"
           r"put\s+the\s+number|counted|recorded|documented|alleged|alleges|wrote|posted|noted|"
           r"declared|revealed|disclosed|believes|believed|warned|conceded|concedes|denied|denies|rejected|"
           r"accused|accuses)")
_CLAUSE_SPLIT = re.compile(r";\s+|,?\s+while\s+|,\s+but\s+|,\s+whereas\s+|\.\s+But\s+", re.IGNORECASE)
_LEAD = re.compile(rf"(?:^\W*|^[^,;]{{0,60}},\s+)(?P<who>[^,;:\d“\"]{{2,90}}?),?\s+"
                   rf"(?:has\s+|have\s+|had\s+|also\s+|later\s+|earlier\s+)*"
                   rf"{_SPEECH}\b", re.IGNORECASE)
_ACCORDING = re.compile(r"\baccording\s+to\s+(?P<who>[^,.;:]{2,90}?)(?=[,.;:]|\s+(?:who|which|on|in|at)\b|$)",
                        re.IGNORECASE)
_TRAILING = re.compile(
    rf"[,”\"]\s*(?:(?P<who>[^,;“\"]{{2,90}}?)\s+(?:has\s+|have\s+|also\s+|later\s+)?{_SPEECH}|{_SPEECH}\s+"
    rf"(?P<who2>[^,;“\"]{{2,90}}?))(?:\s+(?:on|in|at|late|early|to|by|after|via|citing)\b[^,;]*)?\W*$",
    re.IGNORECASE)
# "..., the ministry said on Friday, in what would be ..." / "..., the teacher told this outlet by phone, ..."
_TRAILING_MID = re.compile(
    rf"[,”\"]\s*(?P<who>[^,;“\"]{{2,90}}?)\s+(?:has\s+|have\s+|also\s+|later\s+)?"
    rf"(?:{_SPEECH}|told\s+[^,;]{{1,40}}?)(?:\s+(?:on|in|late|early|by|after|via|citing)\b[^,;]{{0,40}})?\s*(?:[,;]|\.?$)",
    re.IGNORECASE)
_DATELINE = re.compile(r"^[A-Z][A-Z/ .'-]{2,40},\s*(?:[A-Z][a-z]{2,8}\.?\s+\d{1,2}\s*)?(?:\([^)]*\)\s*)?[-–—]\s*")
_PRONOUN = re.compile(r"^(?:he|she|they|it|we|i|(?:the\s+|a\s+|its\s+|their\s+)?(?:spokesman|spokeswoman|"
                      r"spokesperson|statement|group|ministry|agency|organisation|organization))$",
                      re.IGNORECASE)
_NO_CLAIMANT = re.compile(r"^(?:sources?|reports?|media(?:\s+reports?)?|local\s+media|media\s+outlets|"
                          r"it\s+is|there|this|that|reportedly|witnesses?)$", re.IGNORECASE)
_STRIP = re.compile(r"^(?:the|a|an|and|but|also|meanwhile|separately|earlier|later|however|when|as|after|while|"
                    r"because|since|although|though|where|in\s+a\s+statement,?)\s+"
                    r"|\s+(?:in\s+a\s+statement|on\s+\w+|late\s+\w+|earlier|later|separately|also)$", re.IGNORECASE)
_NOT_A_SPEAKER = re.compile(r"\b(?:killed|wounded|injured|died|attack|were|was|clashes|fighting|after|when|"
                            r"which|who|that|if)\b|^(?:in|on|at|by|for|with|from|via|citing|speaking|reached|based|"
                            r"asking|adding|count|tally|according)\b|\bcondition\s+of\s+anonymity\b|"
                            r"\bthis\s+(?:outlet|agency|newspaper|channel)\b", re.IGNORECASE)


def split_clauses(sentence: str) -> list[str]:
    return [c for c in _CLAUSE_SPLIT.split(sentence) if c.strip()]


def find_attribution(clause: str, gazetteer: Gazetteer) -> Attribution | None:
    clause = _DATELINE.sub("", clause)
    for pattern in (_ACCORDING, _LEAD):
        m = pattern.search(clause)
        if m:
            found = _make(m.group("who"), gazetteer)
            if found is not None:
                return found
    m = _TRAILING.search(clause)
    if m:
        return _make(m.group("who") or m.group("who2"), gazetteer)
    for m in reversed(list(_TRAILING_MID.finditer(clause))):
        found = _make(m.group("who"), gazetteer)
        if found is not None:
            return found
    return None


def _make(who: str, gazetteer: Gazetteer) -> Attribution | None:
    who = re.sub(r"\s+", " ", who).strip(" ,\"“”'’")
    for _ in range(3):
        who = _STRIP.sub("", who).strip()
    if not who or len(who) > 80 or _NOT_A_SPEAKER.search(who):
        return None
    if _PRONOUN.match(who):
        return Attribution(None, who)  # resolved by the caller from the previous speaker
    if _NO_CLAIMANT.match(who):
        return Attribution(None, None)
    canonical = gazetteer.resolve(who) or _plain(who)
    return Attribution(canonical, who, subject=canonical)


def _plain(who: str) -> str:
    return who[:1].upper() + who[1:]


def is_pronoun(attribution: Attribution) -> bool:
    return attribution.claimant is None and attribution.text is not None and bool(_PRONOUN.match(attribution.text))
