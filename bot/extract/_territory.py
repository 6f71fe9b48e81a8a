"""Territory claims: places taken, lost, destroyed or withdrawn from, as a claimant states them.

"The army said its forces had taken control of more than 20 posts" is a claim about places, not people.
The same noun-phrase chunks that keep such counts out of casualty figures find them here: a quantity
whose phrase is headed by a place or position noun, governed by an action cue, either before it ("captured
three villages", "took control of more than 20 posts") or after it ("21 Afghan posts were temporarily
captured"). A single named place counts one ("seized the town of Dessie"). Precision first: no cue, no
claim; no count is ever added to another.
"""

from __future__ import annotations

import re

from bot.extract._actors import Gazetteer
from bot.extract._casualties import Attribution
from bot.extract._chunks import noun_phrase
from bot.extract._numbers import find_quantities
from bot.model import Territory

OBJECTS = {
    "post", "outpost", "checkpoint", "checkpost", "check-post", "position", "village", "town", "city",
    "district", "base", "settlement", "locality", "hamlet", "fort", "stronghold", "area",
}
_OBJECT_WORD = re.compile(
    r"\b(?:" + "|".join(sorted(OBJECTS | {"airport", "airbase", "garrison"}, key=len, reverse=True))
    + r")(?:e?s)?\b|\b(?:cities|localities)\b", re.IGNORECASE)
_LIST_NEXT = re.compile(r"^\s*(?:,\s*)?(?:and|as\s+well\s+as)\s+(?:another\s+)?$", re.IGNORECASE)
_ACTIONS: dict[str, str] = {
    r"(?:took|tak(?:en|ing|es)|gain(?:ed|ing)|regain(?:ed|ing)|seiz(?:ed|ing)|wrest(?:ed|ing)|assum(?:ed|ing)|"
    r"establish(?:ed|ing)|announc(?:ed|ing))\s+(?:full\s+|complete\s+|total\s+)?control\s+(?:of|over)|"
    r"(?:the\s+)?(?:capture|seizure|takeover|fall|liberation|recapture)\s+of|"
    r"seiz(?:ed|ing|es)|captur(?:ed|ing|es)|overr?an|overrun(?:ning)?|took|taken|tak(?:es|ing)|liberat(?:ed|ing)|"
    r"retook|retaken|recaptur(?:ed|ing)|occupied|storm(?:ed|ing)": "taken",
    r"destroy(?:ed|ing|s)|raz(?:ed|ing)|demolish(?:ed|ing)|torch(?:ed|ing)|burn(?:ed|t|ing)\s+down": "destroyed",
    r"lost|los(?:es|ing)|abandon(?:ed|ing)|ced(?:ed|ing)": "lost",
    r"withdr(?:ew|awn)\s+from|withdraw(?:ing|s)?\s+from|pull(?:ed|ing)\s+out\s+of|retreat(?:ed|ing)\s+from|"
    r"evacuat(?:ed|ing)": "withdrawn",
}
_ACTION_BEFORE = [(re.compile(rf"\b(?:{c})\s+(?:(?:another|a\s+further|a\s+total\s+of|at\s+least)\s+)?$",
                              re.IGNORECASE), action) for c, action in _ACTIONS.items()]
_PASSIVE_AFTER = re.compile(
    r"^[^,;.]{0,60}?\b(?:were|was|have\s+been|had\s+been|has\s+been)\s+(?:\w+ly\s+)?"
    r"(?P<cue>captured|seized|taken|overrun|liberated|retaken|recaptured|destroyed|razed|lost|abandoned|"
    r"evacuated)\b", re.IGNORECASE)
_PASSIVE_ACTION = {"captured": "taken", "seized": "taken", "taken": "taken", "overrun": "taken", "liberated": "taken",
                   "retaken": "taken", "recaptured": "taken", "destroyed": "destroyed", "razed": "destroyed",
                   "lost": "lost", "abandoned": "lost", "evacuated": "withdrawn"}
# One place: "seized the town of Dessie", "overran the major city of Goma", "briefly captured a military base",
# "the military recaptured the base".
_ONE_PLACE = re.compile(
    rf"\b(?P<cue>{'|'.join(f'(?:{c})' for c in _ACTIONS)})\s+(?:briefly\s+)?(?:the|an?)\s+(?:[\w'’-]+\s+){{0,2}}?"
    r"(?P<object>town|city|village|district|base|outpost|settlement|checkpoint|post|airport|airbase|garrison)\b"
    r"(?:\s+of\s+(?P<name>[A-Z][\w'’-]+(?:\s[A-Z][\w'’-]+)?))?", re.IGNORECASE)
