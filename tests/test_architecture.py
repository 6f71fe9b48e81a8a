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


# --- the house's rooms: who may reach which module (issue 18) -------------------------------------------------

HOUSE = ("bot", "cogs", "storage")  # the packages whose modules form the import graph below
DRIVERS = ("storage.tinydb", "storage.postgres")  # reached from outside storage/ only through `storage`
MAX_LINES = 500


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def house_modules() -> dict[str, Path]:
    return {module_name(p): p for folder in HOUSE for p in python_files(folder)}


def imports_of(path: Path, modules: dict[str, Path]) -> list[tuple[str, list[str], int]]:
    """Every import in ``path`` (at the top, inside functions, under TYPE_CHECKING): (module, names, line).
    Relative imports are resolved; ``from package import submodule`` names the submodule."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[str, list[str], int]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            plain = [alias.name for alias in node.names if f"{base}.{alias.name}" not in modules]
            found += [(f"{base}.{alias.name}", [], node.lineno) for alias in node.names
                      if f"{base}.{alias.name}" in modules]
            if plain:
                found.append((base, plain, node.lineno))
    return found


def where(path: Path, line: int) -> str:
    return f"{path.relative_to(ROOT)}:{line}"


def test_driver_modules_are_reached_only_through_storage() -> None:
    """bot/, cogs/ and bench/ see the store through `storage` (open_store, the drivers' classes), `storage.api`
    and `storage.copy`; a driver's modules are its own business."""
    modules = house_modules()
    offences = [
        f"{where(path, line)} imports {module}"
        for folder in ("bot", "cogs", "bench")
        for path in python_files(folder)
        for module, _, line in imports_of(path, modules)
        if any(module == d or module.startswith(d + ".") for d in DRIVERS)
    ]
    assert not offences, "a driver module is imported from outside storage/:\n" + "\n".join(offences)


def test_no_import_cycles() -> None:
    """No circle of imports in bot/, cogs/, storage/, counting lazy and TYPE_CHECKING imports too: a circle
    is two modules that cannot be understood (or split) one without the other."""
    modules = house_modules()
    edges: dict[str, dict[str, str]] = {m: {} for m in modules}  # module → imported module → where
    for name, path in modules.items():
        for imported, _, line in imports_of(path, modules):
            module = imported
            while module and module not in modules:
                module = module.rpartition(".")[0]
            if module and module != name:
                edges[name].setdefault(module, where(path, line))
    cycles = []
    for group in strongly_connected(edges):
        members = set(group)
        cycles.append("; ".join(f"{a} imports {b} ({at})" for a in sorted(group)
                                for b, at in sorted(edges[a].items()) if b in members))
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def strongly_connected(edges: dict[str, dict[str, str]]) -> list[list[str]]:
    """Tarjan's algorithm (iterative): the groups of more than one module that import each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for root, first in edges.items():
        if root in index:
            continue
        work = [(root, iter(first))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(group)
    return groups


def defined_private_names(tree: ast.AST) -> set[str]:
    """The private names a module defines: functions, classes, assignments (also to ``self._x``), arguments."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return {n for n in names if n.startswith("_")}


def test_no_module_uses_another_modules_private_names() -> None:
    """A private (`_`) name belongs to the module that defines it: no `from m import _x`, no `obj._x` for an
    `_x` the module does not define itself. A private module (`pkg._m`) is imported only within `pkg`. What
    two modules share goes in a module of its own that both import by public names."""
    modules = house_modules()
    offences = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        own = defined_private_names(tree)
        for module, names, line in imports_of(path, modules):
            for imported in names:
                if imported.startswith("_") and not imported.startswith("__"):
                    offences.append(f"{where(path, line)} imports {module}.{imported}")
            parts = module.split(".")
            for i, part in enumerate(parts):
                if part.startswith("_") and not part.startswith("__"):
                    home = ".".join(parts[:i])
                    if not (name == home or name.startswith(home + ".")):
                        offences.append(f"{where(path, line)} imports the private module {module}")
                    break
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                    and node.attr not in own
                    and not (isinstance(node.value, ast.Name) and node.value.id in {"self", "cls"})):
                offences.append(f"{where(path, node.lineno)} uses {ast.unparse(node)}")
    assert not offences, "private names used across modules:\n" + "\n".join(offences)


def test_no_file_over_500_lines() -> None:
    offences = [f"{path.relative_to(ROOT)}: {n} lines" for folder in HOUSE for path in python_files(folder)
                if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES]
    assert not offences, f"files over {MAX_LINES} lines (split them by what each part does):\n" + "\n".join(offences)
