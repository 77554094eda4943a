"""`python -m benchmarks` runs every section end to end on the tiny model (no timing assertions):
the JSON has every section's figures, and the torch baseline, lstmtc-classify and the in-process
stage timing all produce the same labels."""

from __future__ import annotations

import hashlib
import importlib
import json
import sys
from pathlib import Path

import pytest
from conftest import make_rows, write_agnews_csv

# benchmarks/ is a package at the repo root, not installed: make it importable under plain `pytest` too.
REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
runner = importlib.import_module("benchmarks.__main__")
stages = importlib.import_module("benchmarks.stages")
throughput = importlib.import_module("benchmarks.throughput")
torch_baseline = importlib.import_module("benchmarks.torch_baseline")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fake_runs(tiny_run, tiny_bundle, tmp_path_factory) -> Path:
    """A runs/ directory whose preset1 is the tiny model (preset2 is absent: reported as skipped)."""
    runs = tmp_path_factory.mktemp("runs")
    (runs / "preset1").mkdir()
    (runs / "preset1" / "best.pt").symlink_to(tiny_run / "best.pt")
    (runs / "preset1" / "bundle").symlink_to(tiny_bundle, target_is_directory=True)
    return runs


@pytest.fixture(scope="module")
def test_csv(tmp_path_factory) -> Path:
    rows = make_rows(120, seed=7)
    rows.append(("3", "It's \"quoted\" (really)!", "Yes: <br />a; b, c? Shares fell."))
    return write_agnews_csv(tmp_path_factory.mktemp("data") / "test.csv", rows)


def test_runner_writes_every_section(fake_runs, test_csv, tmp_path, capsys):
    out = tmp_path / "bench.json"
    rc = runner.main(["--quick", "--presets", "1", "2", "--runs", str(fake_runs), "--test", str(test_csv),
                      "--work", str(tmp_path / "work"), "--json", str(out), "--batch-size", "16",
                      "--repeats", "1", "--coldstart-runs", "1", "--csv-rows", "300",
                      "--batch-sizes", "1", "16", "--sweep-threads", "1"])
    assert rc == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert {"cpu", "cores", "onnxruntime", "torch"} <= set(data["machine"])
    assert set(data["sections"]) == set(runner.SECTIONS)
    assert data["bundles"]["2"]["skipped"] and data["bundles"]["1"]["bundle"].endswith("bundle")
    assert data["config"]["n_texts"] == 121
    for section, results in data["sections"].items():
        assert "error" not in results["1"], (section, results["1"])
        assert "reproduce" not in data["commands"][section] and f"--only {section}" in data["commands"][section]
    for section in runner.PER_PRESET:
        assert data["sections"][section]["2"]["skipped"].startswith("skipped")

    tp = data["sections"]["throughput"]["1"]
    assert tp["labels_identical"] is True and tp["label_mismatches"] == 0
    assert tp["n_docs"] == 121 and tp["lstmtc"]["docs_per_s"] > 0 and tp["torch"]["docs_per_s"] > 0
    assert tp["in_process"]["ratio"] > 0 and "ratio_steady" in tp and "steady_reliable" in tp

    st = data["sections"]["stages"]["1"]
    assert set(st["shares"]) == set(stages.STAGES)
    assert sum(st["shares"].values()) == pytest.approx(1.0)
    assert st["dominant"] in stages.STAGES

    cs = data["sections"]["coldstart"]["1"]
    assert cs["same_label"] is True and cs["median_s"]["lstmtc"] > 0 and cs["median_s"]["torch"] > 0

    rs = data["sections"]["rss"]["1"]
    assert [c["input"] for c in rs["cases"]][1:] == ["one line", "test set, lines", "test set, --csv",
                                                    "synthetic CSV, --csv"]
    assert [c["rows"] for c in rs["cases"]][1:] == [1, 121, 121, 300]
    assert all(c["peak_rss_mib"] > rs["cases"][0]["peak_rss_mib"] for c in rs["cases"][1:])

    q = data["sections"]["int8"]["1"]
    assert set(q["precisions"]) == {"fp32", "int8"} and 0 <= q["agreement"] <= 1
    assert 0 <= q["precisions"]["int8"]["accuracy"] <= 1

    sw = data["sections"]["sweep"]["1"]
    assert [(g["threads"], g["batch_size"]) for g in sw["grid"]] == [(1, 1), (1, 16)]

    bu = data["sections"]["budget"]["1"]
    m = bu["median_s"]
    assert bu["n_docs"] == 121 and set(m["lstmtc"]) == {"text", "run_fp32", "run_int8"}
    assert bu["torch_total_s"] == pytest.approx(m["torch"]["collate"] + m["torch"]["forward"])
    assert bu["ceiling_free_text"] == pytest.approx(bu["torch_total_s"] / m["lstmtc"]["run_fp32"])
    assert bu["ceiling_free_text"] > bu["ratio"] > 0 and bu["ceiling_int8_free_text"] > 0

    assert {t["target"][:2] for t in data["targets"]} == {"1.", "2.", "3."}
    printed = capsys.readouterr().out
    for title in ("1. end-to-end throughput", "2. where", "3. cold start", "4. peak RSS", "5. int8", "6. batch",
                  "7. time budget"):
        assert title in printed


def test_baseline_cli_and_stages_agree(tiny_run, tiny_bundle, tmp_path):
    """The torch baseline, lstmtc-classify and the in-process stage loop write byte-identical output,
    blank lines included."""
    texts = [f"{t}. {d}" for _, t, d in make_rows(60, seed=11)]
    texts[5] = ""
    texts[17] = "   "
    src = runner.write_lines(tmp_path / "texts.txt", texts)
    cli_out, torch_out = tmp_path / "cli.out", tmp_path / "torch.out"
    throughput.run_process(throughput.lstmtc_cmd(tiny_bundle, 1, 16), stdin_path=src, stdout_path=cli_out)
    throughput.run_process(throughput.baseline_cmd(tiny_run / "best.pt", 1, 16), stdin_path=src,
                           stdout_path=torch_out)
    assert throughput.compare_outputs(cli_out, torch_out) == (True, 0)
    lines = cli_out.read_text(encoding="utf-8").split("\n")
    assert len(lines) == 61 and lines[5] == lines[17] == "" and lines[0]
    r = stages.measure(tiny_bundle, src, 1, 16, 1, tmp_path)
    assert r["output_sha256"] == hashlib.sha256(cli_out.read_bytes()).hexdigest()
    r = stages.measure(tiny_bundle, src, 1, 16, 1, tmp_path, output="-o")
    assert r["output_sha256"] == hashlib.sha256(cli_out.read_bytes()).hexdigest()
    # the collate path and lstmtc's own pipeline give the same ids, so the same model predicts the same
    clf = torch_baseline.TorchClassifier(tiny_run / "best.pt", batch_size=7)
    assert clf.label_lines(texts) == lines[:-1]
