"""lstmtc-classify as a real process: stdin answered line by line before EOF, `| head -1`, Ctrl-C,
a real file with CRLF and a BOM, and no torch import. Every wait is bounded by a timeout."""

from __future__ import annotations

import os
import queue
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import import_blocker

LABELS = ["World", "Sports", "Business", "Sci/Tech"]
TIMEOUT = 60  # seconds; generous, the machine may be busy. Nothing here asserts speed.

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX pipes and signals")


def classify_cmd() -> list[str]:
    """The installed console script when it sits beside this interpreter, else the same entry point."""
    script = Path(sys.executable).parent / "lstmtc-classify"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from lstmtc.infer.apps.classify_cli import run; run()"]


class LineReader:
    """Reads a pipe on a thread, so the test can wait for one line with a timeout."""

    def __init__(self, pipe):
        self.q: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._run, args=(pipe,), daemon=True)
        self.thread.start()

    def _run(self, pipe):
        for line in iter(pipe.readline, b""):
            self.q.put(line)
        self.q.put(None)

    def get(self, timeout: float = TIMEOUT):
        try:
            return self.q.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no output within {timeout} s") from None


def _stop(p: subprocess.Popen) -> None:
    if p.poll() is None:
        p.kill()
        p.wait(timeout=TIMEOUT)


def expected_line(clf, text: str, prob: bool = False) -> bytes:
    if not text.strip():
        return b"\n"
    labels, probs = clf.predict([text])
    out = labels[0][0] + (f" {float(probs[0][0]):.4f}" if prob else "")
    return out.encode() + b"\n"


