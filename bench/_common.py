"""Shared by the benchmarks: the realistic fact generator of bench/storage.py, percentiles, RSS."""

from __future__ import annotations

import importlib.util
import resource
import statistics
import sys
from dataclasses import replace
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def storage_bench() -> ModuleType:
    """bench/storage.py, loaded by path (its module name would shadow the storage package)."""
    spec = importlib.util.spec_from_file_location("bench_storage", ROOT / "bench" / "storage.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bench_config(data_dir: Path):  # type: ignore[no-untyped-def]
    """config.toml with the generator's topics, so every generated fact belongs to a known topic."""
    from bot.config import load_config
    from bot.model import Topic

    names = {"pak-afg": "Pakistan–Afghanistan border"}
    topics = tuple(Topic(id=t, name=names.get(t, t.title()), keywords=(t,)) for t in storage_bench().TOPICS)
    return replace(load_config(ROOT / "config.toml"), topics=topics, data_dir=data_dir)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


__all__ = ["ROOT", "bench_config", "pct", "peak_rss_mb", "statistics", "storage_bench"]
