"""Every import of every module under `app/`, read from the source (no module is executed).

Used by `tests/test_architecture.py`. Function-level imports count (a lazy import is still a
dependency); imports under `if TYPE_CHECKING:` are marked, because they never run.
`from package import Name` is followed through the package's re-exports to the module that
defines `Name`, so `from app.store import Store` is an import of `app.store.store`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app"


@dataclass(frozen=True)
class Import:
    importer: str  # module name, e.g. "app.ui.widgets.composer"
    target: str  # module (or external package) name, e.g. "app.store.records", "PySide6.QtCore"
    line: int
    type_only: bool  # under `if TYPE_CHECKING:`
    top_level: bool  # runs when the module is imported (not inside a function)

    def where(self) -> str:
        return f"{module_path(self.importer)}:{self.line}"


@cache
def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted(APP.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def module_path(name: str) -> str:
    return str(modules()[name].relative_to(ROOT))


@cache
def _tree(name: str) -> ast.Module:
    return ast.parse(modules()[name].read_text(encoding="utf-8"), filename=str(modules()[name]))


def _package_of(name: str) -> str:
    return name if modules()[name].name == "__init__.py" else name.rpartition(".")[0]


def _absolute(name: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = _package_of(name).split(".")
    base = base[: len(base) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


@cache
def _reexports(package: str) -> dict[str, str]:
    """Names a package's `__init__` binds by `from x import name` → the module x."""
    if package not in modules() or modules()[package].name != "__init__.py":
        return {}
    bound: dict[str, str] = {}
    for node in _tree(package).body:
        if isinstance(node, ast.ImportFrom):
            origin = _absolute(package, node)
            for alias in node.names:
                bound[alias.asname or alias.name] = _resolve(origin, alias.name)
    return bound


def _resolve(module: str, name: str) -> str:
    """What `from module import name` depends on: a submodule, a re-export's origin, or module."""
    if f"{module}.{name}" in modules():
        return f"{module}.{name}"
    origin = _reexports(module).get(name)
    return origin if origin is not None else module


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _walk(name: str, node: ast.AST, type_only: bool, top_level: bool) -> list[Import]:
    found: list[Import] = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import):
            found += [Import(name, alias.name, child.lineno, type_only, top_level)
                      for alias in child.names]
        elif isinstance(child, ast.ImportFrom):
            origin = _absolute(name, child)
            found += [Import(name, _resolve(origin, alias.name), child.lineno, type_only,
                             top_level) for alias in child.names]
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for stmt in child.body:
                found += _walk(name, ast.Module(body=[stmt], type_ignores=[]), True, top_level)
            for stmt in child.orelse:
                found += _walk(name, ast.Module(body=[stmt], type_ignores=[]), type_only,
                               top_level)
        elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            found += _walk(name, child, type_only, False)
        else:
            found += _walk(name, child, type_only, top_level)
    return found


@cache
def imports() -> tuple[Import, ...]:
    return tuple(i for name in modules() for i in _walk(name, _tree(name), False, True))
