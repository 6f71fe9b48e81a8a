"""Attribution from the dependency parse: who asserts the figure at a given place in a sentence.

A careful reader finds the speaker by the sentence's structure, not by the words next to the figure. From the
figure's token we walk up its heads; the first report verb (say, claim, tell, report, announce, ...) whose
complement holds the figure gives the claimant, so in a nested report ("X reported that Y said ...") the inner
speaker Y wins. Along the way "according to X" and "citing X" attached to the clause name the speaker too.

- the speaker is the verb's subject; for a passive ("was quoted as saying", "was reported by X") the passive
  subject or the agent; for a participle ("..., saying", "a statement claiming") the subject of the verb or
  noun it hangs from;
- a trailing report ("58 soldiers were killed, the Taliban said") is the same walk: the parser makes the
  figure's clause the complement of "said", or hangs "said" beside it as a parataxis;
- the phrase is the subject's words without relative clauses and asides; an apposed proper name is kept
  ("a spokesman, Zabihullah Mujahid").

This module only finds the words; ``_attribution.make_attribution`` decides whether they name an actor, a
pronoun to resolve, a news agency that merely passes a figure on, or nobody.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.extract._attribution import ORG_HEADS
from bot.extract._chunks import noun_class

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token

_REPORT = frozenset({
    "say", "tell", "report", "claim", "announce", "state", "confirm", "add", "insist", "maintain", "estimate",
    "count", "record", "document", "allege", "write", "post", "note", "declare", "reveal", "disclose", "warn",
    "concede", "admit", "acknowledge", "accuse", "indicate", "show", "quote", "tweet", "publish", "assert",
    "explain", "describe", "recount", "testify", "inform", "brief", "put", "raise", "revise", "update", "lower",
    "tally", "list", "cite", "suggest",
})
# these report only with a toll as their object: "put the toll at", "raised the death toll to"
_TOLL_VERBS = frozenset({"put", "raise", "revise", "update", "lower", "list"})
_TOLL_NOUNS = frozenset({"toll", "number", "figure", "count", "tally", "estimate"})
_PRONOUNS = frozenset({"it", "he", "she", "they", "we", "i"})
_SUBJECT = frozenset({"nsubj", "nsubjpass", "csubj"})
_DROP = frozenset({"relcl", "acl", "advcl", "punct", "appos", "prep", "cc", "conj", "parataxis", "advmod"})
_CLIMB = frozenset({"advcl", "xcomp", "conj", "acl", "pcomp", "ccomp"})  # a participle hangs from these


def speaker_at(doc: Doc, char: int) -> str | None:
    """The words naming who asserts the figure that starts at ``char`` in ``doc``, or None when the parse
    names nobody. "" means a report verb was found whose speaker is not named (a passive "it was reported")."""
    token = _token_at(doc, char)
    if token is None:
        return None
    previous: Token | None = None
    node = token
    pronoun: str | None = None  # "MONUSCO said it had counted 43 deaths": "it" is the outer speaker
    for _ in range(40):  # a parse is a tree; the bound only guards against a malformed one
        if previous is not None and _is_report(node) and _governs(node, previous):
            # "the Saba news agency said ..., citing the health ministry": the ministry speaks through the agency;
            # "X said ..., according to the agency": X speaks, the agency passes it on
            who = _cited(node) or _subject_of(node)
            if who is not None and who.lower() in _PRONOUNS:
                pronoun = pronoun or who
            elif who is not None:
                return who
        found = _named_by_children(node, previous)
        if found is not None:
            return found
        if node.head is node:
            break
        previous, node = node, node.head
    # "58 soldiers were killed, the Taliban said": a report verb hung beside the figure's clause
    for child in node.children:
        if child.dep_ == "parataxis" and _is_report(child) and token.i < child.left_edge.i:
            who = _subject_of(child)
            if who is not None:
                return who
    return pronoun


def _token_at(doc: Doc, char: int) -> Token | None:
    for token in doc:
        if token.idx <= char < token.idx + len(token.text) or token.idx >= char:
            return token
    return None


# The report verb governs the figure only through its complement: "said [58 soldiers were killed]", "put the
# toll at [23]", "counted [30 bodies]". A figure in its subject ("the aunt of two girls told") or in an adjunct
# ("said from the office, where dozens have taken refuge") is the reporter's narration, not the speaker's claim.
_COMPLEMENT = frozenset({"ccomp", "xcomp", "dobj", "parataxis", "advcl", "conj", "oprd", "attr", "dep", "acomp"})


def _governs(verb: Token, child: Token) -> bool:
    return child.dep_ in _COMPLEMENT or (child.dep_ == "prep" and verb.lemma_.lower() in _TOLL_VERBS)


def _is_report(token: Token) -> bool:
    lemma = token.lemma_.lower()
    if token.pos_ not in ("VERB", "AUX") or lemma not in _REPORT:
        return False
    if lemma in _TOLL_VERBS:
        return any(c.dep_ == "dobj" and c.lemma_.lower() in _TOLL_NOUNS for c in token.children)
    return True


def _named_by_children(node: Token, previous: Token | None) -> str | None:
    """ "according to X" and "citing X" attached to this clause."""
    for child in node.children:
        if previous is not None and child.i == previous.i:
            continue
        text = child.lower_
        if text == "according":
            to = next((c for c in child.children if c.lower_ == "to"), None)
            obj = next((c for c in to.children if c.dep_ == "pobj"), None) if to is not None else None
            if obj is not None:
                return phrase(obj)
    return _cited(node)


def _cited(verb: Token) -> str | None:
    for child in verb.children:
        if child.lemma_.lower() == "cite" and child.dep_ in ("advcl", "xcomp", "prep", "acl"):
            obj = next((c for c in child.children if c.dep_ in ("dobj", "pobj")), None)
            if obj is not None:
                return phrase(obj)
    return None


def _subject_of(verb: Token, depth: int = 0) -> str | None:
    for child in verb.children:
        if child.dep_ in ("nsubj", "csubj"):
            return phrase(child)
    for child in verb.children:
        if child.dep_ == "agent":  # "was reported by the ministry"
            obj = next((c for c in child.children if c.dep_ == "pobj"), None)
            if obj is not None:
                return phrase(obj)
    for child in verb.children:
        if child.dep_ == "nsubjpass":  # "he was quoted as saying"
            return phrase(child)
    if depth < 2 and verb.dep_ == "conj":
        # "X said A and confirmed B": the subject of the report verb coordinated with this one, past any verb
        # the parser wrongly coordinated it with ("weapons had fallen ... and confirmed")
        head = verb.head
        while head.dep_ in ("conj", "ccomp", "xcomp") and not _is_report(head) and head.head is not head:
            head = head.head
        return _subject_of(head, depth + 1) if _is_report(head) else None
    if depth < 2 and verb.dep_ in _CLIMB and verb.head is not verb:
        head = verb.head
        if head.pos_ in ("NOUN", "PROPN") and verb.dep_ == "acl":
            # "a statement claiming ...": the statement's own verb's subject, else the statement itself
            return _subject_of(head.head, depth + 1) if head.head is not head else phrase(head)
        return _subject_of(head, depth + 1)
    return "" if any(c.dep_ in {"nsubjpass", "auxpass"} for c in verb.children) else None


def phrase(token: Token) -> str | None:
    """The words of a noun phrase, without relative clauses and asides; an apposed proper name is kept
    ("a spokesman, Zabihullah Mujahid"; "Police Col. Mohamed Hassan"). None for a phrase without a noun or
    pronoun (a fragment such as a lone "The")."""
    if token.tag_ == "DT":  # "The, also known as the TTP, claimed ...": a word lost from the page
        known = next((c for c in token.children if c.dep_ == "acl" and c.lemma_ == "know"), None)
        prep = next((c for c in known.children if c.lower_ == "as"), None) if known is not None else None
        named = next((c for c in prep.children if c.dep_ == "pobj"), None) if prep is not None else None
        return phrase(named) if named is not None else None
    if token.pos_ == "NOUN" and not _speaking_noun(token):
        return None  # "a significant amount of weapons had fallen ...": a thing, not a speaker
    kept = _kept(token)
    appos = next((c for c in token.children if c.dep_ == "appos" and any(
        t.pos_ == "PROPN" for t in c.subtree)), None)
    if appos is not None and appos.left_edge.i == token.i + 1:
        kept += _kept(appos)  # no comma between: one name with its title
        appos = None
    if token.pos_ not in ("NOUN", "PROPN", "PRON") and appos is not None:
        kept, appos = _kept(appos), None  # "The, also known as the TTP," (a word lost from the page)
    if not any(t.pos_ in ("NOUN", "PROPN", "PRON") for t in kept):
        return None
    words = _words(kept)
    if appos is not None and token.pos_ != "PROPN":
        return f"{words}, {_words(_kept(appos))}"
    return words


def _speaking_noun(token: Token) -> bool:
    """A common noun that can speak: a person, an office or organisation ("residents", "the ministry"), or a
    report from one ("initial reports from a local committee")."""
    lemma = token.lemma_.lower()
    if lemma in ORG_HEADS or token.lower_ in ORG_HEADS or noun_class(lemma) == "person":
        return True
    return any(c.dep_ == "prep" and c.lower_ in ("from", "by", "of") for c in token.children)


def _words(tokens: list[Token]) -> str:
    """The tokens as the text writes them: runs of neighbours keep their own spacing ("Britain-based")."""
    out: list[str] = []
    ordered = sorted(tokens, key=lambda t: t.i)
    for token, following in zip(ordered, [*ordered[1:], None], strict=True):
        out.append(token.text)
        if following is not None:
            out.append(token.whitespace_ if following.i == token.i + 1 else " ")
    return "".join(out).strip()


def _kept(token: Token) -> list[Token]:
    keep = [token]
    for child in token.children:
        if child.dep_ == "punct" and child.text in ("-", "‐", "'", "’", "."):
            keep.append(child)  # "Britain-based", "Col."
            continue
        if child.dep_ in _DROP and not (child.dep_ == "prep" and child.lower_ in ("of", "for", "from", "by") and
                                         child.i > token.i):
            continue
        if child.dep_ in {"conj", "cc"}:
            continue
        keep.extend(_kept(child))
    return keep
