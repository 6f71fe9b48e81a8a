#!/usr/bin/env python3
"""The real-news development set: published articles, kept out of the repository.

Only URLs, queries and annotations are committed (``annotations/<id>.json``, one file per article).
Article texts are third-party: they live in the git-ignored ``.cache/`` folder, rebuilt from saved
responses of the stored-pages corpus (the search tool's ``pages`` corpus; a result's ``excerpt`` is
the opening of the page, and that opening is the article text we annotate).

    python3 tests/data/realnews/realnews.py rebuild [--dump DIR]   # responses -> .cache/<id>.txt, fingerprints checked
    python3 tests/data/realnews/realnews.py merge                  # annotations -> gold.json, heldout.json, urls.tsv
    python3 tests/data/realnews/realnews.py fingerprint FILE...     # text_sha256_norm of a text
    python3 tests/data/realnews/realnews.py missing                # which cached texts are absent
    python3 tests/data/realnews/realnews.py save ID URL QUERY      # record .cache/ID.txt as a saved response

A *dump* is a folder of JSON files, each a pages-corpus response as the search tool returns it
(``{"query": ..., "results": [{"url": ..., "excerpt": ...}, ...]}``) or one result of it
(``{"url": ..., "excerpt": ...}``). To rebuild on a new machine: run each article's ``query`` (in
``urls.tsv``) against the pages corpus, save the responses into ``.cache/raw/``, then ``rebuild``.
A text whose fingerprint differs from the annotated one is reported and not written: annotations would
not line up with it.

Standard library only; the normalisation is the shared scorer's ``norm()``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
import sys
import unicodedata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ANNOTATIONS = HERE / "annotations"
CACHE = HERE / ".cache"
RAW = CACHE / "raw"

_TRANS = {
    0x2018: "'", 0x2019: "'", 0x201A: "'", 0x201B: "'", 0x2032: "'", 0x00B4: "'", 0x0060: "'",
    0x201C: '"', 0x201D: '"', 0x201E: '"', 0x201F: '"', 0x2033: '"', 0x00AB: '"', 0x00BB: '"',
    0x2010: "-", 0x2011: "-", 0x2012: "-", 0x2013: "-", 0x2014: "-", 0x2015: "-", 0x2212: "-",
    0x00A0: " ", 0x2009: " ", 0x202F: " ", 0x200B: "", 0x2026: "...",
}


def norm(s: str) -> str:
    s = unicodedata.normalize("NFKC", s).translate(_TRANS).casefold()
    return re.sub(r"\s+", " ", s).strip()


def fingerprint(text: str) -> str:
    return hashlib.sha256(norm(text).encode("utf-8")).hexdigest()[:16]


def load_annotations() -> list[dict]:
    out = []
    for path in sorted(ANNOTATIONS.glob("*.json")):
        article = json.loads(path.read_text(encoding="utf-8"))
        if article.get("id") != path.stem:
            sys.exit(f"{path.name}: id {article.get('id')!r} differs from the file name")
        out.append(article)
    return out


def _responses(dump: Path) -> dict[str, str]:
    """URL -> excerpt, from every saved response in the dump."""
    found: dict[str, str] = {}
    for path in sorted(dump.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        results = data.get("results", [data]) if isinstance(data, dict) else data
        for r in results:
            if isinstance(r, dict) and r.get("url") and isinstance(r.get("excerpt"), str):
                found.setdefault(r["url"], r["excerpt"])
    return found


def rebuild(dump: Path) -> int:
    responses = _responses(dump)
    bad = 0
    for article in load_annotations():
        excerpt = responses.get(article["url"])
        target = CACHE / f"{article['id']}.txt"
        if excerpt is None:
            print(f"missing  {article['id']}: no saved response for {article['url']} (query: {article['query']!r})")
            bad += 1
            continue
        if fingerprint(excerpt) != article["text_sha256_norm"]:
            print(f"changed  {article['id']}: the corpus text differs from the annotated one; not written")
            bad += 1
            continue
        CACHE.mkdir(exist_ok=True)
        target.write_text(excerpt, encoding="utf-8")
    print(f"{len(load_annotations()) - bad} texts in {CACHE}, {bad} missing or changed")
    return 1 if bad else 0


_GOLD_KEYS = ("id", "url", "query", "published", "published_estimated", "published_note", "text_sha256_norm",
              "casualties", "events")


def merge() -> int:
    articles = load_annotations()
    for split, name in (("dev", "gold.json"), ("heldout", "heldout.json"), ("heldout2", "heldout2.json")):
        chosen = [{k: a[k] for k in _GOLD_KEYS if k in a} | {"topic": a["conflict"], "territory": a.get("territory", [])}
                  for a in articles if a["split"] == split]
        (HERE / name).write_text(json.dumps(chosen, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"{name}: {len(chosen)} articles")
    with (HERE / "urls.tsv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
        writer.writerow(["id", "split", "conflict", "style", "published", "url", "query"])
        for a in articles:
            writer.writerow([a["id"], a["split"], a["conflict"], a.get("style", ""), a["published"], a["url"],
                             a["query"]])
    print(f"urls.tsv: {len(articles)} articles, {len({a['conflict'] for a in articles})} conflicts")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("rebuild")
    p.add_argument("--dump", type=Path, default=RAW)
    sub.add_parser("merge")
    sub.add_parser("missing")
    p = sub.add_parser("save", help="record .cache/ID.txt as the saved corpus response for URL")
    p.add_argument("id")
    p.add_argument("url")
    p.add_argument("query")
    p = sub.add_parser("fingerprint")
    p.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args()
    if args.command == "rebuild":
        return rebuild(args.dump)
    if args.command == "merge":
        return merge()
    if args.command == "missing":
        absent = [a["id"] for a in load_annotations() if not (CACHE / f"{a['id']}.txt").is_file()]
        print("\n".join(absent) or "none missing")
        return 1 if absent else 0
    if args.command == "save":
        text = (CACHE / f"{args.id}.txt").read_text(encoding="utf-8")
        RAW.mkdir(parents=True, exist_ok=True)
        response = {"corpus": "pages", "query": args.query, "results": [{"url": args.url, "excerpt": text}]}
        (RAW / f"{args.id}.json").write_text(json.dumps(response, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"{fingerprint(text)}  saved {RAW / (args.id + '.json')}")
        return 0
    for f in args.files:
        print(f"{fingerprint(f.read_text(encoding='utf-8'))}  {f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
