"""Size limits of the code base: no module over 400 lines, no function over 60.

Small modules and short functions are what keeps the code easy to see and to change
(issue 12). The limits hold for everything under ``src/`` (database migrations
excepted: a migration is a frozen record, not code anyone edits), ``bench/`` and
``examples/``. ``ALLOWLIST`` names today's offenders that are being split; each entry
allows exactly its current size, so it cannot grow, and an entry that no longer offends
must be removed (the test says so), until the list is empty.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKED = ("src", "bench", "examples")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60

ALLOWLIST: dict[str, int] = {
    # "path" is a module's line count, "path:Qualified.name" a function's.
}


def _modules() -> Iterator[Path]:
    for top in CHECKED:
        for path in sorted((ROOT / top).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if "migrations" in relative.parts or any(p.startswith(".") for p in relative.parts):
                continue
            yield path


def _functions(tree: ast.AST, prefix: str = "") -> Iterator[tuple[str, int]]:
    """(qualified name, lines from ``def`` to the last line) of every function, nested
    ones included (``outer.inner``)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            name = f"{prefix}{node.name}"
            yield name, (node.end_lineno or node.lineno) - node.lineno + 1
            yield from _functions(node, f"{name}.")
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node, f"{prefix}{node.name}.")
        else:
            yield from _functions(node, prefix)


def measured() -> dict[str, tuple[int, int]]:
    """Every module and function over its limit: key -> (size, limit)."""
    sizes: dict[str, tuple[int, int]] = {}
    for path in _modules():
        relative = path.relative_to(ROOT).as_posix()
        text = path.read_text("utf-8")
        lines = len(text.splitlines())
        if lines > MAX_MODULE_LINES:
            sizes[relative] = (lines, MAX_MODULE_LINES)
        for name, length in _functions(ast.parse(text, filename=relative)):
            if length > MAX_FUNCTION_LINES:
                sizes[f"{relative}:{name}"] = (length, MAX_FUNCTION_LINES)
    return sizes


@pytest.fixture(scope="module")
def offenders() -> dict[str, tuple[int, int]]:
    return measured()


def test_no_module_or_function_exceeds_its_limit(offenders: dict[str, tuple[int, int]]) -> None:
    over = [
        f"{key}: {size} lines (limit {limit})"
        for key, (size, limit) in sorted(offenders.items())
        if size > ALLOWLIST.get(key, limit)
    ]
    assert not over, "split these (modules <= 400 lines, functions <= 60):\n" + "\n".join(over)


def test_the_allowlist_names_only_current_offenders(
    offenders: dict[str, tuple[int, int]],
) -> None:
    stale = sorted(key for key in ALLOWLIST if key not in offenders)
    assert not stale, "now within the limits, remove from ALLOWLIST: " + ", ".join(stale)


def test_functions_are_found_by_qualified_name() -> None:
    tree = ast.parse(
        "def f():\n    def g():\n        pass\n\nclass C:\n    async def m(self):\n"
        "        return 1\n"
    )
    assert dict(_functions(tree)) == {"f": 3, "f.g": 2, "C.m": 2}
