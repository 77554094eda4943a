"""``lstmtc-evaluate`` (and ``lstmtc-classify --eval``, which shares its column and confusion
logic): a checkpoint and its bundle give the same report; the model's training columns are used
without flags; many classes get the most-confused pairs and a PNG that stays readable."""

from __future__ import annotations

import json
import shutil
import struct

import numpy as np
import pytest
from click.testing import CliRunner

from lstmtc import __version__
from lstmtc.train.evaluate import evaluate_model, predict_file
from lstmtc.train.evaluate_cli import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
AG = ["World", "Sports", "Business", "Sci/Tech"]


def invoke(args):
    return CliRunner().invoke(main, [str(a) for a in args])


def check_png(path, max_side: int | None = None) -> tuple[int, int]:
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert width > 100 and height > 100
    if max_side:
        assert width <= max_side and height <= max_side
    assert data.rstrip(b"\x00")[-8:-4] == b"IEND"
    return width, height


def check_metrics(m: dict, n: int):
    assert m["n"] == n
    assert 0.0 <= m["accuracy"] <= 1.0
    cm = np.asarray(m["confusion_matrix"])
    assert cm.shape == (4, 4) and cm.sum() == n
    assert m["accuracy"] == pytest.approx(np.trace(cm) / n)
    rep = m["classification_report"]
    for name in AG:
        assert {"precision", "recall", "f1-score", "support"} <= set(rep[name])
    assert [int(rep[name]["support"]) for name in AG] == cm.sum(axis=1).tolist()
    assert m["labels"] == AG


def test_checkpoint_and_bundle_same_predictions(tiny_run, tiny_bundle, synth_dir):
    test = synth_dir / "test.csv"
    g1, p1, l1, k1 = predict_file(tiny_run / "best.pt", test)
    g2, p2, l2, k2 = predict_file(tiny_bundle, test)
    assert (k1, k2) == ("checkpoint", "bundle")
    assert l1 == l2 == AG
    assert np.array_equal(g1, g2)
    assert np.array_equal(p1, p2)
    res = evaluate_model(tiny_run, test)
    check_metrics(res, 200)
    assert res["accuracy"] > 0.8  # the tiny model learned the synthetic topics


def test_cli_checkpoint_and_bundle_same_accuracy(tiny_run, tiny_bundle, synth_dir, tmp_path):
    test = synth_dir / "test.csv"
    results = {}
    for kind, model in (("checkpoint", tiny_run / "best.pt"), ("bundle", tiny_bundle)):
        out = tmp_path / kind
        r = invoke([model, test, "--out", out])
        assert r.exit_code == 0, r.output
        assert "accuracy" in r.output and "N=200" in r.output
        m = json.loads((out / "metrics.json").read_text())
        check_metrics(m, 200)
        assert m["model_kind"] == kind
        check_png(out / "confusion_matrix.png")
        results[kind] = m
    assert results["checkpoint"]["accuracy"] == results["bundle"]["accuracy"]
    assert results["checkpoint"]["confusion_matrix"] == results["bundle"]["confusion_matrix"]


def test_one_report_for_lstmtc_evaluate_and_classify_eval(tiny_bundle, synth_dir):
    """Same figures, same tables: lstmtc-evaluate prints classify --eval's report under a line
    naming the model and the data."""
    from lstmtc.infer.apps.classify_cli import main as classify

    test = synth_dir / "test.csv"
    ev = invoke([tiny_bundle, test])
    cl = CliRunner().invoke(classify, ["-m", str(tiny_bundle), "--eval", str(test)])
    assert ev.exit_code == 0 and cl.exit_code == 0, (ev.output, cl.output)
    head, rest = ev.stdout.split("\n", 1)
    assert head.startswith("classification report of ") and "N=200" in head
    assert rest == cl.stdout and rest.startswith("N\t200\naccuracy\t") and "per class" in rest


