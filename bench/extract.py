"""Extraction speed: articles per second on one core over the development set.

    python bench/extract.py [--seconds 3] [--quick]

The last line is one JSON object with ``articles_per_s`` (target ≥ 30 with the English pipeline: issue 16).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.config import load_config  # noqa: E402
from bot.extract import Extractor  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0, help="measure for at least this long")
    parser.add_argument("--quick", action="store_true", help="measure for 0.3 s")
    args = parser.parse_args()
    if args.quick:
        args.seconds = 0.3
    data = ROOT / "tests" / "data" / "articles"
    gold = json.loads((data / "gold.json").read_text())
    articles = [((data / f"{g['id']}.txt").read_text(), datetime.fromisoformat(g["published"])) for g in gold]
    config = load_config(ROOT / "config.toml")
    extractor = Extractor(config.actors, config.places)
    for text, published in articles:  # warm-up: compiled patterns, imports
        extractor.extract(text, published=published)
    done = facts = 0
    started = time.perf_counter()
    while time.perf_counter() - started < args.seconds:
        for text, published in articles:
            facts += len(extractor.extract(text, published=published))
            done += 1
    elapsed = time.perf_counter() - started
    words = sum(len(text.split()) for text, _ in articles) / len(articles)
    rate = done / elapsed
    print(f"{done} articles ({len(articles)} distinct, {words:.0f} words on average) in {elapsed:.2f} s on one core")
    print(f"{rate:.0f} articles/s, {facts / elapsed:.0f} facts/s")
    print(json.dumps({"articles_per_s": round(rate, 1), "facts_per_s": round(facts / elapsed, 1),
                      "mean_words": round(words), "target_articles_per_s": 30}))


if __name__ == "__main__":
    main()
