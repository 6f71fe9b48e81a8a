"""Casualty claims: for every figure, how many, what happened to them, whose casualties, who says so.

The sentence is cut into clauses (";", ", while", ", but"): attribution belongs to the clause that holds
the figure, so "Islamabad says it killed more than 200 Taliban fighters; the Taliban government says 58
Pakistani soldiers were killed" gives two claims with two claimants. A figure is a casualty figure only
when a casualty cue governs it: a passive cue after it ("58 soldiers were killed", "23 dead"), an active
verb before it ("killed more than 200 fighters"), or a toll noun ("the death toll rose to 45").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.extract._actors import Gazetteer
from bot.extract._chunks import NounPhrase, noun_phrase, singular_person
from bot.extract._dates import DateRef
from bot.extract._numbers import Quantity, find_quantities
from bot.model import Casualty

_CUES: dict[str, str] = {
    # passive / adjectival / noun cues, after the figure
    r"killed|dead|died|die|deaths|fatalities|martyred|martyrs|slain|perished|executed|massacred|"
    r"lost\s+their\s+lives|shot\s+dead|eliminated|neutrali[sz]ed|bodies|murdered|beheaded|lives\s+lost|"
    r"were\s+among\s+the\s+dead": "killed",
    r"injured|wounded|hurt|injuries|sustained\s+injuries|hospitali[sz]ed|maimed|taken\s+(?:to\s+hospital|"
    r"for\s+treatment)|treated\s+for\s+(?:injuries|wounds)|receiving\s+treatment|(?:being\s+)?treated\s+in\s+"
    r"hospital": "injured",
    r"kidnapped|abducted|captured|taken\s+hostage|held\s+hostage|taken\s+prisoner|hostages|seized|"
    r"taken\s+captive|held\s+captive|taken\s+away|led\s+away|carried\s+off": "captured",
    r"missing|unaccounted\s+for|disappeared": "missing",
    r"arrested|detained|taken\s+into\s+custody|in\s+custody|rounded\s+up": "arrested",
    r"displaced|fled\s+their\s+homes|forced\s+to\s+flee|uprooted|fled|evacuated|forced\s+from\s+their\s+homes|"
    r"made\s+homeless|left\s+homeless|have\s+fled|refugees|fleeing\s+their\s+homes|(?:sought|taken|took)\s+"
    r"(?:shelter|refuge)": "displaced",
}
_CUE_ALT = "|".join(f"(?:{c})" for c in _CUES)
_CUE_COMPILED = [(re.compile(rf"^(?:{c})$", re.IGNORECASE), cat) for c, cat in _CUES.items()]

_ACTIVE: dict[str, str] = {
    r"kill(?:ed|ing|s)?|massacr(?:ed|ing)|execut(?:ed|ing)|claim(?:ed|ing)\s+the\s+lives\s+of|"
    r"left|leaving|neutrali[sz](?:ed|ing)|eliminat(?:ed|ing)|shot\s+dead|gunned\s+down|slaughtered": "killed",
    r"wound(?:ed|ing|s)?|injur(?:ed|ing|es)|hurt(?:ing)?": "injured",
    r"abduct(?:ed|ing|s)?|kidnapp?(?:ed|ing|s)?|captur(?:ed|ing|es)|seiz(?:ed|ing)|took|taken": "captured",
    r"arrest(?:ed|ing|s)?|detain(?:ed|ing|s)?|rounded\s+up": "arrested",
    r"displac(?:ed|ing|es)|uproot(?:ed|ing)|forc(?:ed|ing)\s+out": "displaced",
}
_ACTIVE_COMPILED = [(re.compile(rf"(?:{c})", re.IGNORECASE), cat) for c, cat in _ACTIVE.items()]
_ACTIVE_BEFORE = re.compile(
    r"\b[\"“]?(?P<cue>" + "|".join(f"(?:{c})" for c in _ACTIVE) + r")[\"”]?(?:\.\.\.|…)?\s+[\"“]?(?:(?:a\s+total\s+of|"
    r"an?\s+estimated|the\s+lives\s+of|another|a\s+further|an\s+additional)\s+)?$", re.IGNORECASE)
_TOLL_BEFORE = re.compile(
    r"\b(?:death\s+toll|toll|number\s+of\s+(?:dead|deaths|people\s+killed|victims))\b[^.;]{0,50}?"
    r"\b(?:to|at|of|reached|hit|passed|exceeded|surpassed|is|was|stood\s+at|stands\s+at)\s+$", re.IGNORECASE)
_NOUN_OF_BEFORE = {
    r"deaths?|killing|killings|massacre|murder|execution|bodies": "killed",
    r"abduction|kidnapping|kidnappings|capture|release": "captured",
    r"arrest|arrests|detention": "arrested",
    r"displacement": "displaced",
    r"injury|injuries|wounding": "injured",
}
_NOUN_OF_RE = [(re.compile(rf"\b(?:{c})\s+of\s+$", re.IGNORECASE), cat) for c, cat in _NOUN_OF_BEFORE.items()]

# After the figure: the people (noun phrase), helper verbs, then the cue.
_FORWARD = re.compile(
    rf"""^(?P<np>(?:[\s,]+(?!(?:{_CUE_ALT})\b)(?!(?:said|says|told|that|but|while|after|before|when|because|
    which|as|during|since|following|amid|if|than)\b)[\w'’\-./]+){{0,8}}?)
    (?:[\s,]+(?:who|of\s+whom|were|was|are|is|have|has|had|been|being|be|reportedly|also|later|all|now|
    feared|believed|confirmed|reported|presumed|to|later|left|remain|remained|still|either|each|
    were\s+reported|are\s+feared|had\s+been|have\s+been|will\s+be))*
    [\s,]+(?P<cue>{_CUE_ALT})\b""",
    re.IGNORECASE | re.VERBOSE,
)
_NOT_PEOPLE = re.compile(
    r"\b(?:posts?|checkpoints?|vehicles?|tanks?|drones?|missiles?|rockets?|shells?|bombs?|houses?|homes?|"
    r"buildings?|villages?|towns?|km|kilomet(?:re|er)s?|miles?|metres?|meters?|years?|months?|weeks?|days?|"
    r"hours?|minutes?|percent|per\s+cent|dollars?|rupees?|euros?|pounds?|tonnes?|tons?|trucks?|aircraft|"
    r"planes?|helicopters?|boats?|ships?|attacks?|incidents?|strikes?|raids?|operations?|rounds?|cases?|"
    r"schools?|hospitals?|acres?|hectares?|kg|positions?|bases?|outposts?|camps?|cattle|livestock|"
    r"weapons?|guns?|rifles?|times?|am|pm|a\.m\.|p\.m\.|feet|sq|square|GMT|counties|districts?|provinces?|"
    r"kilograms?|litres?|liters?|cars?|bullets?|mortars?|artillery|shops?|mosques?|churches?|bridges?)\b",
    re.IGNORECASE)
_PEOPLE_HEAD = re.compile(
    r"\b(?:people|persons?|civilians?|children|child|kids|women|men|soldiers?|troops?|servicemen|personnel|"
    r"fighters?|militants?|insurgents?|rebels?|jihadists?|terrorists?|police(?:men|officers)?|officers?|"
    r"guards?|members?|residents?|villagers?|farmers?|students?|pupils|worshippers?|passengers?|workers?|"
    r"staff|journalists?|refugees?|migrants?|family|families|others|gunmen|attackers|assailants|bandits|"
    r"commanders?|hostages?|prisoners?|detainees?|suspects?|protesters?|demonstrators?|miners?|pilgrims?|"
    r"patients?|doctors?|nurses?|volunteers?|recruits?|cadets?|sailors?|crew|paramilitar(?:y|ies)|"
    r"combatants?|individuals?|victims?|inhabitants|boys?|girls?|infants?|babies|elders?|herders?|traders?|"
    r"mourners?|guests?|teachers?|officials?|leaders?|Palestinians?|Israelis?|Ukrainians?|Russians?|"
    r"Afghans?|Pakistanis?|Sudanese|Somalis?|Syrians?|Yemenis?|Lebanese|Haitians?|Nigerians?|Malians?|"
    r"Iraqis?|Kurds?|Rohingya|Christians?|Muslims?|Hindus?|fishermen|loyalists|recruits|dead|wounded|injured)\b",
    re.IGNORECASE)
_DENIAL = re.compile(r"\b(?:den(?:y|ies|ied|ying)|rejected|dismissed|refuted|false|baseless|fabricated)\b",
                     re.IGNORECASE)
_BREAKDOWN = re.compile(r"(?:\bincluding|\bamong\s+(?:them|those|the\s+\w+)(?:\s+were)?|\bof\s+whom|"
                        r"\bamong\s+whom|\bsuch\s+as)\s*[:,]?\s*(?:[\w\s,'’-]{0,40}\s)?$", re.IGNORECASE)
CUMULATIVE = re.compile(
    r"\b(?:since\s+(?:the\s+(?:start|beginning|outbreak)|(?:early|mid-?|late\s+)?(?:January|February|March|"
    r"April|May|June|July|August|September|October|November|December|\d{4})|the\s+war|it\s+began|"
    r"fighting\s+(?:began|erupted))|so\s+far\s+this|in\s+total|to\s+date|overall|this\s+year|cumulative|"
    r"over\s+the\s+(?:past|last)\s+(?:\w+\s+)?(?:years?|months?|weeks?)|since\s+then|in\s+recent\s+(?:years|months)|"
    r"since\s+\d{4}|the\s+war\s+has|the\s+conflict\s+has|in\s+(?:19|20)\d\d\s+alone|last\s+year|"
    r"a\s+total\s+of|in\s+all)\b",
    re.IGNORECASE)
_LIST_NEXT = re.compile(r"\b(?:and|as\s+well\s+as)\s+(?:another\s+|a\s+further\s+)?$", re.IGNORECASE)
_OF_THEM = re.compile(r"^\s+of\s+(?:them|whom|those)\b", re.IGNORECASE)
_AMONG_THE = re.compile(r"\bamong\s+the\s+(dead|killed|injured|wounded|missing|abducted|detained|deceased|victims)\s+"
                        r"(?:are|were|was|is)\s+$", re.IGNORECASE)
_LIVES_BEFORE = re.compile(r"\b(?:claim(?:ed|ing|s)?|cost(?:ing|s)?|took|taken|tak(?:es|ing))\s+$", re.IGNORECASE)
_FORCED_BEFORE = re.compile(r"\b(?:forc(?:ed|ing|es)|driv(?:en|ing)|drove|sen(?:t|ding)|prompt(?:ed|ing))\s+$",
                            re.IGNORECASE)
_FLEE_AFTER = re.compile(
    r"^(?:\s+[\w'’-]+){0,4}?\s+(?:to\s+flee|fleeing|from\s+their\s+homes|to\s+leave\s+their\s+homes)\b", re.IGNORECASE)
_COMBATANTS = re.compile(r"\b(?:troops|soldiers|fighters|militants|insurgents|rebels|terrorists|gunmen|attackers|"
                         r"assailants|jihadists|forces)\b", re.IGNORECASE)
FORWARD_WINDOW = 120  # characters after a figure in which its casualty cue must stand (bounds the regex's work)
_YEARISH = re.compile(r"^(?:19|20)\d\d$")
_MONEY_BEFORE = re.compile(r"(?:[$£€]|\bRs\.?|\bUSD|\bPKR|\bINR)\s*$", re.IGNORECASE)
_POSSESSIVE = re.compile(r"\b(?:its|their|his|her|our|own)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Attribution:
    claimant: str | None  # canonical
    text: str | None  # as written
    subject: str | None = None  # the canonical subject for "its soldiers", when known


@dataclass(slots=True)
class Antecedent:
    """The people most recently counted in the article: "N others", "N more", "six of them" and "the rest"
    count the same kind of people. Carried across clauses and sentences by the pipeline."""

    victim: str | None = None
    victim_text: str | None = None
    quote: str | None = None  # the sentence that counted them


_RATE_AFTER = re.compile(
    r"^[^,.;]{0,40}\bevery\s+(?:\w+\s+)?(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?)\b", re.IGNORECASE)
_AGE_BEFORE = re.compile(r"\baged\s+(?:from\s+|between\s+)?$|\bages?\s+(?:of\s+)?(?:\d+\s*(?:,|and|to|-|–)\s*)*$",
                         re.IGNORECASE)
_CASUALTY_NOUN = re.compile(r"\b(?:martyrs|dead|victims|casualties|bodies|deaths|fatalities|lives|wounded|injured)$",
                            re.IGNORECASE)  # "31 martyrs and 57 injured": the 57 are not martyrs
_ZERO_BEFORE = re.compile(r"\b(?:no|not\s+(?:a\s+single|one|any)|none\s+of|zero|nobody)\s*$", re.IGNORECASE)
_SPEECH_DATE_BEFORE = re.compile(r"\b(?:said|says|told|added|announced|stated|reported|confirmed|claimed|"
                                 r"acknowledged|admitted|denied|statement|spokesman|spokeswoman)\s+(?:on\s+|late\s+|"
                                 r"early\s+)?$", re.IGNORECASE)


def casualties_in_clause(clause: str, quote: str, attribution: Attribution, dates: list[DateRef],
                         gazetteer: Gazetteer, cumulative_sentence: bool,
                         antecedent: Antecedent | None = None,
                         speaker_at: Callable[[int], Attribution | None] | None = None) -> list[Casualty]:
    """The clause's casualty figures. ``attribution`` is the clause's speaker; ``speaker_at`` (the parse) may
    name another for one figure by its offset in the clause ("Lebanon reported two dead, as Israel's military
    said it had killed a Hezbollah operative")."""
    clause_attribution = attribution
    out: list[Casualty] = []
    antecedent = antecedent if antecedent is not None else Antecedent()
    previous_category: str | None = None
    offset = quote.find(clause)
    date_spans = [(d.start - offset, d.end - offset) for d in dates] if offset >= 0 else []
    for q in _quantities(clause):
        attribution = (speaker_at(q.start) if speaker_at else None) or clause_attribution
        found = _category(clause, q)
        before, after = clause[:q.start], clause[q.end:]
        if q.text.lower() in ("a", "an") and not _one_person_counts(found, clause, q, attribution):
            continue
        if previous_category and (_LIST_NEXT.search(before[-20:]) and not _close_cue(found)):
            found = (previous_category, _np_after(after))  # "killed 47 soldiers and 84 fighters"
        if found is None and previous_category and (_BREAKDOWN.search(before[-60:]) or _OF_THEM.match(after)):
            found = (previous_category, _np_after(after))  # "..., including two commanders", "six of them women"
        if found is None and (among := _AMONG_THE.search(before[-40:])):
            found = (_cue_category(among.group(1)), _np_after(after))  # "Among the injured are three children"
        if found is None:
            continue
        category, np = found
        previous_category = category
        if _is_trap(clause, q, np) or _ZERO_BEFORE.search(before[-25:]):
            continue
        if _RATE_AFTER.match(after[:60]) or _AGE_BEFORE.search(before[-20:]):
            continue  # "one child displaced every five seconds", "children aged from three to 17"
        if any(q.start < e and s < q.end for s, e in date_spans):
            continue  # "On March 9, a captain ..." : the 9 is a day of the month
        if _DENIAL.search(before[-80:]):
            continue
        chunk = noun_phrase(after)
        if chunk.kind == "thing":
            continue  # "captured 25 army posts", "two tanks were destroyed": counts of things
        if category == "displaced" and _COMBATANTS.search(chunk.text):
            continue  # "many troops fled": a retreat, not displacement
        if chunk.kind == "anaphor" and antecedent.quote != quote and (
                q.qualifier == "vague" or category == "captured"):
            continue  # "the condition of some of them", "seized seven others" (vehicles): nobody counted here
        victim_text, victim = _victim_of(chunk, attribution, gazetteer, antecedent, quote, q.count)
        cumulative = cumulative_sentence
        date = None if cumulative else incident_date(dates, quote)
        is_subset = bool(_BREAKDOWN.search(before[-60:]) or _OF_THEM.match(after) or _AMONG_THE.search(before[-40:]))
        # the place the figure is about: the first named after it in the clause ("32 killed in El-Fasher and 25
        # in Zamzam"), else the clause's, else the sentence's
        start = max(offset, 0)
        places = (gazetteer.places_within(quote, start + q.end, start + q.end + 80)
                  or gazetteer.places_within(quote, start, start + len(clause)) or gazetteer.places(quote))
        out.append(Casualty(
            category=category,  # type: ignore[arg-type]
            count=q.count, qualifier=q.qualifier, count_high=q.count_high,  # type: ignore[arg-type]
            quote=quote, victim=victim, victim_text=victim_text,
            claimant=attribution.claimant, claimant_text=attribution.text,
            date=date, location=places[0].canonical if places else None,
            cumulative=cumulative, breakdown=is_subset,
        ))
    return out


def casualty_figures(clause: str) -> list[Quantity]:
    """The clause's quantities that a casualty cue governs: where attribution is anchored in the parse."""
    return [q for q in find_quantities(clause) if _category(clause, q) is not None]


_ARTICLE = re.compile(r"(?<![\w-])(?:a|an)\s+(?=[\w\"“])", re.IGNORECASE)


def _quantities(clause: str) -> list[Quantity]:
    """The clause's quantities, and "a/an" before one person ("a soldier was killed", "killing a 76-year-old
    woman") as the figure 1, the way the guidelines count them."""
    found = find_quantities(clause)
    for m in _ARTICLE.finditer(clause):
        chunk = noun_phrase(clause[m.end() - 1:], max_words=4)
        if chunk.kind == "person" and singular_person(chunk.head) and \
                not any(q.start <= m.start() < q.end for q in found):
            found.append(Quantity(1, "exact", None, m.start(), m.end() - 1, m.group(0).strip()))
    return sorted(found, key=lambda q: q.start)


_ASIDE = re.compile(r"^((?:\s*[\w'’-]+){1,4}?)\s*[—–]\s*[^—–]{1,60}?\s*[—–](?=\s*\w)")
_COMBINED = re.compile(r"^\s*(?:or|and/or|/)\s+(?:wounded|injured|hurt|killed|dead|died)\b", re.IGNORECASE)
_OTHER_FIGURE = re.compile(r",\s+(?:\w+\s+)?(?:has|have|had|holds?|held|is|are|was|were)\b", re.IGNORECASE)
_ENUMERATION = re.compile(r"^\s+[\w'’-]+(?:\s+[\w'’-]+)?\s*(?:,|and\b|&)", re.IGNORECASE)


def _one_person_counts(found: tuple[str, str] | None, clause: str, q: Quantity, attribution: Attribution) -> bool:
    """Whether "a/an <person>" is a figure of one: only with its own cue ("a soldier was killed"), not as one
    "among those detained", not for displacement (anecdote, not a count), and never inside the attribution
    ("according to two sources and a teacher")."""
    if found is None or found[0] == "displaced" or re.search(r"\bamong\b", clause[q.end:q.end + 40]):
        return False
    if _ENUMERATION.match(clause[q.end:q.end + 40]):
        return False  # "a father and son were killed": two people, not a figure of one
    speaker = attribution.text
    return not (speaker and speaker in clause[q.start:q.start + len(speaker) + 4])


def _victim_of(chunk: NounPhrase, attribution: Attribution, gazetteer: Gazetteer, antecedent: Antecedent,
               quote: str, count: int | None) -> tuple[str, str | None]:
    """Victim text (whole words) and side. Anaphors take the people just counted; a possessive takes the
    speaker's side; a phrase that names no side keeps none. Updates ``antecedent``."""
    anaphoric = chunk.kind == "anaphor" or (chunk.partitive and chunk.head in (
        "dead", "wounded", "injured", "victims", "casualties", "killed", "deceased"))
    if anaphoric and antecedent.victim_text:
        if chunk.text and antecedent.victim_text not in ("people", "person"):  # "11 others (Pakistani soldier)"
            return f"{chunk.text} ({_bare(antecedent.victim_text)})", antecedent.victim
        return antecedent.victim_text, antecedent.victim  # "four of them": the people just counted
    if not chunk.text and antecedent.quote == quote and antecedent.victim_text and \
            not _CASUALTY_NOUN.search(antecedent.victim_text):
        return antecedent.victim_text, antecedent.victim  # "left 23 of its soldiers dead and another 29 injured"
    text = chunk.text
    if not text:
        # "kills 43", "the death toll rose to 45": the text counts people without naming them
        text = "person" if count == 1 else "people"
    victim = _victim(text, attribution, gazetteer) if chunk.possessive or text not in ("people", "person") else None
    if text not in ("people", "person") or antecedent.quote != quote:
        antecedent.victim, antecedent.victim_text, antecedent.quote = victim, text, quote
    return text, victim


def _category(clause: str, q: Quantity) -> tuple[str, str] | None:
    """The casualty category governing ``q`` and the noun phrase naming the people, or None."""
    before, after = clause[:q.start], clause[q.end:]
    active = _ACTIVE_BEFORE.search(before[-60:])
    if active:
        cue = active.group("cue")
        for pattern, category in _ACTIVE_COMPILED:
            if pattern.fullmatch(cue):
                np = _np_after(after)
                if category == "killed" and cue.lower() in ("left", "leaving"):
                    forward = _FORWARD.match(after[:FORWARD_WINDOW])
                    if not forward:
                        return None
                    return _cue_category(forward.group("cue")), forward.group("np")
                if category == "captured" and cue.lower() in ("took", "taken", "seized", "seizing", "captured",
                                                               "capturing", "captures") and not _people(np):
                    return None
                if cue.lower().startswith(("hurt",)) and not _people(np):
                    return None
                return category, np
    if _TOLL_BEFORE.search(before[-90:]):
        return "killed", ""
    if _LIVES_BEFORE.search(before[-30:]) and noun_phrase(after).head == "lives":
        return "killed", ""  # "claimed more than 2,000 lives", "cost millions of lives"
    if _FORCED_BEFORE.search(before[-30:]) and _FLEE_AFTER.match(after[:FORWARD_WINDOW]):
        return "displaced", _np_after(after)  # "forced 1.5 million people to flee", "sending 30,000 fleeing"
    for pattern, category in _NOUN_OF_RE:
        if pattern.search(before[-40:]):
            return category, _np_after(after)
    # an aside set off by dashes stands outside the sentence: "five people—including three civilians—were
    # killed", "at least 30 people – mostly women – died"
    after = _ASIDE.sub(r"\1 ", after[:FORWARD_WINDOW + 80], count=1)
    forward = _FORWARD.match(after[:FORWARD_WINDOW])
    if forward:
        np = forward.group("np")
        if _NOT_PEOPLE.search(np) and not _people(np):
            return None
        if _OTHER_FIGURE.search(np) and find_quantities(np):
            return None  # "holds about 800 students, still has about 400 students missing": the cue is the 400's
        category = _cue_category(forward.group("cue"))
        if _COMBINED.match(after[forward.end():forward.end() + 30]):
            return None  # "were killed or wounded": a combined figure, in no one category
        if category == "captured" and forward.group("cue").lower() in ("seized",) and not _people(np):
            return None
        if category == "displaced" and forward.group("cue").lower() == "refugees" and np.strip():
            return None
        return category, np
    return None


def _close_cue(found: tuple[str, str] | None) -> bool:
    """A cue right after the figure's own noun phrase ("and another 29 injured") outranks the list's."""
    return found is not None and len(found[1].split()) <= 3 and " and " not in f" {found[1]} "


def _cue_category(cue: str) -> str:
    cue = re.sub(r"\s+", " ", cue)
    for pattern, category in _CUE_COMPILED:
        if pattern.match(cue):
            return category
    return "killed"


def _people(np: str) -> bool:
    return bool(_PEOPLE_HEAD.search(np))


def _np_after(after: str) -> str:
    m = re.match(r"^((?:\s+(?!(?:in|on|at|near|during|after|before|and|while|when|as|since|from|with|"
                 r"across|including|over|by|last|this|that|who|which|the\s+previous)\b)[\w'’\-]+){0,6})", after,
                 re.IGNORECASE)
    return m.group(1) if m else ""


def _is_trap(clause: str, q: Quantity, np: str) -> bool:
    before = clause[:q.start]
    after = clause[q.end:q.end + 20]
    if q.count is not None and _YEARISH.match(q.text.strip()) and (
            not _people(np) or re.search(r"\b(?:in|since|by|until|from|during|of|early|late|mid-?)\s*$", before,
                                         re.IGNORECASE)):
        return True
    if _MONEY_BEFORE.search(before):
        return True
    if re.match(r"\s*(?:%|per\s*cent|percent|-year-old|-years?-old|years?\s+old|-strong|th\b|st\b|nd\b|rd\b|:\d)",
                after, re.IGNORECASE):
        return True
    if re.search(r"\b(?:no\.|number|aged|age|of\s+the|brigade|division|battalion|regiment|corps|unit|"
                 r"route|highway|kilometre|km|mile|article|resolution|chapter|page|flight)\s*$",
                 before, re.IGNORECASE):
        return True
    if not np.strip():
        return False
    return bool(_NOT_PEOPLE.match(np.strip())) and not _people(np)


def _bare(victim_text: str) -> str:
    return re.sub(r"^(?:of\s+)?(?:the\s+|its\s+|their\s+|our\s+)?(?:own\s+)?", "", victim_text, flags=re.IGNORECASE)


def _victim(victim_text: str, attribution: Attribution, gazetteer: Gazetteer) -> str | None:
    actors = gazetteer.actors(victim_text)
    side = actors[0].canonical if actors else None
    if side is None and _POSSESSIVE.search(victim_text):
        side = attribution.subject or attribution.claimant
    if re.search(r"\bcivilians?\b", victim_text, re.IGNORECASE):
        return f"civilians ({side})" if side else "civilians"
    return side


def incident_date(dates: list[DateRef], quote: str) -> str | None:
    """The day the incident happened: a day-precise point in the sentence, not the day of a statement
    ("the army said on Monday" dates the statement)."""
    for ref in dates:
        if ref.value and ref.precision == "day" and not ref.span and \
                not _SPEECH_DATE_BEFORE.search(quote[max(0, ref.start - 40):ref.start]):
            return ref.value
    return None
