"""Hostile-input suite: every verb driven through its real console entry point (a subprocess) at
paths and in conditions that used to break it -- devices, FIFOs, sockets, symlinks, read-only and
foreign files, outputs equal to inputs, closed standard streams, full disks, concurrent exports,
SIGINT/SIGTERM -- with one row per case: exit code, whether a traceback was printed, whether the
data that must survive did, and pass/fail.

    python -m benchmarks.hostile [--only SUBSTRING,...] [--json PATH] [--list]

Cases are functions registered with ``@case(name, expect=...)`` in ``CASES``, in file order; each
takes the shared ``Env`` (a scratch directory, a tiny training file, a trained run and its bundle,
made once) and returns an ``Outcome`` (the finished process and whether the data is intact). A
case passes when the exit code is one it expects, stderr has no traceback, and the data is
intact. Cases that need root (a tmpfs, ``mknod``) are reported as skipped elsewhere. Add a case:
write a function below with the decorator; nothing else to register.

Writes benchmarks/out/hostile.json; exits 1 if any row fails.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import random
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.common import OUT, print_table, write_json

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 180
ENTRY = {
    "classify": "from lstmtc.entry import classify; classify()",
    "explain": "from lstmtc.entry import explain; explain()",
    "train": "from lstmtc.entry import train; train()",
    "evaluate": "from lstmtc.entry import evaluate; evaluate()",
    "export": "from lstmtc.entry import export; export()",
}
TOPICS = {"World": "election minister troops embassy parliament", "Sports": "striker goal coach tournament season",
          "Business": "profit shares bankruptcy investors merger", "Tech": "software chip internet laptop browser"}


def command(verb: str, *args) -> list[str]:
    return [sys.executable, "-c", ENTRY[verb], *map(str, args)]


class Skip(Exception):
    """The case cannot run here (not root, no tmpfs); its reason is the row's note."""


@dataclass
class Outcome:
    code: int
    stderr: str
    intact: bool
    note: str = ""


@dataclass
class Case:
    name: str
    fn: Callable
    expect: tuple[int, ...]


CASES: list[Case] = []


def case(name: str, expect: int | tuple[int, ...] = 1):
    """Register a case: ``expect`` the exit code(s) it passes with."""
    def register(fn):
        CASES.append(Case(name, fn, expect if isinstance(expect, tuple) else (expect,)))
        return fn
    return register


def finished(p: subprocess.CompletedProcess | subprocess.Popen, stderr: bytes | str, intact: bool,
             note: str = "") -> Outcome:
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    return Outcome(p.returncode, text, bool(intact), note)


def one_error(stderr: bytes) -> bool:
    """Exactly one 'Error: ...' line (progress lines before it are fine)."""
    return sum(line.startswith(b"Error: ") for line in stderr.splitlines()) == 1


# ------------------------------------------------------------------------------------------ env


@dataclass
class Env:
    root: Path
    train_csv: Path = field(init=False)
    run_dir: Path = field(init=False)
    bundle: Path = field(init=False)
    _n: int = 0

    def __post_init__(self):
        self.train_csv = self.root / "train.csv"
        rng = random.Random(0)
        with open(self.train_csv, "w", encoding="utf-8") as f:
            f.write("label,text\n")
            for i in range(240):
                name = list(TOPICS)[i % 4]
                words = TOPICS[name].split() + ["the", "a", "of", "said", "new"]
                f.write(f"{name},{' '.join(rng.choice(words) for _ in range(8))}\n")
        self._run = None

    def scratch(self) -> Path:
        self._n += 1
        d = self.root / f"case{self._n:02d}"
        d.mkdir()
        return d

    def run(self, verb: str, *args, **kwargs) -> subprocess.CompletedProcess:
        kwargs.setdefault("capture_output", True)
        kwargs.setdefault("timeout", TIMEOUT)
        return subprocess.run(command(verb, *args), **kwargs)

    def trained(self) -> tuple[Path, Path]:
        """(run directory, bundle) of a tiny model, made on first use."""
        if self._run is None:
            run_dir, bundle = self.root / "run", self.root / "bundle"
            r = self.run("train", "--train", self.train_csv, "--out", run_dir, *TINY)
            if r.returncode:
                raise RuntimeError(f"training the tiny model failed: {r.stderr.decode()[-800:]}")
            r = self.run("export", run_dir, "-o", bundle, "--no-validate")
            if r.returncode:
                raise RuntimeError(f"exporting the tiny model failed: {r.stderr.decode()[-800:]}")
            self._run = (run_dir, bundle)
        return self._run

    def lines(self, d: Path, name: str = "in.txt", repeat: int = 1) -> Path:
        p = d / name
        p.write_text("stocks profit merger\ngoal coach season\n" * repeat, encoding="utf-8")
        return p


