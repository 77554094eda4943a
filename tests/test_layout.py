"""The layout the docs show is the tree: README's layout table names every folder of the package,
docs/architecture.md's folder table names every module, the wheel's package list holds every
folder, and no module is over ~400 lines or named after a package it imports."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "lstmtc"
MAX_LINES = 400


def _packages() -> list[Path]:
    return sorted(p.parent for p in PACKAGE.rglob("__init__.py"))


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py")


def test_readme_layout_table_names_every_folder():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| path | what it holds |"):]
    table = table[: table.index("\n\n")]
    rows = re.findall(r"^\| `([^`]+)` \|", table, flags=re.M)
    folders = {f"{p.relative_to(REPO)}/" for p in _packages() if p != PACKAGE}
    named = {r for r in rows if r.startswith("lstmtc/")}
    # every folder has its row, or lives inside a folder whose row names it (apps/cluster/ in apps/)
    for folder in folders:
        parent = folder.rstrip("/").rsplit("/", 1)[0] + "/"
        assert folder in named or (parent in named and f"`{folder.removeprefix(parent)}`" in table), folder
    assert named <= folders, named - folders


def test_architecture_names_every_module():
    doc = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = doc[doc.index("| folder | what it holds |"):]
    table = table[: table.index("\n\n")]
    missing = [str(p.relative_to(REPO)) for p in _modules()
               if p.parent != PACKAGE and f"`{p.stem}`" not in table and f"`{p.stem} " not in table]
    assert not missing, missing


def test_wheel_package_list_holds_every_folder():
    tomllib = pytest.importorskip("tomllib") if sys.version_info >= (3, 11) else pytest.skip("tomllib: 3.11+")
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    folders = {".".join(p.relative_to(REPO).parts) for p in _packages()}
    assert folders <= listed, folders - listed


def test_modules_are_small_and_not_named_after_what_they_import():
    for path in _modules():
        lines = path.read_text(encoding="utf-8").count("\n")
        assert lines <= MAX_LINES, f"{path.relative_to(REPO)}: {lines} lines"
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module.split(".")[0] for n in ast.walk(tree)
                     if isinstance(n, ast.ImportFrom) and n.module and not n.level}
        assert path.stem not in imported, f"{path.relative_to(REPO)} imports {path.stem}"
