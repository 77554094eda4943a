"""Shared fixtures: synthetic labelled data, a tiny trained checkpoint and its exported bundle.

The synthetic data is made here (no AG News text in the repo): four topics, each with its own
words, so a tiny model learns them in a couple of epochs.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ag_news"
NEEDS_SHARED = pytest.mark.skipif(not SHARED.exists(), reason=f"{SHARED} is absent (CI always has it)")

TOPICS = {
    "1": ["election", "minister", "troops", "embassy", "parliament", "ceasefire", "rebels", "diplomat"],
    "2": ["striker", "goal", "coach", "tournament", "season", "playoff", "pitcher", "medal"],
    "3": ["profit", "shares", "bankruptcy", "investors", "quarterly", "merger", "pensions", "stocks"],
    "4": ["software", "chip", "internet", "genome", "laptop", "satellite", "browser", "researchers"],
}
FILLER = ["the", "a", "of", "in", "on", "said", "after", "new", "reports", "today", "and", "to"]


def make_rows(n: int, seed: int = 0) -> list[tuple[str, str, str]]:
    """(label 1..4, title, description) rows with topic words mixed into filler."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = str(i % 4 + 1)
        words = TOPICS[label]
        title = " ".join(rng.choice(words + FILLER) for _ in range(rng.randint(2, 5))).capitalize()
        body = " ".join(rng.choice(words + FILLER + FILLER) for _ in range(rng.randint(5, 25)))
        rows.append((label, title, body + "."))
    return rows


def write_agnews_csv(path: Path, rows) -> Path:
    """The original AG News layout: no header, every field quoted."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows(rows)
    return path


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("synth")
    write_agnews_csv(d / "train.csv", make_rows(800, seed=1))
    write_agnews_csv(d / "test.csv", make_rows(200, seed=2))
    return d


@pytest.fixture(scope="session")
def tiny_run(synth_dir, tmp_path_factory) -> Path:
    """A small preset-2-shaped model trained for a few epochs on the synthetic data."""
    from lstmtc.train.config import TrainConfig
    from lstmtc.train.loop import train

    out = tmp_path_factory.mktemp("run") / "tiny"
    cfg = TrainConfig(epochs=4, batch_size=32, max_tokens=20, seed=0, lr=1e-2)
    train(synth_dir / "train.csv", out, cfg, {"hidden_sizes": (16,), "embed_dim": 16}, progress=False,
          log=lambda s: None)
    return out


@pytest.fixture(scope="session")
def tiny_bundle(tiny_run, tmp_path_factory) -> Path:
    from lstmtc.export import export_bundle

    out = tmp_path_factory.mktemp("bundle") / "tiny"
    export_bundle(tiny_run / "best.pt", out, precisions=("int8",))
    return out


@pytest.fixture(scope="session")
def tiny_classifier(tiny_bundle):
    """The tiny bundle loaded once (fp32) for tests that compare the CLI against the Python API."""
    from lstmtc.infer import Classifier

    return Classifier.load(tiny_bundle)


@pytest.fixture(scope="session", autouse=True)
def _torch_single_thread():
    """Tiny models train and export many times faster on one thread (no thread contention on a
    busy CI box); results do not depend on it. Inference-only test runs never import torch here."""
    import sys

    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)
    yield


def torchtext_file(relative: str) -> Path | None:
    """Path of a file inside the installed torchtext, found without importing the package
    (importing it fails beside a current torch; its pure-Python files still load by path)."""
    import importlib.util

    spec = importlib.util.find_spec("torchtext")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        path = Path(root) / relative
        if path.is_file():
            return path
    return None


def import_blocker(*blocked: str, announce: bool = False) -> str:
    """Python source that makes the named packages (and anything below them) unimportable, as on
    a machine where only `pip install lstmtc` ran; put it in front of a `python -c` script.
    ``announce`` also writes "blocked import: NAME" to stderr, so that an attempt the code under
    test catches and hides is still seen."""
    say = "        sys.stderr.write(f'blocked import: {name}\\n')\n" if announce else ""
    return (
        "import sys\n"
        f"_BLOCKED = {tuple(blocked)!r}\n"
        "class _Blocker:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if any(name == b or name.startswith(b + '.') for b in _BLOCKED):\n"
        + say.replace("        ", "            ", 1) +
        "            raise ImportError(f'{name} is blocked by this test')\n"
        "        return None\n"
        "sys.meta_path.insert(0, _Blocker())\n"
        "for _m in list(sys.modules):\n"
        "    if any(_m == b or _m.startswith(b + '.') for b in _BLOCKED):\n"
        "        del sys.modules[_m]\n"
    )
