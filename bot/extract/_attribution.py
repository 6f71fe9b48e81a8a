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
from bot.extract._chunks import noun_class

_SPEECH = (r"(?:says|said|say|saying|claimed|claims|claim|claiming|told|tells|reported|reports|report|reporting|"
           r"indicated|indicates|showed|shows|"
           r"acknowledged|acknowledges|admitted|admits|announced|announces|stated|states|confirmed|confirms|"
           r"added|adds|insisted|insists|maintained|estimated|estimates|put\s+the\s+(?:death\s+)?toll|"
           r"put\s+the\s+number|counted|recorded|documented|alleged|alleges|wrote|posted|noted|"
           r"declared|revealed|disclosed|believes|believed|warned|conceded|concedes|denied|denies|rejected|"
           r"accused|accuses|(?:updated|revised|raised|lowered|downgraded|upgraded)\s+(?:the|its|their)\s+(?:death\s+)?"
           r"(?:toll|count|figure))")
_CLAUSE_SPLIT = re.compile(r";\s+|,?\s+while\s+|,\s+but\s+|,\s+whereas\s+|\.\s+But\s+", re.IGNORECASE)
_LEAD = re.compile(rf"(?:^\W*|^[^,;]{{0,60}},\s+)(?P<who>[^,;:\d“\"]{{2,90}}?),?\s+"
                   rf"(?:has\s+|have\s+|had\s+|also\s+|later\s+|earlier\s+|\w+ly\s+|was\s+quoted\s+as\s+)*"
                   rf"{_SPEECH}\b", re.IGNORECASE)
_LEAD_UNTIL = re.compile(_LEAD.pattern + r"$", re.IGNORECASE)
_SPEECH_WORD = re.compile(rf"\b{_SPEECH}\b", re.IGNORECASE)
# "JNIM, which also operates in the area, separately claimed ...": the relative clause is no speaker
# "Jean Valmo, a farmer who fled the violence, said": the apposition goes, the name speaks.
_APPOSITIVE = re.compile(r",\s+(?:which|who)\s[^,;]{1,80},|,\s+(?:however|meanwhile|though|too|in\s+turn|for\s+(?:its|"
                         r"their|his|her)\s+part|\w+ly),(?=\s)|,\s+(?:through|via|citing)\s[^,;]{1,60},(?=\s)|"
                         rf",\s+(?:an?|the)\s[^,;]{{1,80}},(?=\s+(?:has\s+|have\s+|also\s+)?{_SPEECH}\b)",
                         re.IGNORECASE)
_ACCORDING = re.compile(r"\baccording\s+to\s+(?P<who>[^,.;:]{2,90}?)(?=[,.;:]|\s+(?:who|which|on|in|at)\b|$)",
                        re.IGNORECASE)
_WHEN = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|yesterday|today|tonight|last|this|earlier|later)"
_INVERTED = r"(?:said|says|added|adds|claimed|claims|stated|confirmed|reported|according\s+to)"
_TRAILING = re.compile(
    rf"[,”\"]\s*(?:(?P<who>[^,;“\"]{{2,90}}?),?\s+(?:has\s+|have\s+|also\s+|later\s+)?{_SPEECH}|{_INVERTED}\s+"
    rf"(?P<who2>[^,;“\"]{{2,90}}?))(?:\s+(?:on|in|at|late|early|to|by|after|via|citing|{_WHEN})\b[^,;]*)?\W*$",
    re.IGNORECASE)
# "..., the ministry said on Friday, in what would be ..." / "..., the teacher told this outlet by phone, ..."
_TRAILING_MID = re.compile(
    rf"[,”\"]\s*(?P<who>[^,;“\"]{{2,90}}?),?\s+(?:has\s+|have\s+|also\s+|later\s+)?"
    rf"(?:{_SPEECH}|told\s+[^,;]{{1,40}}?)(?:\s+(?:on|in|late|early|by|after|via|citing|{_WHEN})\b[^,;]{{0,40}})?\s*(?:[,;]|\.?$)",
    re.IGNORECASE)
DATELINE = re.compile(r"^(?:[A-Z][A-Z/ .'-]{2,40},\s*(?:[A-Z][a-z]{2,8}\.?\s+\d{1,2}\s*)?(?:\([^)]*\)\s*)?[-–—]\s*|"
                       r"[A-Z][A-Za-z]+(?:\s\([A-Za-z ]+\))?\s*[-–—:]\s*(?=[A-Z]))")
