"""Interrupts, closed and full standard streams, full disks and concurrent exports, through the
real console entry points (subprocesses): the cases of benchmarks/hostile.py that need a process,
each a test. SIGTERM cleans up exactly like Ctrl-C (exit 143 instead of 130), Ctrl-C while torch
is imported is one line, and none of them prints a traceback or loses data."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
hostile = importlib.import_module("benchmarks.hostile")

pytestmark = pytest.mark.slow

# The process-level cases of the output and interrupt rules (the plain file rules are checked
# in-process by tests/test_outputs.py; the bundle and input cases by their own tests).
PROCESS_CASES = ("/dev/stdout", "FILE -o FILE", "'label' column", "explain --html", "--engine dask", "stdin closed",
                 "stdout closed", "stdout on a full disk", "-o on a full disk", "train --out", "train on a full disk",
                 "train resumed", "concurrent exports", "export on a full disk", "evaluate --out", "SIGINT", "SIGTERM",
                 "Ctrl-C")
CASES = [c for c in hostile.CASES if any(k in c.name for k in PROCESS_CASES)]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    return hostile.Env(tmp_path_factory.mktemp("hostile"))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_case(env, case):
    row = hostile.run_case(env, case)
    if row["pass"] is None:
        pytest.skip(row["note"])
    assert row["pass"], row
