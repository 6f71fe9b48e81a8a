"""Noun-phrase chunks: whose casualties a figure counts, or what things it counts.

Character patterns find a figure and its cue; this module decides what the figure *counts*, from the
words that follow it, the way a cascaded finite-state extractor chunks noun phrases: tokens, a small
lexicon of word classes (people, things, places, anaphors, function words), then the noun phrase that
the quantity heads ("58 | Pakistani soldiers | were killed", "25 | Pakistani army posts", "19 | of their
posts", "11 | others", "six | of them"). Its head noun says whether the figure counts people (a casualty
figure), things (never a casualty; posts and villages may be a territory claim) or neither. The phrase
shown to users is whole words of the sentence, never a cut word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

NounKind = Literal["person", "thing", "place", "anaphor"]

# Word classes. Singular lemmas; regular plurals are derived ("soldier" -> "soldiers").
_PERSON = {
    "person", "civilian", "child", "kid", "woman", "man", "soldier", "troop", "serviceman", "servicewoman",
    "fighter", "militant", "insurgent", "rebel", "jihadist", "terrorist", "policeman", "policewoman",
    "officer", "guard", "member", "resident", "villager", "farmer", "student", "pupil", "worshipper",
    "passenger", "worker", "journalist", "refugee", "migrant", "family", "gunman", "attacker", "assailant",
    "bandit", "commander", "hostage", "prisoner", "detainee", "suspect", "protester", "demonstrator", "miner",
    "pilgrim", "patient", "doctor", "nurse", "volunteer", "recruit", "cadet", "sailor", "paramilitary",
    "combatant", "individual", "victim", "inhabitant", "boy", "girl", "infant", "baby", "elder", "herder",
    "trader", "mourner", "guest", "teacher", "official", "leader", "fisherman", "loyalist", "teenager",
    "youth", "adult", "spectator", "shopper", "driver", "engineer", "contractor", "medic", "paramedic",
    "rescuer", "firefighter", "colleague", "relative", "brother", "sister", "son", "daughter", "father",
    "mother", "husband", "wife", "peacekeeper", "mercenary", "operative", "agent", "commando", "conscript",
    "reservist", "marine", "pilot", "crewman", "laborer", "labourer", "employee", "staffer", "clerk",
    "imam", "priest", "monk", "nun", "christian", "muslim", "hindu", "palestinian", "israeli", "ukrainian",
    "russian", "afghan", "pakistani", "syrian", "yemeni", "somali", "haitian", "nigerian", "malian",
    "iraqi", "kurd", "iranian", "indian", "congolese", "sudanese", "lebanese", "burmese", "rohingya",
    "druze", "alawite", "jawan", "cop", "ranger", "scout", "militiaman", "partisan", "settler", "citizen",
    "national", "foreigner", "tourist", "visitor", "voter", "candidate", "lawmaker", "politician", "chief",
    "shepherd", "local", "dweller", "occupant", "survivor", "casualty", "life", "body", "corpse",
}
_PERSON_IRREGULAR = {
    "people", "persons", "men", "women", "children", "police", "personnel", "staff", "crew", "youths",
    "militia", "militias", "troops", "families", "lives", "bodies", "babies", "casualties", "others", "dead",
    "wounded", "injured", "faithful", "elderly", "sudanese", "lebanese", "congolese", "burmese", "rohingya",
    "druze", "fishermen", "gunmen", "policemen", "servicemen", "militiamen", "crewmen", "countrymen",
    "tribesmen", "kinsmen", "herdsmen", "clansmen", "noncombatants", "non-combatants",
}
_THING = {
    "post", "outpost", "checkpoint", "check-post", "checkpost", "position", "village", "town", "city",
    "district", "base", "settlement", "area", "locality", "hamlet", "camp", "fort", "stronghold", "hideout",
    "vehicle", "tank", "drone", "missile", "rocket", "shell", "bomb", "house", "home", "building", "truck",
    "lorry", "aircraft", "plane", "jet", "helicopter", "boat", "ship", "vessel", "attack", "incident",
    "strike", "airstrike", "raid", "operation", "round", "case", "school", "hospital", "acre", "hectare",
    "weapon", "gun", "rifle", "time", "car", "bullet", "mortar", "shop", "mosque", "church", "bridge",
    "year", "month", "week", "day", "hour", "minute", "second", "km", "kilometre", "kilometer", "mile",
    "metre", "meter", "foot", "feet", "percent", "dollar", "rupee", "euro", "pound", "tonne", "ton", "kg",
    "kilogram", "litre", "liter", "cattle", "livestock", "head", "province", "region", "county", "state",
    "country", "nation", "clash", "battle", "assault", "offensive", "front", "line", "border", "crossing",
    "point", "site", "facility", "depot", "warehouse", "field", "plant", "station", "tower", "road", "route",
    "highway", "street", "neighbourhood", "neighborhood", "sector", "zone", "territory", "sq", "square",
    "piece", "unit", "battalion", "brigade", "division", "regiment", "company", "platoon",
    "bunker", "trench", "launcher", "artillery", "howitzer", "system", "warship", "tanker", "cargo",
    "shipment", "aid", "meal", "flight", "seat", "vote", "article", "page", "resolution", "munition",
    "ammunition", "explosive", "mine", "landmine", "device", "ied", "cartridge", "grenade", "pager",
    "radio", "phone", "container", "barrel", "kilo", "item", "document", "franc", "naira", "shilling",
}
_ANAPHOR = {"others", "other", "more", "them", "those", "rest", "whom", "which", "remaining", "others'"}
# Words that end a noun phrase: verbs and auxiliaries, prepositions, conjunctions, relatives, speech verbs.
_STOP = {
    "were", "was", "are", "is", "be", "been", "being", "have", "has", "had", "will", "would", "could", "may",
    "might", "must", "should", "shall", "can", "did", "do", "does", "in", "on", "at", "near", "during", "after",
    "before", "from", "by", "with", "across", "over", "under", "into", "since", "until", "amid", "following",
    "through", "throughout", "inside", "outside", "around", "along", "against", "towards", "toward", "per",
    "to", "for", "as", "and", "or", "but", "while", "whereas", "who", "that", "whose", "when", "where",
    "said", "says", "say", "told", "according", "reportedly", "also", "all", "now", "still", "later", "each",
    "including", "among", "than", "not", "no", "if", "because", "so", "yet", "then", "there", "here",
    "this", "these", "last", "yesterday", "today", "tonight", "overnight", "early", "late", "aged", "every",
}
_DETERMINERS = {"the", "its", "their", "his", "her", "our", "my", "your", "these", "those", "such", "own"}
_POSSESSIVES = {"its", "their", "his", "her", "our", "my"}
_TOKEN = re.compile(r"[\w$£€]+(?:[-'’.][\w]+)*|[^\w\s]")


@dataclass(frozen=True, slots=True)
class NounPhrase:
    text: str  # whole words of the sentence, e.g. "Pakistani soldiers", "of its soldiers", "others"
    head: str  # the head noun, lower-cased; "" when the figure heads no noun ("killed 43")
    kind: NounKind | None  # what the head counts; None when the lexicon does not know it
    possessive: bool = False  # "its soldiers", "of their fighters": the speaker's own side
    partitive: bool = False  # "of them", "of the dead": a subset of people just counted
    end: int = 0  # offset just after the phrase, relative to the text it was read from


def singular_person(word: str) -> bool:
    """ "soldier", "woman", "child": one person, as in "a soldier was killed"."""
    return word.lower() in _PERSON and word.lower() not in ("casualty", "life", "body", "corpse", "family")


def noun_class(word: str) -> NounKind | None:
    w = word.lower().strip("'’")
    if w in _ANAPHOR:
        return "anaphor"
    if w in _PERSON_IRREGULAR or w in _PERSON:
        return "person"
    if w in _THING:
        return "thing"
    for lemma in (w[:-1] if w.endswith("s") else None, w[:-2] if w.endswith("es") else None,
                  w[:-3] + "y" if w.endswith("ies") else None):
        if lemma and lemma in _PERSON:
            return "person"
        if lemma and lemma in _THING:
            return "thing"
    return None


_PARTICIPLES = {"wounded", "injured", "dead", "killed", "martyred", "missing", "abducted", "kidnapped", "detained",
                "displaced", "slain", "captured", "arrested", "fallen"}
_JOINERS = set("\"“”‘’'()/")


def noun_phrase(after: str, max_words: int = 8) -> NounPhrase:
    """The noun phrase that a quantity heads, read from the text right after the quantity."""
    found = list(_TOKEN.finditer(after))
    words: list[re.Match[str]] = []
    possessive = partitive = False
    for i, m in enumerate(found):
        w = m.group(0)
        low = w.lower()
        if not (w[0].isalnum() or w[0] in "$£€"):
            if w in _JOINERS:  # quotes, brackets and slashes inside a phrase: '"crusader" soldiers', 'PKK/YPG'
                continue
            break
        if not words and low == "of":
            partitive = True
            words.append(m)
            continue
        if low in _POSSESSIVES:
            possessive = True
        if low in _STOP and not (partitive and low in ("them", "those", "whom", "these")):
            break
        if low in _CUE_WORDS:
            following = next((f.group(0).lower() for f in found[i + 1:i + 2]), "")
            # "17 wounded soldiers", "dozens of wounded": a participle before (or as) the noun it describes
            if low in _PARTICIPLES and (noun_class(following) == "person" or (partitive and len(words) <= 2)):
                words.append(m)
                continue
            break
        words.append(m)
        if len(words) >= max_words or (noun_class(low) == "anaphor" and partitive):
            break
    content = [w.group(0) for w in words if w.group(0).lower() not in _DETERMINERS | {"of"}]
    if not content:
        return NounPhrase("", "", None, possessive, partitive)
    text = after[words[0].start():words[-1].end()]
    head = content[-1].lower().strip("'’")
    kind = noun_class(head)
    if kind is None:  # "2 Taliban", "12 PKK/YPG terrorists" (head known), "seven apprentices" (unknown noun)
        kinds = [noun_class(w) for w in content]
        kind = "thing" if "thing" in kinds else ("person" if "person" in kinds else None)
    return NounPhrase(text, head, kind, possessive, partitive, words[-1].end())


_CUE_WORDS = {
    "killed", "dead", "died", "die", "dies", "deaths", "martyred", "slain", "perished", "executed", "massacred",
    "injured", "wounded", "hurt", "injuries", "kidnapped", "abducted", "captured", "missing", "arrested",
    "detained", "displaced", "fled", "evacuated", "lost", "murdered", "beheaded", "hospitalised",
    "hospitalized", "seized", "taken", "confirmed", "feared", "believed", "reported", "presumed", "left",
    "remain", "remained", "sustained", "suffered",
}