# Headlines: "Army: 30 militants killed", "Nine killed in market blast - governor", "..., police say"
_HEAD_LEAD = re.compile(r"^(?P<who>[A-Z][\w'’.]*(?:\s[\w'’.]+){0,3}):\s+(?=\S)")
_HEAD_TAIL = re.compile(r"\s[-–—:]\s(?P<who>[\w'’. ]{2,40}?)\s*$")
_PRONOUN = re.compile(r"^(?:he|she|they|it|we|i|(?:the\s+|a\s+|an\s+|its\s+|their\s+)?(?:spokesman|spokeswoman|"
                      r"spokesperson|statement|group|ministry|agency|organisation|organization|movement|army|"
                      r"military|police|government|forces))$",
                      re.IGNORECASE)
# "the army said": the speaker named before with the same head noun ("Pakistan's army"), never just whoever
# spoke last (a UN agency, a monitor)
ORGAN_ROLE = re.compile(r"\b(?:ministry|agency|organi[sz]ation|army|military|police|government|forces)$",
                        re.IGNORECASE)
PERSONAL = re.compile(r"^(?:he|she)$", re.IGNORECASE)
_NO_CLAIMANT = re.compile(r"^(?:sources?|reports?|media(?:\s+reports?)?|local\s+media|media\s+outlets|"
                          r"it\s+is|there|this|that|reportedly|witnesses?)$", re.IGNORECASE)
# A news agency is the claimant only of its own count ("an AFP tally"); otherwise it is the channel that
# passes someone's figure on, and the figure stays "reported by" the outlet.
_AGENCY = re.compile(r"^(?:the\s+)?(?:Reuters|AFP|AP|Agence\s+France-Presse|(?:the\s+)?Associated\s+Press|Anadolu"
                     r"(?:\s+Agency)?|Xinhua|TASS|RIA(?:\s+Novosti)?|Interfax|IRNA|WAFA|SANA|Saba|APP|PTI|ANI|"
                     r"Ukrinform|Bernama|Yonhap|Kyodo|EFE|dpa|Fars|Tasnim|Mehr|QNA|NNA|AA|IANS|UNI|"
                     r"(?:[A-Z][\w-]+\s+){0,3}(?:news\s+agency|wire\s+service)(?:\s+[A-Z][\w-]+){0,3})(?:'s?)?$",
                     re.IGNORECASE)
_OWN_COUNT = re.compile(r"\s(?:tally|count|toll|estimate|database|analysis)$", re.IGNORECASE)
_STRIP = re.compile(r"^(?:the|a|an|and|but|also|meanwhile|separately|earlier|later|however|when|as|after|while|"
                    r"initial|preliminary|latest|new|previous|first|"
                    r"because|since|although|though|where|in\s+a\s+statement,?)\s+"
                    r"|\s+(?:in\s+a\s+statement|on\s+\w+|late\s+\w+|earlier|later|separately|also)$", re.IGNORECASE)
_NOT_A_SPEAKER = re.compile(r"\b(?:killed|wounded|injured|died|attack|were|was|is|are|be|been|clashes|fighting|"
                            r"after|when|"
                            r"which|who|that|if)\b|^(?:in|on|at|by|for|with|from|via|citing|speaking|reached|based|"
                            r"asking|adding|count|tally|according)\b|\bcondition\s+of\s+anonymity\b|"
                            r"\bthis\s+(?:outlet|agency|newspaper|channel)\b", re.IGNORECASE)


def split_clauses(sentence: str) -> list[str]:
    return [c for c in _CLAUSE_SPLIT.split(sentence) if c.strip()]


def headline_attribution(line: str, gazetteer: Gazetteer) -> Attribution | None:
    """A headline's own attribution: a leading "Army:" or a trailing "- governor"."""
    for pattern in (_HEAD_LEAD, _HEAD_TAIL):
        m = pattern.search(line)
        who = m.group("who").strip() if m else ""
        head = who.split()[-1].lower() if who else ""
        # stricter than in prose: "Balochistan attacks: ..." and "Zaporizhzhia: ..." name no speaker
        if who and not who.isupper() and len(who.split()) <= 4 and (
                gazetteer.actors(who) or head in ORG_HEADS or noun_class(head) == "person"):
            found = make_attribution(who, gazetteer)
            if found is not None and found.text:
                return found
    return None


