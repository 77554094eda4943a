"""Scale-out scoring on Dask (lstmtc.infer.apps.cluster, lstmtc-classify --engine dask).

A LocalCluster of two worker processes (one thread each) scores multi-file CSV datasets; every
part file must equal, byte for byte, what single-machine mode writes for its input file. One test
SIGKILLs a busy worker mid-run and still gets the complete, identical result.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import TOPICS, make_rows, write_agnews_csv

pytest.importorskip("dask.dataframe")
pytest.importorskip("distributed")

from lstmtc.infer.apps import cluster as ldask  # noqa: E402
from lstmtc.infer.apps.classify_cli import main  # noqa: E402
from lstmtc.infer.errors import DataError  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
LABELS = ["World", "Sports", "Business", "Sci/Tech"]
TRICKY = [
    'Stocks rose, shares "jumped"\nafter the merger',  # comma, quotes, quoted newline
    "",
    "   ",
    "Café owners' profit — 日本 chip\r\nline two",
    "goal; coach: (season) [playoff]!",
]


def invoke(args):
    return CliRunner().invoke(main, [str(a) for a in args])


def write_dataset(d: Path, sizes=(300, 0, 450, 200, 350), seed: int = 0, bom_file: int = 2) -> list[Path]:
    """CSV files with a header (id,title,text): synthetic news plus awkward fields; one file with a
    BOM, some with CRLF line ends, one with a header only."""
    d.mkdir(parents=True, exist_ok=True)
    paths = []
    for f, n in enumerate(sizes):
        rows = []
        for i, (_, title, body) in enumerate(make_rows(n, seed=seed + f)):
            if i % 23 == 0:
                body = TRICKY[(i // 23) % len(TRICKY)]
            if i % 37 == 5:
                title = ""
            rows.append([f"{f}-{i}", title, body])
        buf = io.StringIO(newline="")
        csv.writer(buf, lineterminator="\r\n" if f % 2 else "\n").writerows([["id", "title", "text"]] + rows)
        p = d / f"news-{f:02d}.csv"
        p.write_bytes((b"\xef\xbb\xbf" if f == bom_file else b"") + buf.getvalue().encode("utf-8"))
        paths.append(p)
    return paths


def single_machine(paths, bundle, tmp: Path, *args) -> list[bytes]:
    """What --engine local writes for each file."""
    out = []
    for p in paths:
        target = tmp / f"single-{p.name}"
        r = invoke(["-m", bundle, "--csv", p, *args, "-o", target])
        assert r.exit_code == 0, r.output
        out.append(target.read_bytes())
    return out


def parts(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if p.name.startswith("part-"))


def assert_complete(out: Path, expected: list[bytes], paths, ext="csv", header=True):
    names = sorted(p.name for p in out.iterdir())
    assert names == ["_SUCCESS"] + [f"part-{i:05d}.{ext}" for i in range(len(paths))]
    got = [p.read_bytes() for p in parts(out)]
    for i, (g, e) in enumerate(zip(got, expected)):
        assert g == e, f"part {i} differs from single-machine output of {paths[i].name}"
    success = json.loads((out / "_SUCCESS").read_text())
    assert [f["source"] for f in success["files"]] == [os.path.abspath(p) for p in paths]
    records = [len(list(csv.reader(io.StringIO(e.decode(), newline="")))) - header for e in expected]
    assert [f["rows"] for f in success["files"]] == records and success["rows"] == sum(records)
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")], "temporary dirs left"


@pytest.fixture(scope="module")
def cluster():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0")
    try:
        client = Client(cluster)
        try:
            yield cluster, client
        finally:
            client.close()
    finally:
        cluster.close()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    d = tmp_path_factory.mktemp("dask-in")
    return write_dataset(d / "in")


# --------------------------------------------------------------------------------- results


def test_multi_file_dataset_equals_single_machine_row_for_row(cluster, dataset, tiny_bundle, tmp_path):
    _, client = cluster
    out = tmp_path / "out"
    args = ["--text-column", "text", "--title-column", "title", "--prob"]
    r = invoke(["-m", tiny_bundle, "--csv", dataset[0].parent / "*.csv", *args, "--engine", "dask",
                "--scheduler", client.scheduler.address, "-o", f"{out}/"])
    assert r.exit_code == 0, r.output
    assert r.output == ""
    expected = single_machine(dataset, tiny_bundle, tmp_path, *args)
    assert_complete(out, expected, dataset)
    header = parts(out)[0].read_text().splitlines()[0]
    assert header == "id,title,text,label,prob_World,prob_Sports,prob_Business,prob_Sci/Tech"
    assert parts(out)[1].read_text() == header + "\n"  # a header-only file: a header-only part


def test_bundle_loaded_once_per_worker_and_torch_never_imported(cluster, dataset, tiny_bundle, tmp_path):
    _, client = cluster
    for i in range(2):  # two runs on the same long-lived workers
        s = ldask.score_files(str(dataset[0].parent / "*.csv"), tmp_path / f"o{i}", tiny_bundle, client=client)
        assert s["rows"] == 1300
    stats = client.run(ldask.worker_stats)
    assert len(stats) == 2
    key = s["bundle"]["sha256"]
    loads = [st["loads"].get(key, 0) for st in stats.values()]
    runs = [st["runs"].get(key, 0) for st in stats.values()]
    assert sum(runs) >= 10 and max(runs) > 1  # every partition of both runs, several per worker ...
    assert all(n <= 1 for n in loads) and sum(loads) >= 1, stats  # ... and at most one load per worker
    assert not any(st["torch"] for st in stats.values()), stats


def test_python_api_score(cluster, tiny_bundle, tiny_classifier):
    import dask.dataframe as dd
    import pandas as pd

    _, client = cluster
    texts = ["stocks profit merger", None, "goal coach season", "  ", "chip laptop software", "troops embassy"]
    titles = ["", "", None, "", "new", "minister"]
    pdf = pd.DataFrame({"id": range(6), "title": titles, "body": texts})
    ddf = dd.from_pandas(pdf, npartitions=3)
    assert ddf.divisions == (0, 2, 4, 5)
    from lstmtc.infer import Classifier

    # shipped, and opened by the workers at the bundle's path (int8: a second cache entry, so loaded)
    for ship, precision in ((True, None), (False, "int8")):
        # int8 results depend on onnxruntime's thread count too: workers run one thread (threads=1)
        clf = tiny_classifier if precision is None else Classifier.load(tiny_bundle, precision, threads=1)
        res = ldask.score(ddf, tiny_bundle, text_column="body", title_column="title", k=2, prob=True,
                          ship=ship, precision=precision).compute()
        assert list(res.columns) == ["id", "title", "body", "label_1", "label_2"] + [f"prob_{n}" for n in LABELS]
        assert res["id"].tolist() == list(range(6))  # input order kept
        live = res[res["label_1"] != ""]
        assert live.index.tolist() == [0, 2, 4, 5]
        # int8 models quantize activations per batch, so score the same batches: per partition
        docs = [(titles[i] or "") + " " + texts[i] for i in (0, 2, 4, 5)]
        p = np.concatenate([clf.predict_proba(b) for b in (docs[:1], docs[1:2], docs[2:])])
        np.testing.assert_allclose(live[[f"prob_{n}" for n in LABELS]].to_numpy(), p, rtol=1e-6, atol=1e-7)
        top = np.argsort(-p, axis=1, kind="stable")
        assert live["label_1"].tolist() == [LABELS[i] for i in top[:, 0]]
        assert live["label_2"].tolist() == [LABELS[i] for i in top[:, 1]]
        blank = res.loc[[1, 3]]
        assert (blank["label_2"] == "").all() and blank[f"prob_{LABELS[0]}"].isna().all()
    with pytest.raises(DataError, match="no text column 'nope'"):
        ldask.score(ddf, tiny_bundle, text_column="nope")
    with pytest.raises(DataError, match="already has column"):
        ldask.score(ddf.rename(columns={"id": "label"}), tiny_bundle, text_column="body")


def test_headerless_files_on_a_local_cluster_and_parquet(cluster, tiny_bundle, tmp_path):
    """Without --scheduler a LocalCluster is started (and closed); AG News's headerless layout."""
    import pandas as pd

    paths = [write_agnews_csv(tmp_path / f"t{i}.csv", make_rows(n, seed=10 + i)) for i, n in enumerate((120, 80))]
    args = ["--no-header", "--title-column", "2", "--text-column", "3"]
    out = tmp_path / "out"
    r = invoke(["-m", tiny_bundle, "--csv", tmp_path / "t*.csv", *args, "--engine", "dask", "--workers", "1",
                "-o", out])
    assert r.exit_code == 0, r.output
    assert_complete(out, single_machine(paths, tiny_bundle, tmp_path, *args), paths, header=False)
    # Parquet: same values, typed probabilities; the headerless columns are named by number
    pq = tmp_path / "pq"
    s = ldask.score_files(str(tmp_path / "t*.csv"), pq, tiny_bundle, header=False, title_column=2, text_column=3,
                          prob=True, fmt="parquet", client=cluster[1])
    assert sorted(p.name for p in pq.iterdir()) == ["_SUCCESS", "part-00000.parquet", "part-00001.parquet"]
    got = pd.concat([pd.read_parquet(p) for p in parts(pq)], ignore_index=True)
    assert list(got.columns) == ["1", "2", "3", "label"] + [f"prob_{n}" for n in LABELS] == s["columns"]
    scored_csv = [row for p in parts(out) for row in csv.reader(io.StringIO(p.read_text(), newline=""))]
    assert got["label"].tolist() == [row[3] for row in scored_csv]