TINY = ("--text-column", "text", "--label-column", "label", "--epochs", "1", "--embed-dim", "8", "--hidden", "8",
        "--max-tokens", "12", "--batch-size", "64", "--patience", "0")


@contextlib.contextmanager
def tmpfs(size: str):
    """A tmpfs of ``size`` mounted on a new temporary directory (root only), unmounted after."""
    if os.geteuid() != 0:
        raise Skip("needs root to mount a tmpfs")
    d = tempfile.mkdtemp(prefix="lstmtc-full-")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", d], capture_output=True)
    if r.returncode:
        os.rmdir(d)
        raise Skip(f"mount -t tmpfs failed: {r.stderr.decode().strip()}")
    try:
        yield Path(d)
    finally:
        subprocess.run(["umount", "-l", d], capture_output=True)
        os.rmdir(d)


def fill(directory: Path) -> None:
    """Fill the filesystem of ``directory`` to the last block."""
    with open(directory / "filler", "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:
            pass


def mknod(path: Path, major: int, minor: int) -> Path:
    if os.geteuid() != 0:
        raise Skip("needs root for mknod")
    os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(major, minor))
    return path


def existing(path: Path, text: str, mode: int) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def is_chr(path: Path) -> bool:
    return stat.S_ISCHR(os.lstat(path).st_mode)


def no_temp(d: Path) -> bool:
    return not [p for p in d.rglob("*") if p.name.startswith(".") and (".tmp" in p.name or ".old-" in p.name)]


def wait_for(cond: Callable[[], bool], p: subprocess.Popen, what: str, limit: float = TIMEOUT) -> None:
    deadline = time.monotonic() + limit
    while not cond():
        if p.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} never happened (exit {p.poll()})")
        time.sleep(0.02)


# ------------------------------------------------------------------------------------ outputs


@case("classify -o a character device (mknod null) is written through", expect=0)
def _(env: Env) -> Outcome:
    d = env.scratch()
    dev = mknod(d / "null", 1, 3)
    r = env.run("classify", env.lines(d), "-o", dev)
    return finished(r, r.stderr, is_chr(dev))


@case("classify -o a full device (mknod 1,7): one line, device kept", expect=1)
def _(env: Env) -> Outcome:
    d = env.scratch()
    dev = mknod(d / "full", 1, 7)
    r = env.run("classify", env.lines(d), "-o", dev)
    return finished(r, r.stderr, is_chr(dev) and b"No space left" in r.stderr)


@case("classify -o /dev/null", expect=0)
def _(env: Env) -> Outcome:
    r = env.run("classify", env.lines(env.scratch()), "-o", "/dev/null")
    return finished(r, r.stderr, is_chr(Path("/dev/null")) and r.stdout == b"")


@case("classify -o /dev/stdout writes to stdout", expect=0)
def _(env: Env) -> Outcome:
    r = env.run("classify", env.lines(env.scratch()), "-o", "/dev/stdout")
    return finished(r, r.stderr, r.stdout.count(b"\n") == 2)


@case("classify -o a FIFO: its reader gets the lines", expect=0)
def _(env: Env) -> Outcome:
    d = env.scratch()
    fifo = d / "fifo"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    r = env.run("classify", env.lines(d), "-o", fifo)
    reader.join(30)
    return finished(r, r.stderr, stat.S_ISFIFO(os.lstat(fifo).st_mode) and got and got[0].count(b"\n") == 2)


@case("classify -o a socket: refused", expect=1)
def _(env: Env) -> Outcome:
    d = env.scratch()
    path = d / "sock"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    try:
        r = env.run("classify", env.lines(d), "-o", path)
    finally:
        s.close()
    return finished(r, r.stderr, stat.S_ISSOCK(os.lstat(path).st_mode) and r.stderr.count(b"\n") == 1)


@case("classify -o a symlink: link kept, its target replaced", expect=0)
def _(env: Env) -> Outcome:
    d = env.scratch()
    (d / "sub").mkdir()
    target = d / "sub" / "real.txt"
    target.write_text("old\n")
    (d / "link").symlink_to(target)
    r = env.run("classify", env.lines(d), "-o", d / "link")
    return finished(r, r.stderr, (d / "link").is_symlink() and target.read_text().count("\n") == 2
                    and no_temp(d))


