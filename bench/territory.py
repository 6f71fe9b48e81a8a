"""Territory claims against the real-news annotations (the shared scorer ignores them): precision and recall.

    python bench/territory.py [--split dev|heldout] [--show] [--quick]

A predicted claim matches a gold one when the action and the count agree and the gold sentence overlaps the
quote; matching is one-to-one. Gold items marked optional count neither way. ``--show`` prints every miss and
every false claim. ``--quick``: the split's first 12 articles. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
from datetime import date

from _realnews import ROOT, any_alias, groups, load, overlaps, text_of

from bot.config import load_config
from bot.extract import Extractor
from bot.model import Territory


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", default="dev", choices=("dev", "heldout", "heldout2"))
    parser.add_argument("--show", action="store_true")
    parser.add_argument("--quick", action="store_true", help="the split's first 12 articles")
    args = parser.parse_args()
    config = load_config(ROOT / "config.toml")
    extractor = Extractor(config.actors, config.places)
    n_pred = tp = neutral = found = required = by_ok = claimant_ok = 0
    for article in load(args.split)[:12 if args.quick else None]:
        gold = article.get("territory", [])
        root = groups(gold)
        req = {root[i] for i, g in enumerate(gold) if not gold[root[i]].get("optional")}
        required += len(req)
        facts = [f for f in extractor.extract(text_of(article), published=date.fromisoformat(article["published"]))
                 if isinstance(f, Territory)]
        n_pred += len(facts)
        used: set[int] = set()
        hit_groups: set[int] = set()
        for f in facts:
            match = next((i for i, g in enumerate(gold) if i not in used and g["action"] == f.action
                          and g.get("count") == f.count and overlaps(g["sentence"], f.quote)), None)
            if match is None:
                if args.show:
                    print(f"FALSE {article['id']}: {f.count} {f.object} {f.action} «{f.quote[:160]}»")
                continue
            used.add(match)
            g = gold[match]
            if root[match] not in req:
                neutral += 1
                continue
            tp += 1
            hit_groups.add(root[match])
            by_ok += not g.get("by") or any_alias(g["by"], f.by_side)
            claimant_ok += any_alias(g["claimant"], f.claimant, f.claimant_text) if g.get("claimant") else \
                not f.claimant
        found += len(hit_groups)
        if args.show:
            for r in sorted(req - hit_groups):
                g = gold[r]
                print(f"MISS  {article['id']}: {g.get('count')} {g['object']} {g['action']} «{g['sentence']}»")
    precision = tp / (n_pred - neutral) if n_pred - neutral else 1.0
    recall = found / required if required else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    print(f"territory ({args.split}): {required} required claims, {n_pred} predicted, {tp} right, "
          f"{neutral} optional")
    print(json.dumps({"split": args.split, "precision": round(precision, 3), "recall": round(recall, 3),
                      "f1": round(f1, 3), "by_accuracy": round(by_ok / tp, 3) if tp else None,
                      "claimant_accuracy": round(claimant_ok / tp, 3) if tp else None}))


if __name__ == "__main__":
    main()
