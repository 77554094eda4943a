"""Console-script entry points for the verbs that need an extra.

They live outside lstmtc.train / lstmtc.export because importing those packages imports torch:
on a torch-free install the verb must say which extra to install, in one line, not crash.
"""

from __future__ import annotations

import importlib.util
import sys


def _require(extra: str, *modules: str) -> None:
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        sys.stderr.write(f"Error: this needs the '{extra}' extra ({', '.join(missing)} not installed): "
                         f"pip install 'lstmtc[{extra}]'\n")
        sys.exit(1)


def train() -> None:
    _require("train", "torch")
    from lstmtc.train.cli import main

    main()


def evaluate() -> None:
    _require("train", "torch", "matplotlib")
    from lstmtc.train.evaluate_cli import main

    main()


def export() -> None:
    _require("train", "torch", "onnx")
    from lstmtc.export.cli import main

    main()