@case("classify -o a 0600 file keeps its mode", expect=0)
def _(env: Env) -> Outcome:
    d = env.scratch()
    out = existing(d / "private.txt", "old\n", 0o600)
    r = env.run("classify", env.lines(d), "-o", out)
    return finished(r, r.stderr, stat.S_IMODE(out.stat().st_mode) == 0o600 and out.read_text() != "old\n")


@case("classify -o a read-only file: refused, file kept", expect=1)
def _(env: Env) -> Outcome:
    d = env.scratch()
    out = existing(d / "ro.txt", "precious\n", 0o444)
    r = env.run("classify", env.lines(d), "-o", out)
    return finished(r, r.stderr, out.read_text() == "precious\n" and b"read-only" in r.stderr)


def _keeps(env: Env, path: Path, verb: str, *args) -> Outcome:
    """Run the verb; the data is intact when ``path`` has the same bytes after."""
    before = path.read_bytes()
    r = env.run(verb, *args)
    return finished(r, r.stderr, path.read_bytes() == before)


@case("classify FILE -o FILE (line mode): refused, input kept", expect=1)
def _(env: Env) -> Outcome:
    f = env.lines(env.scratch())
    return _keeps(env, f, "classify", f, "-o", f)


@case("classify --csv F -o F via a symlink: refused, input kept", expect=1)
def _(env: Env) -> Outcome:
    d = env.scratch()
    f = d / "in.csv"
    f.write_text("text\nstocks profit\n")
    (d / "alias.csv").symlink_to(f)
    return _keeps(env, f, "classify", "--csv", f, "--text-column", "text", "-o", d / "alias.csv")


@case("classify --csv with a 'label' column: refused with a hint", expect=1)
def _(env: Env) -> Outcome:
    d = env.scratch()
    f = d / "in.csv"
    f.write_text("text,label\nstocks profit,x\n")
    r = env.run("classify", "--csv", f, "--text-column", "text")
    return finished(r, r.stderr, r.stdout == b"" and b"already has the column label" in r.stderr)


@case("classify -o under a regular file: one line", expect=1)
def _(env: Env) -> Outcome:
    d = env.scratch()
    (d / "afile").write_text("x")
    r = env.run("classify", env.lines(d), "-o", d / "afile" / "out.txt")
    return finished(r, r.stderr, (d / "afile").read_text() == "x")


@case("explain --html onto its --file input: refused", expect=1)
def _(env: Env) -> Outcome:
    f = env.lines(env.scratch())
    return _keeps(env, f, "explain", "--file", f, "--line", "1", "--num-samples", "20", "--html", f)


@case("explain --html a read-only file: refused", expect=1)
def _(env: Env) -> Outcome:
    out = existing(env.scratch() / "why.html", "keep", 0o444)
    return _keeps(env, out, "explain", "stocks profit", "--num-samples", "20", "--html", out)


@case("classify --engine dask -o an earlier output holding the input: refused", expect=1)
def _(env: Env) -> Outcome:
    d = env.scratch()
    out = d / "scored"
    out.mkdir()
    (out / "part-00000.csv").write_text("text\nstocks profit\n")
    (out / "_SUCCESS").write_text("{}\n")
    r = env.run("classify", "--csv", out / "part-00000.csv", "--text-column", "text", "--engine", "dask", "-o", out)
    return finished(r, r.stderr, (out / "part-00000.csv").read_text() == "text\nstocks profit\n"
                    and b"an input of this command" in r.stderr)


def _dask_input(d: Path) -> Path:
    if importlib.util.find_spec("distributed") is None or importlib.util.find_spec("dask") is None:
        raise Skip("needs lstmtc[dask]")
    (d / "in").mkdir()
    (d / "in" / "a.csv").write_text("label,text\nx,stocks profit\ny,goal coach\n")
    (d / "in" / "b.csv").write_text("label,text\nz,chip software\n")
    return d / "in" / "*.csv"


@case("classify --engine dask --output-prefix on an input with a label column: both kept", expect=0)
def _(env: Env) -> Outcome:
    d = env.scratch()
    r = env.run("classify", "--csv", _dask_input(d), "--text-column", "text", "--engine", "dask", "--workers", "1",
                "--output-prefix", "p_", "-o", d / "out")
    part = (d / "out" / "part-00000.csv").read_text() if (d / "out" / "part-00000.csv").exists() else ""
    return finished(r, r.stderr, part.startswith("label,text,p_label\nx,stocks profit,"))


