"""Places on the real-news set: precision and recall of the resolved place of casualty claims and events.

    python bench/places.py [--split dev,heldout] [--verbose]

Gold: the ``place`` of each casualty claim and event in ``tests/data/realnews/annotations/*.json`` (texts in the
git-ignored ``.cache``). A gold item is matched to the extracted fact of its kind whose sentence contains the
gold ``sentence`` (and, for claims, states the same count where one does). A resolved place is **right** when
its country matches the gold's and either its name matches the gold's with a precision no finer than the
gold's, or it is coarser and names the area the gold lies in (the gold's province, or its country).
``strict`` counts only the same name at the same precision.

- precision = right / facts matched to a gold item that were given a place (a place where the gold has none
  is wrong);
- recall = right / gold items that have a place (a claim or event not extracted at all is a miss).

Each article is extracted as the poller would for a topic of its conflict: with the countries such a topic's
keywords name (CONFLICT_COUNTRIES; ``--no-topic`` leaves them out). The last line is one JSON object.
Targets (issue 19, on the held-back part): precision ≥ 0.90, recall ≥ 0.70.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.config import load_config  # noqa: E402
from bot.extract import Extractor  # noqa: E402
from bot.extract._gazetteer import fold  # noqa: E402
from bot.model import Casualty, Event, Fact, Place  # noqa: E402

DATA = ROOT / "tests" / "data" / "realnews"
# The countries a topic following each conflict of the set would name in its keywords.
CONFLICT_COUNTRIES = {
    "colombia": ("CO",), "drc": ("CD",), "ethiopia": ("ET",), "gaza": ("PS", "IL"), "haiti": ("HT",),
    "india-pak": ("IN", "PK"), "lebanon": ("LB", "IL"), "myanmar": ("MM",), "nigeria": ("NG",),
    "pak-afg": ("PK", "AF"), "pak-militancy": ("PK",), "sahel": ("ML", "BF", "NE"), "somalia": ("SO",),
    "sudan": ("SD",), "syria": ("SY",), "ukraine": ("UA", "RU"), "yemen": ("YE",),
}
RANK = {"town": 3, "district": 2, "province": 1, "country": 0}


def norm(text: str) -> str:
    return " ".join(re.sub(r"[“”\"'’‘]", "", text).split()).casefold()


def right(place: Place, gold: dict[str, str | None], *, strict: bool = False) -> bool:
    if place.country != gold["country"]:
        return False
    same_name = fold(place.name) == fold(str(gold["name"]))
    if strict:
        return same_name and place.precision == gold["precision"]
    if RANK[place.precision] > RANK[str(gold["precision"])]:
        return False  # finer than the gold: a guess
    if same_name:
        return True
    if place.precision == "country":
        return True  # the gold lies in this country
    return place.precision == "province" and gold.get("admin1") is not None and \
        fold(place.name) == fold(str(gold["admin1"]))


def match(items: list[dict[str, object]], facts: list[Fact], kind: type) -> list[Fact | None]:
    """Each gold item's fact: same kind, its sentence in the fact's quote, the same count where stated."""
    pool = [f for f in facts if isinstance(f, kind)]
    used: set[int] = set()
    out: list[Fact | None] = []
    for item in items:
        sentence = norm(str(item["sentence"]))
        found = [i for i, f in enumerate(pool) if i not in used and sentence in norm(f.quote)]
        if kind is Casualty:
            same = [i for i in found if getattr(pool[i], "count", None) == item.get("count")
                    and getattr(pool[i], "category", None) == item.get("category")]
            found = same or found
        if found:
            used.add(found[0])
            out.append(pool[found[0]])
        else:
            out.append(None)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", default="dev,heldout", help="comma-separated splits (default: dev,heldout)")
    parser.add_argument("--verbose", action="store_true", help="print every wrong or missed place")
    parser.add_argument("--no-topic", action="store_true", help="extract without the topic's countries")
    args = parser.parse_args()
    splits = set(args.split.split(","))
    config = load_config(ROOT / "config.toml")
    extractor = Extractor(config.actors, config.places)
    gold_places = placed = right_n = strict_n = wrong_null = articles = 0
    for path in sorted((DATA / "annotations").glob("*.json")):
        gold = json.loads(path.read_text(encoding="utf-8"))
        if gold.get("split") not in splits:
            continue
        cache = DATA / ".cache" / f"{gold['id']}.txt"
        if not cache.exists():
            print(f"missing text: {cache.name} (rebuild the cache: tests/data/realnews/README.md)")
            continue
        articles += 1
        published = datetime.fromisoformat(gold["published"]) if gold.get("published") else None
        countries = () if args.no_topic else CONFLICT_COUNTRIES.get(gold.get("conflict", ""), ())
        facts = extractor.extract(cache.read_text(encoding="utf-8"), published=published, countries=countries)
        for key, kind in (("casualties", Casualty), ("events", Event)):
            items = gold.get(key, [])
            for item, fact in zip(items, match(items, facts, kind), strict=True):
                if "place" not in item:
                    continue
                want = item["place"]
                got = getattr(fact, "place", None) if fact is not None else None
                gold_places += want is not None
                placed += got is not None
                ok = got is not None and want is not None and right(got, want)
                right_n += ok
                strict_n += got is not None and want is not None and right(got, want, strict=True)
                wrong_null += got is not None and want is None
                if args.verbose and not ok and (got is not None or want is not None):
                    shown = f"{got.name} ({got.precision}, {got.country})" if got else "—"
                    wanted = f"{want['name']} ({want['precision']}, {want['country']})" if want else "—"
                    missing = " [fact not extracted]" if fact is None else ""
                    print(f"{gold['id']} {key[0]}: got {shown}, gold {wanted}{missing}  «{item['sentence']}»")
    precision = right_n / placed if placed else 0.0
    recall = right_n / gold_places if gold_places else 0.0
    print(f"{articles} articles ({args.split}): {gold_places} gold places, {placed} places given, {right_n} right "
          f"({strict_n} with the same name and precision), {wrong_null} where the gold has none")
    print(f"precision {precision:.3f}, recall {recall:.3f}")
    print(json.dumps({"place_precision": round(precision, 3), "place_recall": round(recall, 3),
                      "place_strict_right": strict_n, "gold_places": gold_places, "placed": placed,
                      "articles": articles, "target_precision": 0.9, "target_recall": 0.7}))


if __name__ == "__main__":
    main()
