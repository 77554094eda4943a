"""Console-script entry points of every verb.

They live outside lstmtc.train / lstmtc.export because importing those packages imports torch:
on a torch-free install the verb must say which extra to install, in one line, not crash. And
they import nothing but the standard library before they take over SIGINT/SIGTERM, so a Ctrl-C
while a verb's own imports run (numpy, onnxruntime, torch) is one line and 130, never a traceback.
"""

from __future__ import annotations

import importlib
import importlib.util
import signal
import sys


def _require(extra: str, *modules: str) -> None:
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        sys.stderr.write(f"Error: this needs the '{extra}' extra ({', '.join(missing)} not installed): "
                         f"pip install 'lstmtc[{extra}]'\n")
        sys.exit(1)


def _early_exit(signum, frame):
    sys.stderr.write("interrupted\n")
    raise SystemExit(128 + signum)  # nothing to clean up yet; SystemExit prints no traceback


def _guard() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):  # until the runner installs its own handlers
        if signal.getsignal(signum) is not signal.SIG_IGN:  # an ignored signal (a background job) stays so
            signal.signal(signum, _early_exit)


def _run(extra: str, modules: tuple[str, ...], command: str) -> None:
    """Check the extra, then run the command through the shared console-script runner (one-line
    errors; Ctrl-C 130 and SIGTERM 143, also while torch is being imported)."""
    _guard()
    _require(extra, *modules)
    from lstmtc.infer.apps.options import run_command

    def load():
        return importlib.import_module(command).main

    run_command(load, interrupt_note="interrupted")


def train() -> None:
    _run("train", ("torch",), "lstmtc.train.cli")


def evaluate() -> None:
    _run("train", ("torch", "matplotlib"), "lstmtc.train.evaluate_cli")


def export() -> None:
    _run("train", ("torch", "onnx"), "lstmtc.export.cli")


def classify() -> None:
    _guard()
    from lstmtc.infer.apps.classify_cli import run

    run()


def explain() -> None:
    _guard()
    from lstmtc.infer.apps.explain_cli import run

    run()
