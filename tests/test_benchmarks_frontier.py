"""benchmarks/frontier.py end to end on synthetic AG-News-shaped files: the peers train on exactly
lstmtc-train's split, every model is timed as a whole process, and the table, JSON and chart are
written; benchmarks/peer_predict.py keeps one output line per input line."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_rows, write_agnews_csv

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
pytest.importorskip("sklearn")
pytest.importorskip("fasttext")
frontier = importlib.import_module("benchmarks.frontier")


def _pool(path: Path, n: int = 400) -> Path:
    import csv

    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["label", "text"])
        w.writerows((lab, f"{title} {body}") for lab, title, body in make_rows(n, seed=5))
    return path


def test_split_is_lstmtc_trains_split(tmp_path):
    from lstmtc.infer.data import read_labelled
    from lstmtc.train.config import recipe_config
    from lstmtc.train.prepare import prepare

    pool = _pool(tmp_path / "pool.csv")
    train, valid = frontier.split_pool(pool)
    prep = prepare(pool, recipe_config())
    names = read_labelled(pool).labelset.values
    assert len(train) == len(prep.x_train) and len(valid) == len(prep.x_valid)
    assert [lab for lab, _ in valid] == [names[int(y)] for y in prep.y_valid]


def test_frontier_end_to_end(tiny_bundle, tmp_path):
    pool = _pool(tmp_path / "pool.csv")
    test = write_agnews_csv(tmp_path / "test.csv", make_rows(80, seed=6))
    out = frontier.main(["--pool", str(pool), "--test", str(test), "--bundle", f"tiny={tiny_bundle}",
                         "--runs", str(tmp_path / "no-runs"), "--copies", "2", "--repeats", "1",
                         "--work", str(tmp_path / "work"), "--json", str(tmp_path / "f.json"),
                         "--png", str(tmp_path / "f.png")])
    names = {m["name"] for m in out["models"]}
    assert names == {"tiny", "TF-IDF 1-2g + LR", "fastText bigrams"}
    assert out["lines"] == 160
    for m in out["models"]:
        assert 0 <= m["accuracy"] <= 1 and m["docs_per_s"] > 0 and len(m["wall_s"]) == 1
    fast = next(m for m in out["models"] if m["name"] == "fastText bigrams")
    assert fast["docs_per_s_vs_fasttext"] == 1.0
    saved = json.loads((tmp_path / "f.json").read_text())
    assert [m["name"] for m in saved["models"]] == [m["name"] for m in out["models"]]
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("kind", ["tfidf", "fasttext"])
def test_peer_predict_keeps_lines_aligned(tmp_path, kind):
    from benchmarks import peers

    rows = [(lab, f"{t} {b}") for lab, t, b in make_rows(120, seed=7)]
    if kind == "tfidf":
        import joblib

        r = peers.run_tfidf(rows, rows[:20], rows[:20], max_iter=200, seed=0, keep=True)
        model = tmp_path / "m.joblib"
        joblib.dump(r["fitted"], model)
    else:
        r = peers.run_fasttext(rows, rows[:20], rows[:20], tmp_path / "ft", seed=0, threads=1, keep=True)
        model = tmp_path / "m.bin"
        r["fitted"].save_model(str(model))
    text = "shares fell after the merger\n\n   \nthe striker scored a goal\n"
    p = subprocess.run([sys.executable, str(REPO / "benchmarks" / "peer_predict.py"), kind, str(model)],
                       input=text.encode(), capture_output=True, check=True)
    lines = p.stdout.decode().split("\n")
    assert lines[-1] == "" and len(lines) == 5
    assert lines[1] == "" and lines[2] == ""
    assert lines[0] in {"1", "2", "3", "4"} and lines[3] in {"1", "2", "3", "4"}


def test_names_of_close_points_do_not_overlap():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from benchmarks.frontier import place_labels

    rows = [{"name": "recipe with 128 units", "docs_per_s": 6834, "accuracy": 0.9262},
            {"name": "recipe before the linear model", "docs_per_s": 6874, "accuracy": 0.9251},
            {"name": "TF-IDF 1-2g + LR", "docs_per_s": 6509, "accuracy": 0.9153},
            {"name": "recipe without vectors", "docs_per_s": 6270, "accuracy": 0.9136},
            {"name": "default recipe before the bag", "docs_per_s": 6442, "accuracy": 0.9096},
            {"name": "fastText bigrams", "docs_per_s": 40289, "accuracy": 0.9045}]
    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    ax.scatter([r["docs_per_s"] for r in rows], [r["accuracy"] * 100 for r in rows])
    ax.set_xscale("log")
    fig.tight_layout()
    labels = place_labels(ax, rows)
    renderer = fig.canvas.get_renderer()
    boxes = [label.get_window_extent(renderer) for label in labels]
    assert [label.get_text() for label in labels] == [r["name"] for r in rows]
    inside = ax.get_window_extent(renderer)
    assert all(inside.x0 <= b.x0 and b.x1 <= inside.x1 for b in boxes)  # fastText's name not cut off
    for i in range(len(boxes)):
        for j in range(i):
            assert not boxes[i].overlaps(boxes[j]), (rows[i]["name"], rows[j]["name"])
    plt.close(fig)