def find_attribution(clause: str, gazetteer: Gazetteer) -> Attribution | None:
    clause = _APPOSITIVE.sub("", DATELINE.sub("", clause))
    m = _ACCORDING.search(clause)
    if m and (found := make_attribution(m.group("who"), gazetteer)) is not None:
        return found
    # a lead speaker: each speech verb in turn, so that "Initial reports from a committee indicated" is not
    # read as "Initial" reporting
    for verb in _SPEECH_WORD.finditer(clause[:160]):
        m = _LEAD_UNTIL.match(clause[:verb.end()])
        if m and (found := make_attribution(m.group("who"), gazetteer)) is not None:
            return found
    m = _TRAILING.search(clause)
    if m:
        found = make_attribution(m.group("who") or m.group("who2"), gazetteer)
        if found is not None:
            return found
    for m in reversed(list(_TRAILING_MID.finditer(clause))):
        found = make_attribution(m.group("who"), gazetteer)
        if found is not None:
            return found
    return None


def make_attribution(who: str, gazetteer: Gazetteer) -> Attribution | None:
    """The attribution that the words ``who`` name: an actor, a pronoun to resolve later, nobody (bare
    "sources"; a news agency passing on someone else's figure), or None when the words name no speaker."""
    who = re.sub(r"\s+", " ", who).strip(" ,\"“”'’")
    who = re.split(r",?\s+(?:who|which|whose)\s", who, maxsplit=1)[0]  # "a union official who asked not to be named"
    # "initial reports from a local resistance committee": the committee speaks
    who = re.sub(r"^(?:(?:the|initial|preliminary|latest|early|earlier)\s+)*(?:reports?|figures?|data|estimates?|"
                 r"tall(?:y|ies)|counts?|statements?)\s+(?:from|by|of|compiled\s+by)\s+", "", who, flags=re.IGNORECASE)
    for _ in range(3):
        who = _STRIP.sub("", who).strip()
    if not who or len(who) > 80 or _NOT_A_SPEAKER.search(who) or _fragment(who, gazetteer):
        return None
    if _PRONOUN.match(who):
        return Attribution(None, who)  # resolved by the caller from the previous speaker
    own_count = _OWN_COUNT.search(who)
    if own_count and _AGENCY.match(who[:own_count.start()].strip()):
        who = who[:own_count.start()].strip()  # "an AFP tally": the agency's own count, AFP claims it
    elif _NO_CLAIMANT.match(who) or _AGENCY.match(who):
        return Attribution(None, None)
    if not is_actor(who, gazetteer):
        return None
    side = _side(who, gazetteer)
    return Attribution(side or _plain(who), who, subject=side or _plain(who))


# Heads of phrases that name an organisation or office that can speak; people nouns come from the chunker.
ORG_HEADS = {
    "spokesman", "spokeswoman", "spokesperson", "spokespeople", "ministry", "army", "military", "government",
    "governor", "agency", "office", "council", "authorities", "authority", "forces", "group", "statement",
    "sources", "source", "hospital", "hospitals", "network", "monitor", "observatory", "organisation",
    "organization", "committee", "service", "services", "administration", "president", "minister", "chief",
    "mayor", "general", "colonel", "media", "channel", "newspaper", "broadcaster", "outlet", "tv", "radio",
    "coalition", "alliance", "movement", "front", "brigades", "wing", "department", "directorate", "command",
    "headquarters", "society", "union", "association", "federation", "mission", "charity", "ngo", "un",
    "cross", "crescent", "prosecutor", "court", "parliament", "cabinet", "presidency", "embassy", "ambassador",
    "envoy", "secretary", "premier", "director", "coordinator", "representative", "representatives",
    "commissioner", "administrator", "chairman", "police", "agencies", "officials", "official", "firm",
    "company", "operator", "ministries", "unit", "centre", "center", "institute", "project",
    "tracker", "team", "board", "bureau", "regime", "junta", "militia", "party", "rebels",
    "defence", "defense", "rescue", "rescuers", "emergency", "guard", "guards", "navy", "observers", "monitors",
    "briefing", "communique", "communiqué",
}
_NON_ACTOR = {
    "however", "also", "as", "meanwhile", "separately", "month", "week", "year", "day", "today", "yesterday",
    "no-one", "nobody", "none", "this", "that", "there", "which", "who", "another", "other", "later",
    "earlier", "first", "then", "thus", "still", "yet", "instead", "moreover", "furthermore", "additionally",
    "indeed", "overall", "finally", "so", "while", "when", "where", "since", "after", "before", "both", "all",
    "some", "many", "most", "one", "night", "morning", "evening", "afternoon", "weekend", "time", "report",
    "reports", "it", "what", "whom", "here", "now", "officially", "previously", "initially", "again",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "nor", "neither", "either",
    "initial", "preliminary", "latest", "new", "previous", "further", "such", "these", "those",
    "they", "he", "she", "we", "i", "you", "everyone", "anyone", "someone", "something", "nothing", "figures",
    "figure", "toll", "data", "numbers", "estimates", "count", "tally", "statistics", "result", "total",
    "attack", "attacks", "strike", "strikes", "clashes", "fighting", "violence", "war", "conflict", "incident",
}
_WORD = re.compile(r"[\w'’.-]+")
_PREPOSITIONS = {"of", "in", "at", "for", "from", "with", "on", "near", "based", "inside", "outside", "across"}