_DENIAL = re.compile(r"\b(?:den(?:y|ies|ied|ying)|rejected|dismissed|refuted|false|baseless|fabricated)\b",
                     re.IGNORECASE)
_SAID = re.compile(r"\b(?:said|says|claimed|claims|announced|confirmed|stated|added|reported|told\s+\w+)\s+(?:that\s+)?"
                   r"(?P<self>(?:it|they|we|its|their|our)\b)?", re.IGNORECASE)


def territory_in_clause(clause: str, quote: str, attribution: Attribution, date: str | None,
                        gazetteer: Gazetteer) -> list[Territory]:
    out: list[Territory] = []
    if not _OBJECT_WORD.search(clause) or _DENIAL.search(clause):
        return out  # most clauses name no place or position at all: nothing to look for
    previous: tuple[str, int, int] | None = None  # action, cue position, end of the last counted phrase
    for q in find_quantities(clause):
        before, after = clause[:q.start], clause[q.end:]
        chunk = noun_phrase(after)
        action = next((a for pattern, a in _ACTION_BEFORE if pattern.search(before[-60:])), None)
        cue_at = max((m.start() for pattern, _ in _ACTION_BEFORE for m in pattern.finditer(before[-60:])),
                     default=0) + max(0, len(before) - 60)
        if action is None and previous and _LIST_NEXT.match(clause[previous[2]:q.start]):
            action, cue_at = previous[0], previous[1]  # "destroyed three camps and 19 of their posts"
        if chunk.kind != "thing":
            continue
        if action is not None:
            previous = (action, cue_at, q.end + chunk.end)
        if _singular(chunk.head) not in OBJECTS:
            continue
        if action is None:
            passive = _PASSIVE_AFTER.match(after[chunk.end:])
            if passive is None:
                continue
            action, cue_at = _PASSIVE_ACTION[passive.group("cue").lower()], -1  # the agent is not stated
        out.append(_claim(action, chunk.head, q.count, q.qualifier, q.count_high, clause, quote, cue_at,
                          chunk.text, attribution, date, gazetteer))
    for m in _ONE_PLACE.finditer(clause):
        action = next((a for c, a in _ACTIONS.items() if re.fullmatch(c, m.group("cue"), re.IGNORECASE)), "taken")
        if any(f.quote == quote and f.object == m.group("object").lower() for f in out):
            continue
        name = m.group("name")
        places = gazetteer.places(name) if name else []
        out.append(_claim(action, m.group("object").lower(), 1, "exact", None, clause, quote, m.start(), "",
                          attribution, date, gazetteer, places[0].canonical if places else name))
    return out


def _singular(noun: str) -> str:
    if noun.endswith("ies"):
        return noun[:-3] + "y"
    return noun[:-1] if noun.endswith("s") else noun


def _claim(action: str, obj: str, count: int | None, qualifier: str, high: int | None, clause: str, quote: str,
           cue_at: int, phrase: str, attribution: Attribution, date: str | None, gazetteer: Gazetteer,
           location: str | None = None) -> Territory:
    by = None
    if cue_at >= 0:
        before = clause[:cue_at]
        said = _SAID.search(before)
        if said and said.group("self"):
            # "the army said its forces took ...", "said it had taken": the speaker's side, when it is one
            by = attribution.subject if attribution.subject in gazetteer.sides else None
        else:
            subject = gazetteer.actors(before[said.end():] if said else before)
            by = subject[0].canonical if subject else None  # the subject comes first: "Pakistani forces took ..."
    named = gazetteer.actors(phrase)  # "25 Pakistani army posts": taken from Pakistan
    frm = named[0].canonical if named and named[0].canonical != by else None
    at = max(quote.find(clause), 0)
    places = gazetteer.places_within(quote, at, at + len(clause))
    location = location or (places[0].canonical if places else None)
    return Territory(
        action=action,  # type: ignore[arg-type]
        object=obj, count=count, qualifier=qualifier, count_high=high,  # type: ignore[arg-type]
        quote=quote, by_side=by, from_side=frm, claimant=attribution.claimant, claimant_text=attribution.text,
        date=date, location=location,
    )
