"""The layers: lstmtc.infer is the bottom layer, it must work where torch is not installed and must
never import torch, lstmtc.train or lstmtc.export; lstmtc.train never imports lstmtc.export; and no
command line imports another (shared options live in lstmtc.infer.apps.options)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import import_blocker

import lstmtc.infer

INFER = Path(lstmtc.infer.__file__).resolve().parent
PACKAGE = INFER.parent
REPO = INFER.parents[1]
FORBIDDEN = ("torch", "lstmtc.train", "lstmtc.export")

# A meta-path finder that makes the forbidden packages (and anything below them) unimportable,
# as on a machine where only `pip install lstmtc` ran.
BLOCKER = import_blocker(*FORBIDDEN) + f"FORBIDDEN = {FORBIDDEN!r}\n"

SCRIPT = BLOCKER + textwrap.dedent(
    """
    import importlib
    import pkgutil

    for name in FORBIDDEN:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
        else:
            raise SystemExit(f"the blocker let {name} through")

    import lstmtc.infer
    import lstmtc.infer.apps.classify_cli
    from lstmtc.infer import Classifier, Vocab, basic_english  # noqa: F401

    # Every module of the inference layer, in every folder, imports without them.
    imported = []
    for info in pkgutil.walk_packages(lstmtc.infer.__path__, "lstmtc.infer."):
        importlib.import_module(info.name)
        imported.append(info.name)

    # The console script's entry point, exactly as `lstmtc-classify --help` runs it.
    sys.argv = ["lstmtc-classify", "--help"]
    try:
        lstmtc.infer.apps.classify_cli.run()
    except SystemExit as e:
        code = e.code
    else:
        code = 0
    assert code in (0, None), f"--help exited with {code!r}"

    leaked = sorted(m for m in sys.modules if any(m == f or m.startswith(f + ".") for f in FORBIDDEN))
    assert not leaked, leaked
    print("IMPORTED", len(imported), ",".join(imported))
    """
)


def test_infer_and_cli_work_without_torch(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSTARTUP")}
    env["PYTHONPATH"] = str(REPO)
    env["COLUMNS"] = "100"
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Usage: lstmtc-classify" in out
    assert "--model" in out
    imported_line = next(line for line in out.splitlines() if line.startswith("IMPORTED "))
    names = imported_line.split(" ", 2)[2].split(",")
    expected = sorted(module_name(p) for p in INFER.rglob("*.py") if p.name != "__init__.py" or p.parent != INFER)
    assert sorted(names) == expected


def test_blocker_really_blocks(tmp_path):
    """The harness itself: with the blocker in place, importing torch fails."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(REPO)
    code = BLOCKER + "\nimport lstmtc.train\n"
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode != 0
    assert "blocked by this test" in proc.stderr


# ---------------------------------------------------------------------------------------------
# Static check
# ---------------------------------------------------------------------------------------------


def _is_forbidden(name: str, forbidden=FORBIDDEN) -> bool:
    return any(name == f or name.startswith(f + ".") for f in forbidden)


def module_name(path: Path) -> str:
    """lstmtc.infer.data.reader for .../lstmtc/infer/data/reader.py; a package for its __init__.py."""
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(path: Path, package: str = "lstmtc.infer") -> list[tuple[int, str]]:
    """Absolute module names a file imports (relative imports resolved), with line numbers;
    also string arguments of importlib.import_module / __import__ calls."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    parts = package.split(".")
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(parts[: len(parts) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module
            found.append((node.lineno, module))
            # `from lstmtc import train` or `from .. import export` imports a subpackage.
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Call):
            func = node.func
            fname = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if fname in ("import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant):
                if isinstance(node.args[0].value, str):
                    found.append((node.lineno, node.args[0].value))
    return found


def test_no_infer_module_imports_torch_train_or_export():
    files = sorted(INFER.rglob("*.py"))
    assert len(files) >= 10
    offences = [
        f"{path.relative_to(REPO)}:{line}: imports {name}"
        for path in files
        for line, name in imported_names(path, _package_of(path))
        if _is_forbidden(name)
    ]
    assert not offences, "\n".join(offences)


def _package_of(path: Path) -> str:
    """The package a module's relative imports start from."""
    name = module_name(path)
    return name if path.name == "__init__.py" else name.rsplit(".", 1)[0]


def test_train_never_imports_export():
    files = sorted((PACKAGE / "train").rglob("*.py"))
    assert len(files) >= 5
    offences = [f"{path.relative_to(REPO)}:{line}: imports {name}" for path in files
                for line, name in imported_names(path, _package_of(path)) if _is_forbidden(name, ("lstmtc.export",))]
    assert not offences, "\n".join(offences)


def cli_modules() -> list[Path]:
    """The command lines: modules named cli.py or *_cli.py."""
    return sorted(p for p in PACKAGE.rglob("*.py") if p.stem == "cli" or p.stem.endswith("_cli"))


def test_no_cli_imports_another_cli():
    clis = cli_modules()
    names = {module_name(p) for p in clis}
    assert {"lstmtc.infer.apps.classify_cli", "lstmtc.infer.apps.explain_cli", "lstmtc.train.cli",
            "lstmtc.train.evaluate_cli", "lstmtc.export.cli"} <= names
    offences = [f"{path.relative_to(REPO)}:{line}: imports {name}" for path in clis
                for line, name in imported_names(path, _package_of(path))
                if name in names - {module_name(path)} or any(name.startswith(n + ".") for n in names)]
    assert not offences, "\n".join(offences)


def test_static_check_catches_offences(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import torch.nn\n"
        "from .. import train\n"
        "from ..export.cli import main\n"
        "from lstmtc import export\n"
        "import importlib\n"
        "importlib.import_module('torch')\n"
        "def f():\n"
        "    import lstmtc.train.loop\n"
        "from . import vocab\n"
        "import numpy\n",
        encoding="utf-8",
    )
    flagged = sorted({line for line, name in imported_names(bad) if _is_forbidden(name)})
    assert flagged == [1, 2, 3, 4, 6, 8]