def test_files_in_another_encoding(cluster, tiny_bundle, tmp_path):
    """--encoding reaches the workers: cp1252 files score as their UTF-8 twins do."""
    paths, encoded = [], []
    for i, n in enumerate((60, 40)):
        rows = [(f"{j}", f"caf\u00e9 \u00ab{TOPICS[str(j % 4 + 1)][0]}\u00bb \u00a3{j}") for j in range(n)]
        body = "id,text\n" + "".join(f"{a},{b}\n" for a, b in rows)
        encoded.append(tmp_path / f"e{i}.csv")
        encoded[-1].write_bytes(body.encode("cp1252"))
        paths.append(tmp_path / f"u{i}.csv")
        paths[-1].write_text(body, encoding="utf-8")
    out = tmp_path / "out"
    r = invoke(["-m", tiny_bundle, "--csv", tmp_path / "e*.csv", "--text-column", "text", "--encoding", "cp1252",
                "--engine", "dask", "--scheduler", cluster[1].scheduler.address, "-o", out])
    assert r.exit_code == 0, r.output
    assert_complete(out, single_machine(paths, tiny_bundle, tmp_path, "--text-column", "text"), encoded)


def test_fsspec_urls_for_the_input_and_the_bundle(cluster, dataset, tiny_bundle, tmp_path):
    """fsspec URLs (here a chained local one; s3://... works alike with s3fs): the bundle read by
    the client and shipped, or read by each worker itself (ship=False)."""
    _, client = cluster
    pattern, bundle = f"simplecache::file://{dataset[0].parent}/*.csv", f"simplecache::file://{tiny_bundle}"
    for ship, threads in ((True, 1), (False, 2)):  # threads=2: another cache entry, so the worker loads it
        out = tmp_path / f"out-{ship}"
        s = ldask.score_files(pattern, out, bundle, text_column="text", client=client, ship=ship, threads=threads)
        assert [f["source"] for f in s["files"]] == [f"file://{p}" for p in dataset]
        expected = single_machine(dataset, tiny_bundle, tmp_path, "--text-column", "text", "--threads", threads)
        assert [p.read_bytes() for p in parts(out)] == expected
    with pytest.raises(ldask.BundleError, match="no such file"):
        ldask.score_files(pattern, tmp_path / "o", f"simplecache::file://{tmp_path}/nope", client=client)