def test_cli_without_out_writes_nothing(tiny_run, synth_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = invoke([tiny_run, synth_dir / "test.csv"])
    assert r.exit_code == 0, r.output
    assert "classification report" in r.output and "confusion matrix" in r.output
    assert list(tmp_path.iterdir()) == []


def test_cli_quoting_option(tiny_run, tmp_path):
    tsv = tmp_path / "q.tsv"
    tsv.write_text('label\ttext\n1\ttroops and the embassy\n2\t"goal for the striker\n3\tshares rose\n',
                   encoding="utf-8")
    r = invoke([tiny_run, tsv])  # quotes are text in TSV by default
    assert r.exit_code == 0 and "N=3" in r.output, r.output
    r = invoke([tiny_run, tsv, "--quoting", "csv"])  # the stray quote would swallow the line after it: an error
    assert r.exit_code == 1 and f"{tsv}:3: a quoted field starting in this record is never closed" in r.output


def test_cli_version_and_help():
    r = invoke(["--version"])
    assert r.exit_code == 0 and __version__ in r.output
    r = invoke(["--help"])
    assert r.exit_code == 0 and "MODEL" in r.output


def _error_line(r) -> str:
    assert r.exit_code == 1, r.output
    assert "Traceback" not in r.output and isinstance(r.exception, SystemExit)
    lines = [ln for ln in r.output.splitlines() if ln.startswith("Error:")]
    assert len(lines) == 1, r.output
    return lines[0]


def test_cli_not_a_model(tmp_path, synth_dir):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x00\x01 nothing")
    assert str(junk) in _error_line(invoke([junk, synth_dir / "test.csv"]))


def test_cli_unknown_label_names_file_and_line(tiny_run, tmp_path):
    data = tmp_path / "odd.csv"
    data.write_text('"1","t","a b"\n"9","t","c d"\n')
    line = _error_line(invoke([tiny_run, data]))
    assert f"{data}:2" in line and "'9'" in line


def test_cli_unwritable_out(tiny_run, synth_dir, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    assert "a_file" in _error_line(invoke([tiny_run, synth_dir / "test.csv", "--out", blocker / "sub"]))


# --------------------------------------------------------------------------- many classes, own columns

# 14 classes (more than the 12 a terminal matrix shows) with mixed-case names and numbers in them.
INTENTS = ["Zebra", "apple", "Banana", "cherry", "Date", "intent1", "Intent2", "intent10", "yak", "Xylo", "mango",
           "Nectarine", "olive", "Papaya"]
HUMAN_ORDER = ["apple", "Banana", "cherry", "Date", "intent1", "Intent2", "intent10", "mango", "Nectarine", "olive",
               "Papaya", "Xylo", "yak", "Zebra"]
COLUMNS = {"text": "message", "title": None, "label": "intent"}


def intent_rows(per_class: int, seed: int, mislabel_every: int = 0) -> list[list[str]]:
    """(id, intent, message): each class has its own words. With ``mislabel_every`` every n-th
    row carries the next class's label, so the report has confusions to show."""
    import random

    rng = random.Random(seed)
    rows = []
    for k in range(per_class):
        for i, name in enumerate(INTENTS):
            words = [f"w{i}x{j}" for j in range(4)] + ["the", "a", "please", "my"]
            label = name
            if mislabel_every and (k * len(INTENTS) + i) % mislabel_every == 0:
                label = INTENTS[(i + 1) % len(INTENTS)]
            rows.append([str(len(rows)), label, " ".join(rng.choice(words) for _ in range(rng.randint(3, 8)))])
    return rows


def write_csv(path, header, rows):
    import csv

    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        if header:
            w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture(scope="module")
def intent_data(tmp_path_factory):
    d = tmp_path_factory.mktemp("intents")
    write_csv(d / "train.csv", ["id", "intent", "message"], intent_rows(30, seed=1))
    test = intent_rows(8, seed=2, mislabel_every=9)
    write_csv(d / "test.csv", ["id", "intent", "message"], test)
    write_csv(d / "plain.csv", ["label", "text"], [[r[1], r[2]] for r in test])  # names today's detection knows
    return d


@pytest.fixture(scope="module")
def intent_run(intent_data, tmp_path_factory):
    """A tiny model trained with --text-column message --label-column intent on 14 classes."""
    from lstmtc.train.config import TrainConfig
    from lstmtc.train.loop import train

    out = tmp_path_factory.mktemp("intent_run") / "run"
    cfg = TrainConfig(epochs=5, batch_size=32, max_tokens=12, seed=0, lr=3e-2)
    train(intent_data / "train.csv", out, cfg, {"hidden_sizes": (16,), "embed_dim": 16, "pooling": "max"},
          read_options={"text_column": "message", "label_column": "intent"}, progress=False, log=lambda s: None)
    return out


@pytest.fixture(scope="module")
def intent_bundle(intent_run, tmp_path_factory):
    from lstmtc.export import export_bundle

    out = tmp_path_factory.mktemp("intent_bundle") / "b"
    export_bundle(intent_run / "best.pt", out)
    return out


def test_new_model_orders_classes_as_a_person_and_records_its_columns(intent_run, intent_bundle):
    from lstmtc.train.checkpoint import read_checkpoint

    assert read_checkpoint(intent_run / "best.pt")["labels"] == HUMAN_ORDER
    m = json.loads((intent_bundle / "bundle.json").read_text())
    assert m["labels"] == HUMAN_ORDER and m["version"] == 2
    assert m["columns"] == COLUMNS


@pytest.mark.parametrize("kind", ["checkpoint", "bundle"])
def test_evaluate_takes_the_columns_from_the_model(kind, intent_run, intent_bundle, intent_data, tmp_path):
    model = intent_run if kind == "checkpoint" else intent_bundle
    test = intent_data / "test.csv"
    r = invoke([model, test, "--out", tmp_path / "eval"])  # no --text-column / --label-column
    assert r.exit_code == 0, r.output
    assert "columns from the model: text=message, label=intent" in r.output
    m = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert m["columns_from_model"] == {"text": "message", "label": "intent"}
    explicit = evaluate_model(model, test, {"text_column": "message", "label_column": "intent"})
    assert "columns_from_model" not in explicit  # the flags were given: nothing taken from the model
    assert (m["accuracy"], m["confusion_matrix"]) == (explicit["accuracy"], explicit["confusion_matrix"])
    assert m["n"] == 112 and m["accuracy"] > 0.7
    # 14 classes: the per-class table stays (in the model's order), the matrix gives way to the pairs
    assert "most confused pairs" in r.output and "confusion matrix (rows" not in r.output
    where = tmp_path / "eval" / "metrics.json"
    assert f"of 112 documents misclassified, 14 classes; the full 14x14 matrix: {where}\n" in r.output
    report_rows = [ln.split("│")[1].strip() for ln in r.output.splitlines() if ln.count("│") == 6]
    assert [x for x in report_rows if x in HUMAN_ORDER] == HUMAN_ORDER
    check_png(tmp_path / "eval" / "confusion_matrix.png", max_side=2000)


def test_command_line_columns_win_and_missing_ones_fall_back(intent_run, intent_data):
    # --text-column given: only the label comes from the model
    r = invoke([intent_run, intent_data / "test.csv", "--text-column", "id"])
    assert r.exit_code == 0, r.output
    assert "columns from the model: label=intent" in r.output
    # a file without the model's columns: today's detection (label, text), nothing taken
    r = invoke([intent_run, intent_data / "plain.csv"])
    assert r.exit_code == 0, r.output
    assert "N=112" in r.output and "columns from the model" not in r.output


def test_classify_eval_takes_the_columns_from_the_bundle(intent_bundle, intent_data, tmp_path):
    from lstmtc.infer.apps.classify_cli import main as classify

    test = intent_data / "test.csv"
    r = CliRunner().invoke(classify, ["-m", str(intent_bundle), "--eval", str(test)])
    assert r.exit_code == 0, r.output
    assert r.stderr == "columns from the model: text=message, label=intent\n"
    want = evaluate_model(intent_bundle, test)
    assert r.stdout.splitlines()[:2] == ["N\t112", f"accuracy\t{want['accuracy']:.4f}"]
    assert "most confused pairs" in r.stdout and "confusion matrix (rows" not in r.stdout
    # A bundle that does not record its columns (made before they were recorded) reads as before:
    # the file's own header names nothing it knows, so the columns must be named.
    old = tmp_path / "old"
    shutil.copytree(intent_bundle, old)
    manifest = json.loads((old / "bundle.json").read_text())
    del manifest["columns"]
    (old / "bundle.json").write_text(json.dumps(manifest))
    r = CliRunner().invoke(classify, ["-m", str(old), "--eval", str(test)])
    assert r.exit_code == 1 and "unknown label" in r.stderr
    r = CliRunner().invoke(classify, ["-m", str(old), "--eval", str(test), "--text-column", "message",
                                      "--label-column", "intent"])
    assert r.exit_code == 0 and r.stderr == "" and r.stdout.splitlines()[1] == f"accuracy\t{want['accuracy']:.4f}"


def test_old_code_point_ordered_model_keeps_its_order(intent_run, intent_data, tmp_path):
    """A model trained before the person's sort order stored its classes in code-point order; it
    must read back in that order, with the same predictions, whatever LabelSet.infer does now."""
    import torch

    from lstmtc.train.checkpoint import read_checkpoint, save_checkpoint

    ckpt = read_checkpoint(intent_run / "best.pt")
    old_order = sorted(HUMAN_ORDER)  # code point: capitals first
    assert old_order != HUMAN_ORDER
    perm = [HUMAN_ORDER.index(n) for n in old_order]
    state = dict(ckpt["state_dict"])
    state["head.weight"] = state["head.weight"][perm].clone()
    state["head.bias"] = state["head.bias"][perm].clone()
    old = {k: v for k, v in ckpt.items() if k not in ("path", "format", "version", "lstmtc_version")}
    old.update(state_dict=state, labels=old_order, label_values=old_order)
    save_checkpoint(tmp_path / "old.pt", old)
    assert isinstance(state["head.weight"], torch.Tensor)

    test = intent_data / "test.csv"
    g_new, p_new, l_new, _ = predict_file(intent_run / "best.pt", test)
    g_old, p_old, l_old, _ = predict_file(tmp_path / "old.pt", test)
    assert l_new == HUMAN_ORDER and l_old == old_order
    assert [l_new[i] for i in g_new] == [l_old[i] for i in g_old]
    assert [l_new[i] for i in p_new] == [l_old[i] for i in p_old]


def test_numbered_columns_carry_only_to_headerless_files(tiny_run, synth_dir, tmp_path):
    """Columns named by number for a headerless training file apply to another headerless file,
    never to one with a header."""
    import csv

    from lstmtc.train.checkpoint import read_checkpoint, save_checkpoint

    ckpt = read_checkpoint(tiny_run / "best.pt")
    numbered = {k: v for k, v in ckpt.items() if k not in ("path", "format", "version", "lstmtc_version")}
    numbered["read_options"] = {"header": False, "text_column": "3", "label_column": "1"}
    save_checkpoint(tmp_path / "numbered.pt", numbered)
    res = evaluate_model(tmp_path / "numbered.pt", synth_dir / "test.csv")
    assert res["columns_from_model"] == {"text": "3", "label": "1"} and res["n"] == 200
    rows = list(csv.reader(open(synth_dir / "test.csv", encoding="utf-8", newline="")))
    write_csv(tmp_path / "header.csv", ["class_index", "title", "description"], rows)
    res = evaluate_model(tmp_path / "numbered.pt", tmp_path / "header.csv")
    assert "columns_from_model" not in res and res["n"] == 200


# --------------------------------------------------------------------------- with_model_columns


@pytest.mark.parametrize(("header", "options", "columns", "want", "taken"), [
    # the model's names, found in the header
    ("id,intent,message", {}, COLUMNS, {"text_column": "message", "label_column": "intent"},
     {"text": "message", "label": "intent"}),
    # found case-insensitively, as --text-column finds them
    ("ID,Intent,Message", {}, COLUMNS, {"text_column": "message", "label_column": "intent"},
     {"text": "message", "label": "intent"}),
    # the command line wins
    ("id,intent,message", {"text_column": "id"}, COLUMNS, {"text_column": "id", "label_column": "intent"},
     {"label": "intent"}),
    # a column the file lacks is left to detection
    ("intent,text", {}, COLUMNS, {"label_column": "intent"}, {"label": "intent"}),
    ("label,text", {}, COLUMNS, {}, {}),
    # title too
    ("headline,body,tag", {}, {"text": "body", "title": "headline", "label": "tag"},
     {"text_column": "body", "title_column": "headline", "label_column": "tag"},
     {"text": "body", "title": "headline", "label": "tag"}),
    # --no-header: no names to find
    ("id,intent,message", {"header": False}, COLUMNS, {"header": False}, {}),
    # numbers (a headerless training file): to headerless files only
    ("3,x y z,w v", {}, {"text": "3", "title": None, "label": "1"}, {"text_column": "3", "label_column": "1"},
     {"text": "3", "label": "1"}),
    ("class_index,title,description", {}, {"text": "3", "title": None, "label": "1"}, {}, {}),
    ("intent,message,extra", {"label_column": "intent"}, {"text": "2", "title": None, "label": "1"},
     {"label_column": "intent"}, {}),
    ("3,x y z", {}, {"text": "3", "title": None, "label": "1"}, {"label_column": "1"}, {"label": "1"}),  # no col 3
    # nothing recorded (older bundles)
    ("id,intent,message", {}, None, {}, {}),
    ("id,intent,message", {}, {"text": None, "title": None, "label": None}, {}, {}),
])
def test_with_model_columns(tmp_path, header, options, columns, want, taken):
    from lstmtc.infer.scoring.report import with_model_columns

    f = tmp_path / "d.csv"
    f.write_text(header + "\n1,2,3\n", encoding="utf-8")
    assert with_model_columns(f, options, columns) == ({**options, **want}, taken)


def test_with_model_columns_unreadable_file_is_left_to_the_reader(tmp_path):
    from lstmtc.infer.scoring.report import with_model_columns

    assert with_model_columns(tmp_path / "missing.csv", {}, COLUMNS) == ({}, {})
    (tmp_path / "empty.csv").write_text("")
    assert with_model_columns(tmp_path / "empty.csv", {}, COLUMNS) == ({}, {})
    tsv = tmp_path / "d.tsv"
    tsv.write_text("id\tintent\tmessage\n1\ta\tb\n")
    assert with_model_columns(tsv, {}, COLUMNS)[1] == {"text": "message", "label": "intent"}


# --------------------------------------------------------------------------- report pieces


def test_confused_pairs_order_and_share():
    from lstmtc.infer.scoring.report import confused_pairs

    cm = [[5, 3, 0], [1, 8, 3], [0, 0, 4]]
    pairs = confused_pairs(cm, ["a", "b", "c"])
    assert [(p["true"], p["predicted"], p["count"]) for p in pairs] == [("a", "b", 3), ("b", "c", 3), ("b", "a", 1)]
    assert pairs[0]["share"] == pytest.approx(3 / 8) and pairs[1]["share"] == pytest.approx(3 / 12)
    assert len(confused_pairs(np.ones((20, 20), dtype=int), [str(i) for i in range(20)])) == 15
    assert confused_pairs(np.eye(3, dtype=int), ["a", "b", "c"]) == []


def _printed(cm, labels) -> str:
    import io

    from rich.console import Console

    from lstmtc.infer.scoring.report import print_confusion

    out = io.StringIO()
    print_confusion(Console(file=out, width=120), cm, labels, "NOTE")
    return out.getvalue()


def test_print_confusion_matrix_up_to_12_classes_pairs_beyond():
    twelve = [f"c{i}" for i in range(12)]
    cm = np.eye(12, dtype=int) * 5
    cm[3, 7] = 2
    text = _printed(cm, twelve)
    assert "confusion matrix (rows: true, columns: predicted)" in text and "most confused" not in text
    thirteen = [f"[c{i}]" for i in range(13)]  # rich markup in names is printed as written
    cm = np.eye(13, dtype=int) * 5
    cm[3, 7], cm[0, 12] = 2, 4
    text = _printed(cm, thirteen)
    assert "most confused pairs (top 2 of 2)" in text
    assert "6 of 71 documents misclassified, 13 classes; NOTE" in text
    lines = [ln for ln in text.splitlines() if "[c" in ln]
    assert "[c0]" in lines[0] and "[c12]" in lines[0] and "4" in lines[0] and "44.4%" in lines[0]
    assert "[c3]" in lines[1] and "[c7]" in lines[1] and "28.6%" in lines[1]
    assert "no confusions: all 65 documents" in _printed(np.eye(13, dtype=int) * 5, thirteen)


@pytest.mark.parametrize("n", [4, 20, 77])
def test_confusion_png_stays_readable_and_small(n, tmp_path):
    from lstmtc.train.evaluate import confusion_layout, plot_confusion

    labels = [f"intent_{i}_" + "x" * (i % 45) for i in range(n)]
    lay = confusion_layout(labels)
    assert lay["values"] == (n <= 20) and lay["tick_font"] >= 6
    if n == 20:
        return  # the layout is what matters; rendering 20 and 77 both costs seconds
    rng = np.random.default_rng(0)
    cm = np.diag(rng.integers(20, 60, n)) + rng.poisson(0.5, (n, n))
    result = {"labels": labels, "confusion_matrix": cm.tolist(), "n": int(cm.sum()),
              "accuracy": float(np.trace(cm) / cm.sum())}
    plot_confusion(result, tmp_path / "cm.png")
    width, height = check_png(tmp_path / "cm.png", max_side=2000)
    if n == 4:
        assert width < 1000 and height < 1000
    else:
        assert min(width, height) > 1500  # big classes get the room