_QUANTIFIER_LEAD = re.compile(r"^(?:both|all|each|either|neither|several|many|some|most|few)\b", re.IGNORECASE)
_ADJECTIVE = re.compile(r"[A-Za-z]+(?:al|ive|ous|ic|ary|ed|ing|ional)")


def _fragment(who: str, gazetteer: Gazetteer) -> bool:
    """Words that cannot be a claimant's name: a headline's words before its colon ("Balochistan attacks:"),
    a quantifier ("Both groups"), a lone adjective left from a cut phrase ("Provisional")."""
    if who.endswith(":") or _QUANTIFIER_LEAD.match(who):
        return True
    word = who.strip("'’.")
    return (" " not in word and bool(_ADJECTIVE.fullmatch(word)) and word.lower() not in ORG_HEADS
            and noun_class(word.lower()) != "person" and not gazetteer.actors(word))


def is_actor(who: str, gazetteer: Gazetteer) -> bool:
    """A claimant is an actor: a person, a role, an organisation, a government, a side, a medium,
    witnesses, residents or sources. Never a sentence adverb, a connective, a time word, a thing or a place
    ("Balochistan attacks", "the region"), nor a clause with a figure in it."""
    words = _WORD.findall(who)
    if not words or any(w[0].isdigit() for w in words):
        return False
    # the head of the first noun phrase: "an aid worker in the town", "the Syrian Observatory for Human Rights"
    cut = next((i for i, w in enumerate(words) if i and w.lower() in _PREPOSITIONS), len(words))
    head = words[cut - 1].lower().strip("'’.")
    if head in _NON_ACTOR or (len(words) == 1 and words[0].lower() in _NON_ACTOR):
        return False
    if gazetteer.actors(who) or head in ORG_HEADS or noun_class(head) == "person":
        return True
    # a proper name ("Reuters", "Zabihullah Mujahid") or an unlisted role ("the headteacher"), but no thing,
    # place or adverb
    return not (noun_class(head) is not None or gazetteer.places(who) or
                (head.endswith("ly") and head not in _LY_NOUNS))


_LY_NOUNS = {"family", "italy", "assembly", "ally", "rally", "monopoly", "anomaly", "daily", "weekly"}


_STATE_ORGANS = re.compile(
    r"\b(?:army|military|forces|troops|government|ministry|minister|president|presidency|spokesman|spokeswoman|"
    r"spokesperson|officials?|authorities|police|command|headquarters|administration|cabinet|office|embassy|"
    r"ambassador|envoy|governor|mayor|commander|general|colonel|navy|air\s+force|defen[cs]e|interior|"
    r"foreign|security|intelligence|border\s+guards?|state\s+media|state\s+tv|news\s+agency|regime|junta|"
    r"leadership|council|parliament|prime\s+minister|statement|briefing|communiqu[eé])\b", re.IGNORECASE)


def _side(who: str, gazetteer: Gazetteer) -> str | None:
    """The canonical side a speaker speaks for: the side itself ("Pakistan", "the Taliban", "ISPR") or one
    of its organs ("Pakistan's military", "the Russian defence ministry"); not an independent body that
    merely carries a country's name ("the Syrian Observatory for Human Rights")."""
    mentions = gazetteer.actors(who)
    if not mentions:
        return None
    rest = (who[:mentions[0].start] + who[mentions[0].end:]).strip(" '’s")
    if not rest or re.fullmatch(r"(?:the|an?)", rest, re.IGNORECASE) or _STATE_ORGANS.search(rest):
        return mentions[0].canonical
    return None


def _plain(who: str) -> str:
    return who[:1].upper() + who[1:]


def is_pronoun(attribution: Attribution) -> bool:
    return attribution.claimant is None and attribution.text is not None and bool(_PRONOUN.match(attribution.text))