# --------------------------------------------------------------------------------- bad input


def test_bad_rows_behave_as_in_single_machine_mode(cluster, tiny_bundle, tmp_path):
    _, client = cluster
    d = tmp_path / "in"
    paths = write_dataset(d, sizes=(40, 40), bom_file=-1)
    # invalid UTF-8 in one text: replaced with U+FFFD and reported, exactly as single-machine mode does
    raw = paths[1].read_bytes()
    paths[1].write_bytes(raw.replace(b"1-3,", b"1-3,\xff", 1))
    common = ["--text-column", "text", "--engine", "dask", "--scheduler", client.scheduler.address]
    out = tmp_path / "out"
    r = invoke(["-m", tiny_bundle, "--csv", d / "*.csv", *common, "-o", out])
    assert r.exit_code == 0, r.output
    warning = invoke(["-m", tiny_bundle, "--csv", paths[1], "--text-column", "text"]).stderr
    assert warning.startswith(f"warning: {paths[1]}:") and "invalid UTF-8 replaced" in warning
    assert r.stderr == warning
    assert_complete(out, single_machine(paths, tiny_bundle, tmp_path, "--text-column", "text"), paths)
    r = invoke(["-m", tiny_bundle, "--csv", d / "*.csv", *common, "--strict", "-o", tmp_path / "strict"])
    expected = invoke(["-m", tiny_bundle, "--csv", paths[1], "--text-column", "text", "--strict"]).stderr
    assert expected.startswith(f"Error: {paths[1]}:") and "not valid UTF-8" in expected
    assert r.exit_code == 1 and r.stderr == expected
    # a row too short for the text column: the same error as single-machine mode, and no output at all
    paths[1].write_bytes(raw.replace(b"1-7,", b"1-7\n", 1))
    expected = invoke(["-m", tiny_bundle, "--csv", paths[1], "--text-column", "text"]).stderr
    assert expected.startswith(f"Error: {paths[1]}:") and "1 field, expected 3 as in the header" in expected
    r = invoke(["-m", tiny_bundle, "--csv", d / "*.csv", *common, "-o", tmp_path / "bad"])
    assert r.exit_code == 1 and r.stderr == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out", "single-news-00.csv", "single-news-01.csv"]