@case("classify --engine dask, SIGTERM mid-run: exit 143, no output or temporary directory", expect=143)
def _(env: Env) -> Outcome:
    d = env.scratch()
    p = subprocess.Popen(command("classify", "--csv", _dask_input(d), "--text-column", "text", "--engine", "dask",
                                 "--workers", "1", "--output-prefix", "p_", "-o", d / "out"),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for(lambda: list(d.glob(".out.tmp-*")), p, "the temporary output directory")
    time.sleep(0.5)  # the cluster is starting
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=TIMEOUT)
    return finished(p, err, sorted(x.name for x in d.iterdir()) == ["in"])


# ---------------------------------------------------------------------------- standard streams


@case("classify with stdin closed (<&-): one line", expect=1)
def _(env: Env) -> Outcome:
    r = subprocess.run(["sh", "-c", '"$@" <&-', "sh", *command("classify")], capture_output=True, timeout=TIMEOUT)
    return finished(r, r.stderr, True)


@case("classify with stdout closed (>&-): one line", expect=1)
def _(env: Env) -> Outcome:
    d = env.scratch()
    r = subprocess.run(["sh", "-c", '"$@" >&-', "sh", *command("classify", env.lines(d))], stderr=subprocess.PIPE,
                       timeout=TIMEOUT)
    return finished(r, r.stderr, b"stdout is closed" in r.stderr)


@case("classify with stdout on a full disk: one line", expect=1)
def _(env: Env) -> Outcome:
    big = env.lines(env.scratch(), "big.txt", 20000)
    with tmpfs("64k") as disk:
        with open(disk / "out.txt", "wb") as f:
            r = subprocess.run(command("classify", big), stdout=f, stderr=subprocess.PIPE, timeout=TIMEOUT)
    return finished(r, r.stderr, b"No space left" in r.stderr)


@case("classify -o on a full disk: one line, old file and no temporary left", expect=1)
def _(env: Env) -> Outcome:
    big = env.lines(env.scratch(), "big.txt", 20000)
    with tmpfs("64k") as disk:
        (disk / "out.txt").write_text("old\n")
        r = env.run("classify", big, "-o", disk / "out.txt")
        intact = (disk / "out.txt").read_text() == "old\n" and sorted(p.name for p in disk.iterdir()) == ["out.txt"]
    return finished(r, r.stderr, intact)


# ---------------------------------------------------------------------------------- training


@case("train --out DIR holding a foreign best.pt: refused, file kept", expect=1)
def _(env: Env) -> Outcome:
    d = env.scratch()
    (d / "best.pt").write_bytes(b"not ours")
    r = env.run("train", "--train", env.train_csv, "--out", d, *TINY)
    return finished(r, r.stderr, (d / "best.pt").read_bytes() == b"not ours" and one_error(r.stderr))


@case("train --out under a regular file: one line", expect=1)
def _(env: Env) -> Outcome:
    d = env.scratch()
    (d / "afile").write_text("x")
    r = env.run("train", "--train", env.train_csv, "--out", d / "afile" / "run", *TINY)
    return finished(r, r.stderr, (d / "afile").read_text() == "x" and one_error(r.stderr))


@case("train on a full disk: one line", expect=1)
def _(env: Env) -> Outcome:
    with tmpfs("96k") as disk:
        r = env.run("train", "--train", env.train_csv, "--out", disk / "run", *TINY)
        intact = no_temp(disk)
    return finished(r, r.stderr, intact and "Traceback" not in r.stderr.decode())


@case("train resumed on a full disk: previous checkpoint pair kept, resumable after", expect=1)
def _(env: Env) -> Outcome:
    with tmpfs("8m") as disk:
        run = disk / "run"
        first = env.run("train", "--train", env.train_csv, "--out", run, *TINY)
        if first.returncode:
            return finished(first, first.stderr, False, "the first epoch failed")
        before = {n: (run / n).read_bytes() for n in ("best.pt", "last.pt")}
        fill(disk)
        r = env.run("train", "--resume", run, "--epochs", "3")
        kept = all((run / n).read_bytes() == b for n, b in before.items()) and no_temp(disk)
        (disk / "filler").unlink()
        again = env.run("train", "--resume", run, "--epochs", "2")
    return finished(r, r.stderr, kept and again.returncode == 0 and one_error(r.stderr))


# ----------------------------------------------------------------------------------- exports