def test_each_stdin_line_is_answered_before_eof(tiny_bundle, tiny_classifier):
    """`tail -f log | lstmtc-classify`: a line that arrives alone is answered while stdin stays open."""
    p = subprocess.Popen(classify_cmd() + ["-m", str(tiny_bundle), "--prob"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out = LineReader(p.stdout)
        for doc in ["stocks profit merger", "", "the striker scored a goal", "new chip and laptop software"]:
            p.stdin.write(doc.encode() + b"\n")
            p.stdin.flush()
            assert out.get() == expected_line(tiny_classifier, doc, prob=True)
            assert p.poll() is None  # still running, stdin still open
        # a line that arrives in two writes is one line, answered once it is complete
        p.stdin.write(b"troops and rebels agree to a cease")
        p.stdin.flush()
        p.stdin.write(b"fire\n")
        p.stdin.flush()
        assert out.get() == expected_line(tiny_classifier, "troops and rebels agree to a ceasefire", prob=True)
        # two lines in one write: two answers, in order
        p.stdin.write(b"goal coach\nshares stocks\n")
        p.stdin.flush()
        assert [out.get(), out.get()] == [expected_line(tiny_classifier, "goal coach", prob=True),
                                          expected_line(tiny_classifier, "shares stocks", prob=True)]
        p.stdin.close()
        assert p.wait(timeout=TIMEOUT) == 0
        assert out.get() is None  # nothing more after EOF
        assert p.stderr.read() == b""
    finally:
        _stop(p)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_fifo_given_as_file_is_answered_line_by_line(tmp_path, tiny_bundle, tiny_classifier):
    """`lstmtc-classify <(tail -f log)`: a pipe named as a FILE flushes like stdin does."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    p = subprocess.Popen(classify_cmd() + ["-m", str(tiny_bundle), str(fifo)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out = LineReader(p.stdout)
        deadline = time.monotonic() + TIMEOUT
        while True:  # a non-blocking open fails (ENXIO) until the process has opened its end
            try:
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
                break
            except OSError:
                assert p.poll() is None and time.monotonic() < deadline, "the process never opened the FIFO"
                time.sleep(0.05)
        os.set_blocking(fd, True)
        with open(fd, "wb", buffering=0) as w:
            for doc in ["stocks profit merger", "goal coach season"]:
                w.write(doc.encode() + b"\n")
                assert out.get() == expected_line(tiny_classifier, doc)
        assert p.wait(timeout=TIMEOUT) == 0
        assert p.stderr.read() == b""
    finally:
        _stop(p)


def _many_lines(tmp_path: Path, n: int = 30_000) -> Path:
    # enough output (~270 KB) to overflow a pipe buffer, so the writer must meet the closed pipe
    f = tmp_path / "many.txt"
    f.write_text("stocks profit merger\ngoal coach season\n" * (n // 2), encoding="utf-8")
    return f


@pytest.mark.skipif(shutil.which("bash") is None or shutil.which("head") is None, reason="needs bash and head")
@pytest.mark.parametrize("mode", ["lines", "csv"])
def test_pipe_into_head_ends_quietly(tmp_path, tiny_bundle, tiny_classifier, mode):
    if mode == "lines":
        args = [str(_many_lines(tmp_path))]
        first = expected_line(tiny_classifier, "stocks profit merger").decode()
    else:
        f = tmp_path / "many.csv"
        f.write_text("text\n" + "stocks profit merger\n" * 30_000, encoding="utf-8")
        args = ["--csv", str(f)]
        first = "text,label\n"
    err = tmp_path / "stderr.txt"
    script = (f"{shlex.join(classify_cmd() + ['-m', str(tiny_bundle)] + args)} 2>{shlex.quote(str(err))} | head -1; "
              'echo "rc=${PIPESTATUS[0]}"')
    r = subprocess.run(["bash", "-c", script], capture_output=True, timeout=TIMEOUT * 2)
    assert r.stdout.decode() == first + "rc=0\n"
    assert err.read_bytes() == b""


def test_reader_closing_the_pipe_early(tmp_path, tiny_bundle, tiny_classifier):
    p = subprocess.Popen(classify_cmd() + ["-m", str(tiny_bundle), str(_many_lines(tmp_path))],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert p.stdout.readline() == expected_line(tiny_classifier, "stocks profit merger")
        p.stdout.close()
        assert p.wait(timeout=TIMEOUT) == 0
        assert p.stderr.read() == b""
    finally:
        _stop(p)


def test_sigint_exits_130_without_traceback(tiny_bundle, tiny_classifier):
    p = subprocess.Popen(classify_cmd() + ["-m", str(tiny_bundle)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out = LineReader(p.stdout)
        p.stdin.write(b"stocks profit\n")
        p.stdin.flush()
        assert out.get() == expected_line(tiny_classifier, "stocks profit")  # it is up and waiting on stdin
        p.send_signal(signal.SIGINT)
        assert p.wait(timeout=TIMEOUT) == 130
        assert out.get() is None
        assert p.stderr.read() == b""  # no traceback, no 'Aborted!'
    finally:
        _stop(p)


def test_sigint_while_writing_a_file_keeps_the_old_file(tmp_path, tiny_bundle):
    out = tmp_path / "out.csv"
    out.write_text("precious\n", encoding="utf-8")
    p = subprocess.Popen(classify_cmd() + ["-m", str(tiny_bundle), "--csv", "-", "-o", str(out)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        p.stdin.write(b"text\nstocks profit\n")
        p.stdin.flush()
        # the temporary output appears once scoring has started; wait for it (bounded)
        deadline = time.monotonic() + TIMEOUT
        while not list(tmp_path.glob(".out.csv.*.tmp")):
            assert p.poll() is None and time.monotonic() < deadline, "the temporary output never appeared"
            time.sleep(0.05)
        p.send_signal(signal.SIGINT)
        assert p.wait(timeout=TIMEOUT) == 130
        assert p.stderr.read() == b""
        assert out.read_text(encoding="utf-8") == "precious\n"
        assert sorted(x.name for x in tmp_path.iterdir()) == ["out.csv"]  # the temporary file is gone
    finally:
        _stop(p)


def test_real_file_with_crlf_and_bom(tmp_path, tiny_bundle, tiny_classifier):
    docs = ["stocks profit merger", "", "goal coach season", "new chip software"]
    f = tmp_path / "windows.txt"
    f.write_bytes(b"\xef\xbb\xbf" + b"\r\n".join(d.encode() for d in docs) + b"\r\n")
    r = subprocess.run(classify_cmd() + ["-m", str(tiny_bundle), "--prob", str(f)], capture_output=True,
                       timeout=TIMEOUT)
    assert r.returncode == 0 and r.stderr == b""
    assert r.stdout == b"".join(expected_line(tiny_classifier, d, prob=True) for d in docs)
    # the same document on a Unix line gives the same answer: no stray BOM or CR reached the model
    assert r.stdout.splitlines()[0] == expected_line(tiny_classifier, "stocks profit merger", prob=True).strip()


def test_errors_are_one_line_in_a_real_process(tmp_path, tiny_bundle):
    r = subprocess.run(classify_cmd() + ["-m", str(tiny_bundle), str(tmp_path / "nope.txt")], capture_output=True,
                       timeout=TIMEOUT)
    assert r.returncode == 1 and r.stdout == b""
    assert r.stderr == f"Error: {tmp_path / 'nope.txt'}: no such file\n".encode()
    r = subprocess.run(classify_cmd() + ["-m", str(tmp_path / "nobundle")], input=b"x\n", capture_output=True,
                       timeout=TIMEOUT)
    assert r.returncode == 1 and r.stderr.startswith(b"Error: ") and r.stderr.count(b"\n") == 1


BLOCK_TORCH = import_blocker("torch", announce=True) + "from lstmtc.infer.apps.classify_cli import run\nrun()\n"


@pytest.mark.parametrize("mode", ["lines", "csv", "eval"])
def test_classify_never_imports_torch(tmp_path, synth_dir, tiny_bundle, mode):
    f = tmp_path / "in.txt"
    f.write_text("stocks profit\ngoal coach\n", encoding="utf-8")
    args = {"lines": [str(f), "--prob", "-k", "2", "--format", "jsonl"],
            "csv": ["--csv", str(synth_dir / "test.csv"), "--no-header", "--text-column", "3", "--prob"],
            "eval": ["--eval", str(synth_dir / "test.csv")]}[mode]
    r = subprocess.run([sys.executable, "-c", BLOCK_TORCH, "-m", str(tiny_bundle), *args], capture_output=True,
                       timeout=TIMEOUT, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert r.returncode == 0, r.stderr.decode()
    assert b"blocked import" not in r.stderr
    assert r.stdout