def test_output_directory_rules(cluster, dataset, tiny_bundle, tmp_path):
    _, client = cluster
    pattern = str(dataset[0].parent / "*.csv")
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    with pytest.raises(ldask.DataError, match="not empty and is not an earlier lstmtc output"):
        ldask.score_files(pattern, foreign, tiny_bundle, client=client)
    assert [p.name for p in foreign.iterdir()] == ["keep.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    ldask.score_files(pattern, empty, tiny_bundle, client=client)
    first = {p.name: p.read_bytes() for p in empty.iterdir()}
    ldask.score_files(pattern, empty, tiny_bundle, client=client, prob=True)  # an earlier output is replaced
    assert sorted(p.name for p in empty.iterdir()) == sorted(first)
    assert parts(empty)[0].read_bytes() != first["part-00000.csv"]
    with pytest.raises(ldask.DataError, match="no file matches"):
        ldask.score_files(str(tmp_path / "nothing-*.csv"), tmp_path / "o", tiny_bundle, client=client)


@pytest.mark.parametrize("args, fragment", [
    (["--engine", "dask", "x.txt"], "--engine dask scores --csv/--tsv files"),
    (["--engine", "dask", "--eval", "a.csv"], "--engine dask scores --csv/--tsv files"),
    (["--engine", "dask", "--csv", "a.csv"], "give -o DIRECTORY"),
    (["--engine", "dask", "--csv", "a.csv", "-o", "-"], "give -o DIRECTORY"),
    (["--engine", "dask", "--csv", "-", "-o", "o"], "not stdin"),
    (["--engine", "dask", "--csv", "a.csv", "-o", "o", "--scheduler", "tcp://h:8786", "--workers", "2"],
     "--workers sizes a LocalCluster"),
    (["--engine", "dask", "--csv", "a.csv", "-o", "o", "--format", "jsonl"], "csv or parquet"),
    (["--csv", "a.csv", "--scheduler", "tcp://h:8786"], "--scheduler needs --engine dask"),
    (["--csv", "a.csv", "--workers", "2"], "--workers needs --engine dask"),
    (["--csv", "a.csv", "--format", "parquet", "-o", "o"], "--format parquet needs --engine dask"),
])
def test_conflicting_options_are_one_line_errors(args, fragment):
    r = invoke(args)
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit), r.output
    assert r.stderr.startswith("Error: ") and r.stderr.count("\n") == 1 and fragment in r.stderr, r.stderr