@case("two concurrent exports -o SAME without --force: exactly one wins", expect=0)
def _(env: Env) -> Outcome:
    run_dir, _ = env.trained()
    d = env.scratch()
    procs = [subprocess.Popen(command("export", run_dir, "-o", d / "b", "--no-validate"), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for _ in range(2)]
    outs = [p.communicate(timeout=TIMEOUT) for p in procs]
    codes = sorted(p.returncode for p in procs)
    err = b"".join(e for _, e in outs)
    ok = codes == [0, 1] and b"already exists" in err and (d / "b" / "bundle.json").exists() and no_temp(d)
    return Outcome(0 if ok else 1, err.decode("utf-8", "replace"), ok, f"exit codes {codes}")


@case("export on a full disk: one line, no temporary directory left", expect=1)
def _(env: Env) -> Outcome:
    run_dir, _ = env.trained()
    with tmpfs("1m") as disk:
        fill(disk)
        r = env.run("export", run_dir, "-o", disk / "b", "--no-validate")
        intact = not (disk / "b").exists() and no_temp(disk)
    return finished(r, r.stderr, intact and one_error(r.stderr))


@case("evaluate --out under a regular file: one line", expect=1)
def _(env: Env) -> Outcome:
    run_dir, _ = env.trained()
    d = env.scratch()
    (d / "afile").write_text("x")
    r = env.run("evaluate", run_dir, env.train_csv, "--out", d / "afile" / "eval")
    return finished(r, r.stderr, (d / "afile").read_text() == "x" and r.stderr.count(b"Error") == 1)


# ----------------------------------------------------------------------------------- signals


def _signal_while_writing(env: Env, signum: int) -> Outcome:
    d = env.scratch()
    out = d / "out.csv"
    out.write_text("precious\n")
    p = subprocess.Popen(command("classify", "--csv", "-", "-o", out), stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdin.write(b"text\nstocks profit\n")
    p.stdin.flush()
    wait_for(lambda: list(d.glob(".out.csv.*.tmp")), p, "the temporary output")
    p.send_signal(signum)
    _, err = p.communicate(timeout=TIMEOUT)
    return finished(p, err, out.read_text() == "precious\n" and sorted(x.name for x in d.iterdir()) == ["out.csv"])


@case("classify -o, SIGINT mid-write: exit 130, old file kept, no temporary", expect=130)
def _(env: Env) -> Outcome:
    return _signal_while_writing(env, signal.SIGINT)


@case("classify -o, SIGTERM mid-write: exit 143, old file kept, no temporary", expect=143)
def _(env: Env) -> Outcome:
    return _signal_while_writing(env, signal.SIGTERM)


@case("export, SIGTERM while the bundle is written: exit 143, no temporary directory", expect=143)
def _(env: Env) -> Outcome:
    run_dir, _ = env.trained()
    d = env.scratch()
    p = subprocess.Popen(command("export", run_dir, "-o", d / "b"), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for(lambda: list(d.glob(".b.tmp-*")), p, "the temporary bundle directory")
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=TIMEOUT)
    return finished(p, err, not (d / "b").exists() and list(d.iterdir()) == [])


@case("train, SIGTERM mid-run: exit 143, resumable, no temporary", expect=143)
def _(env: Env) -> Outcome:
    d = env.scratch()
    run = d / "run"
    slow = [a for a in TINY if a not in ("--epochs", "1")] + ["--epochs", "500"]
    p = subprocess.Popen(command("train", "--train", env.train_csv, "--out", run, *slow), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    wait_for(lambda: (run / "last.pt").exists(), p, "the first checkpoint")
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=TIMEOUT)
    left = [p.name for p in run.iterdir() if p.name.startswith(".")]
    return finished(p, err, b"--resume" in err and not left, f"left: {left}" if left else "")


@case("train, Ctrl-C while torch is being imported: exit 130, one line", expect=130)
def _(env: Env) -> Outcome:
    p = subprocess.Popen(command("train", "--train", env.train_csv, "--out", env.scratch() / "run"),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.4)  # the interpreter is up, torch (~2 s) is not
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=TIMEOUT)
    return finished(p, err, err.count(b"\n") <= 1)


@case("explain, SIGTERM during LIME: exit 143", expect=143)
def _(env: Env) -> Outcome:
    d = env.scratch()
    p = subprocess.Popen(command("explain", "stocks profit merger shares", "--num-samples", "2000000",
                                 "--html", d / "why.html"), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(4)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=TIMEOUT)
    return finished(p, err, list(d.iterdir()) == [])


# ----------------------------------------------------------------------- bundles and inputs (part B)


def _bundle_copy(env: Env, change: Callable[[Path, dict], None] | None = None) -> Path:
    """A copy of the tiny bundle, ``change``d (its files and its manifest dict), every listed file
    re-hashed so that only the change is wrong."""
    import json
    import shutil

    from lstmtc.infer.files import sha256_file

    b = env.scratch() / "bundle"
    shutil.copytree(env.trained()[1], b)
    m = json.loads((b / "bundle.json").read_text(encoding="utf-8"))
    if change:
        change(b, m)
    m["files"] = {name: sha256_file(b / name) for name in m["files"]}
    (b / "bundle.json").write_text(json.dumps(m), encoding="utf-8")
    return b


def _classify_with(env: Env, b: Path, *, want: bytes) -> Outcome:
    d = b.parent
    r = env.run("classify", env.lines(d), "-m", b)
    return finished(r, r.stderr, one_error(r.stderr) and want in r.stderr and r.stdout == b"")


def _external(listed: bool):
    def change(b: Path, m: dict) -> None:
        import onnx

        model = onnx.load(str(b / "model.onnx"))
        onnx.save_model(model, str(b / "model.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
                        location="weights.bin", size_threshold=0)
        if listed:
            m["files"]["weights.bin"] = ""
    return change


@case("classify -m a bundle whose model reads unlisted external data: refused", expect=1)
def _(env: Env) -> Outcome:
    return _classify_with(env, _bundle_copy(env, _external(listed=False)), want=b"weights.bin")


@case("classify -m a bundle whose listed external data was scrambled: refused", expect=1)
def _(env: Env) -> Outcome:
    b = _bundle_copy(env, _external(listed=True))
    data = bytearray((b / "weights.bin").read_bytes())
    data[64:72] = b"\x7f" * 8
    (b / "weights.bin").write_bytes(bytes(data))
    return _classify_with(env, b, want=b"SHA-256 does not match")


@case("classify -m a bundle whose bundle.json is a symlink to /dev/zero: refused at once", expect=1)
def _(env: Env) -> Outcome:
    b = _bundle_copy(env)
    (b / "bundle.json").unlink()
    os.symlink("/dev/zero", b / "bundle.json")
    t0 = time.monotonic()
    o = _classify_with(env, b, want=b"not a regular file")
    o.intact = o.intact and time.monotonic() - t0 < 60
    return o


def _labels(n: int):
    def change(b: Path, m: dict) -> None:
        m["labels"] = [f"class{i}" for i in range(n)]
        m["label_values"] = [str(i) for i in range(n)]
    return change


@case("classify -m a bundle with 5 labels for a 4-output model: refused", expect=1)
def _(env: Env) -> Outcome:
    return _classify_with(env, _bundle_copy(env, _labels(5)), want=b"names 5 classes")


@case("classify -m a bundle with 3 labels for a 4-output model: refused", expect=1)
def _(env: Env) -> Outcome:
    return _classify_with(env, _bundle_copy(env, _labels(3)), want=b"names 3 classes")


@case("classify -m a bundle whose vocabulary outgrows the embedding: refused", expect=1)
def _(env: Env) -> Outcome:
    import json

    def change(b: Path, m: dict) -> None:
        v = json.loads((b / "vocab.json").read_text(encoding="utf-8"))
        v["tokens"] += [f"extra{i}" for i in range(10)]
        (b / "vocab.json").write_text(json.dumps(v), encoding="utf-8")
    return _classify_with(env, _bundle_copy(env, change), want=b"largest id")


@case("classify -m a bundle with max_tokens 0: refused", expect=1)
def _(env: Env) -> Outcome:
    return _classify_with(env, _bundle_copy(env, lambda b, m: m.update(max_tokens=0)), want=b"max_tokens")


@case("classify -m a bundle with max_tokens 1e9: refused", expect=1)
def _(env: Env) -> Outcome:
    return _classify_with(env, _bundle_copy(env, lambda b, m: m.update(max_tokens=10**9)), want=b"max_tokens")


@case("classify -m a bundle with a newline in a class name: refused", expect=1)
def _(env: Env) -> Outcome:
    def change(b: Path, m: dict) -> None:
        m["labels"] = ["two\nlines"] + m["labels"][1:]
    return _classify_with(env, _bundle_copy(env, change), want=b"two\\nlines")


@case("train on a class name with a newline: refused, the label shown escaped", expect=1)
def _(env: Env) -> Outcome:
    d = env.scratch()
    data = d / "train.csv"
    text = env.train_csv.read_text(encoding="utf-8").replace("\nSports,", '\n"Spo\nrts",')
    data.write_text(text, encoding="utf-8")
    r = env.run("train", "--train", data, "--out", d / "run", *TINY)
    refused = one_error(r.stderr) and b"Spo\\nrts" in r.stderr
    return finished(r, r.stderr, refused and not (d / "run" / "best.pt").exists())


def _same_labels(env: Env, name: str, data: bytes) -> Outcome:
    """classify ``data`` (the two-line text of Env.lines, in some encoding or layout) and compare with
    the plain UTF-8 file's output."""
    d = env.scratch()
    plain = env.lines(d)
    p = d / name
    p.write_bytes(data)
    want = env.run("classify", plain).stdout
    r = env.run("classify", p)
    return finished(r, r.stderr, r.stdout == want and want.count(b"\n") == 2)


TWO_LINES = "stocks profit merger\ngoal coach season\n"


@case("classify a UTF-16 file with a BOM: the UTF-8 file's labels, line for line", expect=0)
def _(env: Env) -> Outcome:
    return _same_labels(env, "utf16.txt", TWO_LINES.encode("utf-16"))


@case("classify a UTF-32 (big-endian) file with a BOM: the UTF-8 file's labels", expect=0)
def _(env: Env) -> Outcome:
    import codecs

    return _same_labels(env, "utf32.txt", codecs.BOM_UTF32_BE + TWO_LINES.encode("utf-32-be"))


@case("classify a file with CR-only line endings: one label per line", expect=0)
def _(env: Env) -> Outcome:
    return _same_labels(env, "mac.txt", TWO_LINES.replace("\n", "\r").encode())


@case("classify a .gz file in line mode: the plain file's labels", expect=0)
def _(env: Env) -> Outcome:
    import gzip

    return _same_labels(env, "in.txt.gz", gzip.compress(TWO_LINES.encode()))


@case("classify --csv a header with terminal escapes: echoed escaped", expect=1)
def _(env: Env) -> Outcome:
    d = env.scratch()
    p = d / "evil.csv"
    p.write_bytes(b"\x1b[2J\x1b]0;owned\x07,\x1b[31mbody\nx,y\n")
    r = env.run("classify", "--csv", p, "--text-column", "missing")
    return finished(r, r.stderr, one_error(r.stderr) and b"\x1b" not in r.stderr and b"\\x1b[2J" in r.stderr)


@case("classify a 50 MB line: one label per line, peak RSS under 300 MB", expect=0)
def _(env: Env) -> Outcome:
    import json

    from benchmarks.rss import WRAPPER

    d = env.scratch()
    p = d / "huge.txt"
    words = b"stocks rose on monday as investors cheered the merger of two banks "
    with open(p, "wb") as f:
        f.write(b"short line\n")
        f.write(words * (50_000_000 // len(words)) + b"\n")
        f.write(b"goal coach season\n")
    report = d / "rss.json"
    r = subprocess.run([sys.executable, "-c", WRAPPER, report, *command("classify", p)], capture_output=True,
                       timeout=TIMEOUT)
    mib = json.loads(report.read_text())["maxrss_kib"] / 1024 if report.exists() else float("inf")
    return finished(r, r.stderr, r.stdout.count(b"\n") == 3 and mib < 300, f"peak RSS {mib:.0f} MiB")


@case("classify --eval a 110 MB labelled file: the report, peak RSS under 200 MB", expect=0)
def _(env: Env) -> Outcome:
    import json

    from benchmarks.rss import WRAPPER

    d = env.scratch()
    p = d / "big.csv"
    rows = [f'"{i % 4 + 1}","title {i}","{TOPICS[list(TOPICS)[i % 4]]} and some more words of filler"\n'
            for i in range(4000)]
    block = "".join(rows).encode()
    with open(p, "wb") as f:
        for _ in range(110_000_000 // len(block)):
            f.write(block)
    report = d / "rss.json"
    r = subprocess.run([sys.executable, "-c", WRAPPER, report, *command("classify", "--eval", p)],
                       capture_output=True, timeout=TIMEOUT)
    mib = json.loads(report.read_text())["maxrss_kib"] / 1024 if report.exists() else float("inf")
    return finished(r, r.stderr, r.stdout.startswith(b"N\t") and mib < 200, f"peak RSS {mib:.0f} MiB")


@case("classify a Parquet file in line mode: one line, no labels printed", expect=1)
def _(env: Env) -> Outcome:
    _, bundle = env.trained()
    p = env.scratch() / "data.parquet"
    p.write_bytes(b"PAR1" + bytes(range(256)) * 64 + b"\nstocks profit\n" + b"PAR1")
    r = env.run("classify", "-m", bundle, p)
    return finished(r, r.stderr, r.stdout == b"" and one_error(r.stderr) and b"a Parquet file" in r.stderr)


@case("train on an Excel workbook (.xlsx): one line naming it", expect=1)
def _(env: Env) -> Outcome:
    import zipfile

    d = env.scratch()
    p = d / "data.xlsx"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("xl/worksheets/sheet1.xml", "<worksheet/>")
    r = env.run("train", "--train", p, "--out", d / "run", *TINY)
    return finished(r, r.stderr, one_error(r.stderr) and b"Excel .xlsx" in r.stderr and not (d / "run").exists())


@case("classify --jsonl, a non-object on line 3 of stdin: one error naming the line", expect=1)
def _(env: Env) -> Outcome:
    _, bundle = env.trained()
    r = env.run("classify", "-m", bundle, "--jsonl", "-", "--batch-size", "1",
                input=b'{"text": "stocks profit"}\n{"text": "goal coach"}\n[1]\n')
    return finished(r, r.stderr, one_error(r.stderr)
                    and b"<stdin>:3: a JSON list where each row should be an object" in r.stderr)


@case("train on a headerless text<TAB>label<TAB>fine-label file (GermEval 2018's layout): the flags to give",
      expect=1)
def _(env: Env) -> Outcome:
    d = env.scratch()
    p = d / "germeval.training.txt"
    coarse = ["OTHER" if i % 3 else "OFFENSE" for i in range(60)]
    p.write_text("".join(f"@user tweet {i} über etwas\t{c}\t{'INSULT' if c == 'OFFENSE' else c}\n"
                         for i, c in enumerate(coarse)), encoding="utf-8")
    r = env.run("train", "--train", p, "--out", d / "run", "--epochs", "1", "--embed-dim", "8", "--hidden", "8")
    return finished(r, r.stderr, one_error(r.stderr) and b"give --label-column 2 --text-column 1" in r.stderr
                    and not (d / "run").exists())


# ------------------------------------------------------------------------------------ runner


def run_case(env: Env, c: Case) -> dict:
    t0 = time.perf_counter()
    try:
        o = c.fn(env)
    except Skip as e:
        return {"case": c.name, "exit": None, "traceback": None, "intact": None, "pass": None, "note": str(e)}
    except Exception as e:  # the harness itself failed: a failed row, with the reason
        return {"case": c.name, "exit": None, "traceback": None, "intact": False, "pass": False,
                "note": f"{type(e).__name__}: {e}"}
    tb = "Traceback (most recent call last)" in o.stderr
    ok = o.code in c.expect and not tb and o.intact
    note = o.note or (o.stderr.strip().splitlines()[-1] if o.stderr.strip() else "")
    note = note.replace(str(env.root), "$TMP").replace(tempfile.gettempdir() + "/lstmtc-full-", "$FULL-")[:90]
    return {"case": c.name, "exit": o.code, "expected": list(c.expect), "traceback": tb, "intact": o.intact,
            "pass": ok, "note": note, "seconds": round(time.perf_counter() - t0, 2)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", help="Comma-separated substrings: run the cases whose name holds one.")
    ap.add_argument("--json", help=f"Where to write the JSON [default: {OUT}/hostile.json].")
    ap.add_argument("--list", action="store_true", help="List the cases and exit.")
    args = ap.parse_args(argv)
    cases = CASES
    if args.only:
        keys = [k.strip() for k in args.only.split(",") if k.strip()]
        cases = [c for c in CASES if any(k in c.name for k in keys)]
    if args.list:
        for c in cases:
            print(c.name)
        return 0
    rows = []
    with tempfile.TemporaryDirectory(prefix="lstmtc-hostile-") as tmp:
        env = Env(Path(tmp))
        for c in cases:
            rows.append(run_case(env, c))
            print(("ok  " if rows[-1]["pass"] else "skip" if rows[-1]["pass"] is None else "FAIL"), c.name,
                  file=sys.stderr, flush=True)

    def yn(v):
        return "-" if v is None else ("yes" if v else "no")

    print_table("hostile inputs", ["case", "exit", "traceback", "data intact", "pass", "note"],
                [[r["case"], "-" if r["exit"] is None else r["exit"], yn(r["traceback"]), yn(r["intact"]),
                  {True: "PASS", False: "FAIL", None: "skip"}[r["pass"]], r["note"]] for r in rows])
    failed = [r for r in rows if r["pass"] is False]
    path = write_json(args.json, "hostile", {"cases": rows, "passed": sum(r["pass"] is True for r in rows),
                                             "failed": len(failed), "skipped": sum(r["pass"] is None for r in rows)})
    print(f"{len(rows) - len(failed)}/{len(rows)} rows pass or skip; JSON: {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
