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

# Every case but the plain file rules, which tests/test_outputs.py checks in-process.
IN_PROCESS_ELSEWHERE = ("character device", "full device", "/dev/null", "a FIFO", "a socket", "a symlink",
                        "0600", "read-only file: refused, file", "via a symlink", "under a regular file: one line")
CASES = [c for c in hostile.CASES if not any(k in c.name for k in IN_PROCESS_ELSEWHERE) or "train" in c.name
         or "evaluate" in c.name]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    return hostile.Env(tmp_path_factory.mktemp("hostile"))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_case(env, case):
    row = hostile.run_case(env, case)
    if row["pass"] is None:
        pytest.skip(row["note"])
    assert row["pass"], row