def test_without_the_dask_extra(tiny_bundle, tmp_path, monkeypatch):
    # importing lstmtc.infer, its dask module and the CLI never needs dask
    code = ("import sys; sys.modules['dask'] = sys.modules['distributed'] = None\n"
            "import lstmtc.infer, lstmtc.infer.apps.cluster, lstmtc.infer.apps.classify_cli\n"
            "loaded = {m.split('.')[0] for m, mod in sys.modules.items() if mod is not None}\n"
            "assert not loaded & {'dask', 'distributed', 'torch'}, loaded")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    monkeypatch.setitem(sys.modules, "dask", None)
    monkeypatch.setitem(sys.modules, "dask.dataframe", None)
    r = invoke(["-m", tiny_bundle, "--csv", tmp_path / "*.csv", "--engine", "dask", "-o", tmp_path / "o"])
    assert r.exit_code == 1
    assert r.stderr == "Error: this needs the 'dask' extra (dask is not installed): pip install 'lstmtc[dask]'\n"


# --------------------------------------------------------------------------------- failures


def test_worker_killed_mid_run_still_gives_the_complete_result(tiny_bundle, tmp_path):
    """SIGKILL a worker while it scores: Dask reruns its tasks elsewhere (its nanny restarts it) and
    the output is complete and byte-identical to single-machine mode. batch_size=1 makes each
    partition take a while (one onnxruntime call per row)."""
    from distributed import Client, LocalCluster

    paths = write_dataset(tmp_path / "in", sizes=(9000,) * 6, seed=5, bom_file=-1)
    out = tmp_path / "out"
    cluster = LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0")
    try:
        client = Client(cluster)
        try:
            pids = client.run(os.getpid)
            result: dict = {}

            def job():
                try:
                    result["summary"] = ldask.score_files(str(tmp_path / "in" / "*.csv"), out, tiny_bundle,
                                                          text_column="text", batch_size=1, client=client)
                except BaseException as e:  # noqa: BLE001 - handed to the test thread
                    result["error"] = e

            t = threading.Thread(target=job)
            t.start()
            victim = None
            deadline = time.monotonic() + 120
            while t.is_alive() and time.monotonic() < deadline and victim is None:
                written = [p for d in tmp_path.glob(".out.tmp-*") for p in d.glob("part-*") if p.suffix == ".csv"]
                busy = [w for w, tasks in client.processing().items() if tasks and w in pids]
                if written and busy:
                    victim = busy[0]
                    os.kill(pids[victim], signal.SIGKILL)
                time.sleep(0.01)
            t.join(180)
            assert victim is not None, "the run ended before a worker could be killed"
            assert not t.is_alive() and "error" not in result, result
            assert result["summary"]["rows"] == 6 * 9000
            assert pids[victim] not in client.run(os.getpid).values()  # it died (its nanny started another)
        finally:
            client.close()
    finally:
        cluster.close()
    assert_complete(out, single_machine(paths, tiny_bundle, tmp_path, "--text-column", "text"), paths)
