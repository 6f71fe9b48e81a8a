"""The shared scorer's figures on the real-news set, in one process, for each attribution mode (the ablation).

    python bench/realnews_score.py [--split dev|heldout|heldout2] [--mode rules|parse|both ...] [--errors]

Run by hand, not in CI: it needs the real-news texts in the git-ignored cache (rebuild them with
``python3 tests/data/realnews/realnews.py rebuild``) and the shared scorer in ``../shared/eval/score.py``.
It gives the same numbers as the scorer's command line (``python -m bot extract`` per article), without
starting a process per article, so that the three modes can be compared in a minute. Besides the scorer's
summary it prints the claimant and incident-date accuracy over matched figures, and with ``--errors`` each
matched figure whose claimant or date is wrong. Last line: one JSON object, mode → figures.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import time
from dataclasses import asdict
from datetime import date
from typing import Any

from _realnews import ROOT, load, text_of

from bot.config import load_config
from bot.extract import Extractor


def scorer() -> Any:
    path = ROOT.parent / "shared" / "eval" / "score.py"
    spec = importlib.util.spec_from_file_location("sitrep_shared_score", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"the shared scorer is not at {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def as_json(fact: Any) -> dict[str, Any]:
    data = asdict(fact)
    data["kind"] = fact.kind
    return data


def run(mode: str, articles: list[dict[str, Any]], score: Any, errors: str | None) -> dict[str, Any]:
    config = load_config(ROOT / "config.toml")
    extractor = Extractor(config.actors, config.places, mode=mode)  # type: ignore[arg-type]
    results = []
    started = time.perf_counter()
    for article in articles:
        text = text_of(article)
        facts = [as_json(f) for f in extractor.extract(text, published=date.fromisoformat(article["published"]))]
        cas = [f for f in facts if f["kind"] == "casualty"]
        evs = [f for f in facts if f["kind"] == "event"]
        r = {"id": article["id"], "casualties": score.score_casualties(score.expand_duplicates(
            article.get("casualties", []), text), cas), "events": score.score_events(
            score.expand_duplicates(article.get("events", []), text), evs)}
        results.append(r)
        for e in r["casualties"]["attribute_errors"]:
            if errors == "date" and not e["date"]:
                print(f"  {article['id'][:40]:40} {e['sentence'][:50]!r:52} date {e['gold_date']} -> {e['pred_date']}")
            if errors == "claimant" and not e["claimant"]:
                    print(f"  {article['id'][:40]:40} {e['sentence'][:50]!r:52} claimant {e['gold_claimant']} -> "
                          f"{e['pred_claimant_text']!r}")
    seconds = time.perf_counter() - started
    summary = score.aggregate(results, None)
    cas, ev = summary["casualties"], summary["events"]
    return {
        "articles": len(articles), "articles_per_s": round(len(articles) / seconds, 1),
        "figure_f1": cas["figure"]["f1"], "full_match_f1": cas["full_match"]["f1"],
        "claimant_accuracy": cas["attribute_accuracy"]["claimant"], "date_accuracy": cas["attribute_accuracy"]["date"],
        "victim_accuracy": cas["attribute_accuracy"]["victim"], "matched": cas["attribute_support"]["claimant"],
        "event_with_date_f1": ev["event_with_date"]["f1"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", action="append", choices=["dev", "heldout", "heldout2"])
    parser.add_argument("--mode", action="append", choices=["rules", "parse", "both"])
    parser.add_argument("--errors", action="store_true", help="print each matched figure with a wrong claimant")
    parser.add_argument("--date-errors", action="store_true", help="print each matched figure with a wrong date")
    args = parser.parse_args()
    score = scorer()
    out: dict[str, Any] = {}
    for split in args.split or ["dev"]:
        articles = load(split)
        for mode in args.mode or ["rules", "parse", "both"]:
            errors = "claimant" if args.errors else "date" if args.date_errors else None
            figures = run(mode, articles, score, errors)
            out[f"{split}/{mode}"] = figures
            print(f"{split:8} {mode:6} " + "  ".join(f"{k} {v}" for k, v in figures.items()))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
