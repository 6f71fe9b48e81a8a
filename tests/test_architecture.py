"""Who may import whom (style.md, "What Sitrep takes", rule 4). A small meta-test keeps the floor plan true:
extraction and briefing stay pure, storage is the only door to TinyDB, cogs stay thin."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# package (path relative to the repo root) → top-level modules it must not import
FORBIDDEN = {
    "bot/extract": {"discord", "aiohttp", "tinydb", "storage", "apscheduler"},
    "bot/briefing": {"discord", "aiohttp", "tinydb", "apscheduler"},
    "bot/model.py": {"discord", "aiohttp", "tinydb", "storage", "bot"},
    "cogs": {"tinydb", "aiohttp"},
    "bot/sources": {"discord", "tinydb"},
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def python_files(relative: str) -> list[Path]:
    target = ROOT / relative
    if target.is_file():
        return [target]
    return sorted(target.rglob("*.py"))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layer_imports(package: str) -> None:
    offences = []
    for path in python_files(package):
        for module in imported_modules(path):
            top = module.split(".")[0]
            if top in FORBIDDEN[package] and not (package == "bot/model.py" and module == "bot.model"):
                offences.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not offences, "\n".join(offences)


def test_storage_is_the_only_tinydb_importer() -> None:
    offences = [
        f"{path.relative_to(ROOT)}"
        for folder in ("bot", "cogs", "bench")
        for path in python_files(folder)
        if any(m.split(".")[0] == "tinydb" for m in imported_modules(path))
    ]
    assert not offences, f"only storage/ may import tinydb: {offences}"


def test_our_tests_do_not_import_the_shared_eval_tools() -> None:
    offences = [
        str(path.relative_to(ROOT))
        for path in python_files("tests")
        if any(m.split(".")[0] in {"score", "validate_gold", "baseline_regex"} for m in imported_modules(path))
    ]
    assert not offences


def test_matplotlib_is_drawn_only_in_the_drawing_modules() -> None:
    """Two modules draw (bot/briefing/_chart_draw.py and _map_draw.py, imported lazily by render_chart and
    render_map): the bot starts and answers text without loading matplotlib, and cogs never draw on the loop."""
    allowed = {ROOT / "bot" / "briefing" / "_chart_draw.py", ROOT / "bot" / "briefing" / "_map_draw.py"}
    offences = [
        f"{path.relative_to(ROOT)}"
        for folder in ("bot", "cogs", "storage")
        for path in python_files(folder)
        if path not in allowed and any(m.split(".")[0] in ("matplotlib", "numpy") for m in imported_modules(path))
    ]
    assert not offences, f"only the drawing modules may import matplotlib or numpy: {offences}"
