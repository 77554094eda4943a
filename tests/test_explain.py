"""lstmtc-explain and lstmtc.infer.apps.explain: LIME over the ONNX model, torch-free.

The acceptance checks (same seed -> same weights, business words outrank function words,
--json, a missing extra) run in a child process in which `import torch` fails, as on a machine
where only `pip install 'lstmtc[explain]'` ran; the rest runs in-process.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import TOPICS, import_blocker

pytest.importorskip("lime", reason="the 'explain' extra (lime) is not installed")

from lstmtc.infer import Classifier  # noqa: E402
from lstmtc.infer.apps.explain import explain, segments, words  # noqa: E402
from lstmtc.infer.apps.explain_cli import main  # noqa: E402
from lstmtc.infer.errors import LstmtcError  # noqa: E402
from lstmtc.infer.text import basic_english  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_BUNDLE = REPO / "artifacts" / "ag_news" / "bundle.json"
TIMEOUT = 120

BUSINESS = set(TOPICS["3"])
FUNCTION = {"the", "of", "and", "to", "a", "as", "in", "on"}
# Business topic words mixed with function words; the tiny model predicts Business for it.
BUSINESS_TEXT = "Shares of the merger and the profit to the investors of stocks"
# A real headline for the bundled AG News model.
HEADLINE = "Quarterly profit of the bank rose and its shares jumped as investors cheered the merger."



def run_blocked(code: str, *args: str, blocked=("torch",)) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSTARTUP")}
    env["PYTHONPATH"] = str(REPO)
    env["PYTHONWARNINGS"] = "ignore"
    env["COLUMNS"] = "100"
    script = import_blocker(*blocked) + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=TIMEOUT,
                          cwd=REPO)


def result_of(proc: subprocess.CompletedProcess) -> dict:
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def signed_order(weights) -> list[str]:
    return [w for w, _ in sorted(weights, key=lambda t: -t[1])]


# ---------------------------------------------------------------------------------------------
# Torch-free acceptance checks
# ---------------------------------------------------------------------------------------------

TORCH_FREE = """
    import json, sys
    from click.testing import CliRunner
    from lstmtc.infer import Classifier
    from lstmtc.infer.apps.explain import explain
    from lstmtc.infer.apps.explain_cli import main

    bundle, text = sys.argv[1], sys.argv[2]
    clf = Classifier.load(bundle)
    runs = [explain(clf, text, num_features=20, num_samples=300, seed=s).to_dict() for s in (0, 0, 1)]
    cli = {}
    for n in ("3", "50"):
        r = CliRunner().invoke(main, ["-m", bundle, text, "--json", "--num-features", n, "--num-samples", "300"])
        cli[n] = [r.exit_code, r.stdout]
    leaked = sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))
    print("RESULT " + json.dumps({"runs": runs, "cli": cli, "leaked": leaked}))
"""


@pytest.fixture(scope="module")
def torch_free(tiny_bundle) -> dict:
    return result_of(run_blocked(TORCH_FREE, str(tiny_bundle), BUSINESS_TEXT))


def test_blocker_blocks_torch():
    proc = run_blocked("import torch\n")
    assert proc.returncode != 0 and "blocked by this test" in proc.stderr


def test_runs_without_torch(torch_free):
    assert torch_free["leaked"] == []


def test_same_seed_same_weights(torch_free):
    a, b, c = torch_free["runs"]
    assert a["weights"] == b["weights"]  # exactly, not approximately
    assert a["intercept"] == b["intercept"]
    assert (a["seed"], c["seed"]) == (0, 1)
    # another seed is another sample of perturbations: same words, weights free to differ
    assert {w["word"] for w in c["weights"]} == {w["word"] for w in a["weights"]}


def test_business_words_outrank_function_words(torch_free):
    exp = torch_free["runs"][0]
    assert exp["label"] == "Business" and exp["predicted"] == "Business"
    weights = [(w["word"], w["weight"]) for w in exp["weights"]]
    order = signed_order(weights)
    assert order[0] in BUSINESS, order
    biz = [x for w, x in weights if w in BUSINESS]
    fn = [x for w, x in weights if w in FUNCTION]
    assert len(biz) == 5 and len(fn) == 4
    assert sum(biz) / len(biz) > sum(fn) / len(fn), weights


def test_json_has_one_weight_per_word_feature(torch_free):
    distinct = set(words(BUSINESS_TEXT))
    assert len(distinct) == 9
    for n, expected in (("3", 3), ("50", len(distinct))):
        code, out = torch_free["cli"][n]
        assert code == 0, out
        data = json.loads(out)  # the whole of stdout is one JSON document
        feats = [w["word"] for w in data["weights"]]
        assert len(feats) == expected == min(int(n), len(distinct))
        assert len(set(feats)) == len(feats) and set(feats) <= distinct
        assert all(isinstance(w["weight"], float) for w in data["weights"])
        assert data["label"] == "Business" and 0 < data["probability"] <= 1
        assert set(data["probabilities"]) == {"World", "Sports", "Business", "Sci/Tech"}


MISSING_EXTRA = """
    import sys
    from lstmtc.infer import Classifier
    from lstmtc.infer.errors import MissingExtraError
    from lstmtc.infer.apps.explain import explain

    try:
        explain(Classifier.load(sys.argv[1]), "profit")
    except MissingExtraError as e:
        print("LIB", e.extra, e.package)
    sys.stdout.flush()
    from lstmtc.infer.apps.explain_cli import main
    sys.argv = ["lstmtc-explain", "-m", sys.argv[1], "profit and shares"]
    main()
"""


def test_missing_extra_is_a_one_line_error(tiny_bundle):
    proc = run_blocked(MISSING_EXTRA, str(tiny_bundle), blocked=("torch", "lime"))
    assert proc.stdout == "LIB explain lime\n"
    assert proc.returncode == 1
    assert proc.stderr == ("Error: this needs the 'explain' extra (lime is not installed): "
                           "pip install 'lstmtc[explain]'\n")


DEFAULT_MODEL = """
    import json, sys
    from lstmtc.infer import Classifier
    from lstmtc.infer.apps.explain import explain, words

    text = sys.argv[1]
    e = explain(Classifier.load(None), text, num_features=len(set(words(text))), num_samples=1000, seed=0)
    print("RESULT " + json.dumps(e.to_dict()))
"""


@pytest.mark.skipif(not DEFAULT_BUNDLE.exists(), reason="bundled default model not built yet")
def test_bundled_model_ranks_business_words_above_function_words():
    exp = result_of(run_blocked(DEFAULT_MODEL, HEADLINE))
    assert exp["label"] == "Business", exp["probabilities"]
    weights = [(w["word"], w["weight"]) for w in exp["weights"]]
    assert len(weights) == len(set(words(HEADLINE)))
    biz = {w: x for w, x in weights if w in BUSINESS}
    fn = {w: x for w, x in weights if w in FUNCTION}
    assert set(biz) == {"quarterly", "profit", "shares", "investors", "merger"}
    assert set(fn) == {"of", "the", "and", "as"}
    assert max(biz.values()) > max(fn.values()), weights
    assert sum(biz.values()) / len(biz) > sum(fn.values()) / len(fn), weights
    assert signed_order(weights)[0] in BUSINESS | {"bank"}, weights


# ---------------------------------------------------------------------------------------------
# LIME's words are the model's tokens
# ---------------------------------------------------------------------------------------------

TRICKY = ("Oil-rich U.S. firm's shares (AAPL) rose 5%; profit: up!<br />Shares \"soared\", "
          "investors said?  The  merger\tof\nthe year")


def test_lime_words_are_the_models_word_tokens():
    """Dropping one LIME word from the string removes exactly that token, everywhere, from what
    basic_english gives the model, and nothing else."""
    from lime.lime_text import IndexedString

    from lstmtc.infer.apps.explain import SPLIT_EXPRESSION

    lowered = TRICKY.lower()
    s = IndexedString(lowered, split_expression=SPLIT_EXPRESSION, bow=True)
    tokens = basic_english(TRICKY)
    punctuation = {"'", ".", ",", "(", ")", "!", "?"}
    assert sorted(s.inverse_vocab) == sorted({t for t in tokens if t not in punctuation})
    assert "oil-rich" in s.inverse_vocab and "5%" in s.inverse_vocab and "shares" in s.inverse_vocab
    for i, word in enumerate(s.inverse_vocab):
        assert basic_english(s.inverse_removing([i])) == [t for t in tokens if t != word], word
    assert words(TRICKY) == [t for t in tokens if t not in punctuation]
    # the terminal view's segments join back to the original text and find the same words
    segs = segments(TRICKY)
    assert "".join(p for p, _ in segs) == TRICKY
    assert [p.lower() for p, is_word in segs if is_word] == words(TRICKY)


ZH = "CBD中心，周围没什么店铺！早餐“太差”了。Wi-Fi 很快\u2014ok"


def test_lime_words_of_a_multilingual_model_are_its_word_tokens():
    """For a multilingual model each Chinese character is a word (a clause would be one feature),
    punctuation outside ASCII separates words, and dropping a word drops exactly its tokens."""
    from lime.lime_text import IndexedString

    from lstmtc.infer.text import multilingual

    lowered = ZH.lower()
    s = IndexedString(lowered, split_expression=lambda t: words(t, "multilingual"), bow=True)
    tokens = multilingual(ZH)
    punctuation = {",", "!", "\u201c", "\u201d", "\u3002", "\u2014", "'", "."}
    assert sorted(s.inverse_vocab) == sorted({t for t in tokens if t not in punctuation})
    assert {"cbd", "中", "差", "wi-fi", "ok"} <= set(s.inverse_vocab)
    for i, word in enumerate(s.inverse_vocab):
        assert multilingual(s.inverse_removing([i])) == [t for t in tokens if t != word], word
    segs = segments(ZH, "multilingual")
    assert "".join(p for p, _ in segs) == ZH
    assert [p.lower() for p, is_word in segs if is_word] == words(ZH, "multilingual")


def test_explain_splits_as_the_classifiers_tokenizer():
    from types import SimpleNamespace

    import numpy as np

    class Model:  # "neg" exactly when the character 差 survives the perturbation
        labels = ["neg", "pos"]
        pipeline = SimpleNamespace(tokenizer="multilingual")

        def predict_proba(self, texts):
            return np.array([[0.9, 0.1] if "差" in t else [0.1, 0.9] for t in texts], dtype=np.float32)

    e = explain(Model(), "房间很差，早餐一般。", num_features=3, num_samples=300)
    assert e.tokenizer == "multilingual" and e.label == "neg" and e.weights[0][0] == "差"
    assert {w for w, _ in e.weights} <= set("房间很差早餐一般")


# ---------------------------------------------------------------------------------------------
# Library, in-process
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("num_samples", "batch_size"), [(500, 128), (300, 1000), (256, 256)])
def test_samples_are_scored_in_batches(tiny_bundle, num_samples, batch_size):
    clf = Classifier.load(tiny_bundle)
    sizes = []
    real = clf.predict_proba

    def counting(texts):
        sizes.append(len(texts))
        return real(texts)

    clf.predict_proba = counting
    e = explain(clf, BUSINESS_TEXT, num_samples=num_samples, batch_size=batch_size, seed=0)
    assert len(sizes) == math.ceil(num_samples / batch_size)  # one call per batch, not per sample
    assert sum(sizes) == num_samples and max(sizes) <= batch_size
    assert e.num_samples == num_samples


def test_unknown_label_suggests_the_closest_names():
    from lstmtc.infer.apps.explain import resolve_label, unknown_label_message

    many = [f"card_{w}" for w in ("payment", "arrival", "delivery", "linking", "swallowed")] + [
        f"intent_{i}" for i in range(20)]
    msg = unknown_label_message(many, "Card_Payments")
    assert msg == "unknown label 'Card_Payments'; did you mean 'card_payment'? The model has 25 labels."
    # nothing close: every name, still one line
    msg = unknown_label_message(many, "zzz")
    assert msg.startswith("unknown label 'zzz'; the model's labels are: card_payment, ") and "\n" not in msg
    # names that differ only in case are both offered
    with pytest.raises(LstmtcError, match="did you mean 'apple' or 'Apple'"):
        resolve_label(["apple", "Apple", "pear"], "APPLe")
    assert "did you mean 'intent_1'," in unknown_label_message(many, "intent_1x")


def test_label_option_and_errors(tiny_classifier):
    e = explain(tiny_classifier, BUSINESS_TEXT, label="Sports", num_features=3, num_samples=200)
    assert (e.label, e.label_index, e.predicted) == ("Sports", 1, "Business")
    assert e.probability == pytest.approx(e.probabilities[1]) and e.probability < e.predicted_probability
    assert len(e.weights) == 3
    assert explain(tiny_classifier, BUSINESS_TEXT, label="business", num_samples=200).label == "Business"
    with pytest.raises(LstmtcError, match="unknown label 'Nope'; the model's labels are: World, Sports, Business"):
        explain(tiny_classifier, BUSINESS_TEXT, label="Nope")
    with pytest.raises(LstmtcError, match="nothing to explain"):
        explain(tiny_classifier, " ... , ")


def test_mixed_case_is_one_feature(tiny_classifier):
    e = explain(tiny_classifier, "SHARES shares Shares of the profit", num_features=10, num_samples=200)
    assert sorted(w for w, _ in e.weights) == ["of", "profit", "shares", "the"]
    assert e.text == "SHARES shares Shares of the profit"


# ---------------------------------------------------------------------------------------------
# CLI, in-process
# ---------------------------------------------------------------------------------------------


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_terminal_view(tiny_bundle):
    r = invoke("-m", tiny_bundle, BUSINESS_TEXT, "--num-samples", 200, "--num-features", 4)
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert "predicted: Business" in out and "p=0." in out
    assert BUSINESS_TEXT in out  # the text itself, as written
    assert "word weights for Business" in out
    table_rows = [line for line in out.splitlines() if line.startswith("│")]
    assert len(table_rows) == 4
    r = invoke("-m", tiny_bundle, BUSINESS_TEXT, "--num-samples", 200, "--label", "World")
    assert "explaining: World" in r.stdout and "word weights for World" in r.stdout


def test_html_is_written(tiny_bundle, tmp_path):
    out = tmp_path / "why.html"
    r = invoke("-m", tiny_bundle, BUSINESS_TEXT, "--num-samples", 200, "--html", out, "--json")
    assert r.exit_code == 0, r.output
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<html") and html.rstrip().endswith("</html>")
    for w in json.loads(r.stdout)["weights"]:
        assert json.dumps(w["word"]) in html
    assert sorted(p.name for p in tmp_path.iterdir()) == ["why.html"]  # no temporary file left
    r = invoke("-m", tiny_bundle, BUSINESS_TEXT, "--num-samples", 200, "--html", tmp_path / "no" / "x.html")
    assert r.exit_code == 1 and r.output.startswith("Error: ") and r.output.count("\n") == 1


def test_file_and_line(tiny_bundle, tmp_path):
    f = tmp_path / "news.txt"
    f.write_bytes(b"\xef\xbb\xbfgoal coach striker\r\n" + BUSINESS_TEXT.encode() + b"\r\n")
    r = invoke("-m", tiny_bundle, "--file", f, "--line", 2, "--json", "--num-samples", 200)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["text"] == BUSINESS_TEXT
    r = invoke("-m", tiny_bundle, "--file", f, "--line", 1, "--json", "--num-samples", 200)
    assert json.loads(r.stdout)["text"] == "goal coach striker"


@pytest.mark.parametrize(("args", "message"), [
    (["text", "--file", "F", "--line", "1"], "give TEXT or --file F --line N, not both"),
    (["text", "--line", "2"], "--line picks a line of --file; give --file F too"),
    (["--file", "F"], "--file needs --line N (the 1-based line to explain)"),
    ([], "nothing to explain: give TEXT or --file F --line N"),
    (["--file", "F", "--line", "3"], "F has 2 lines; there is no line 3"),
    (["--file", "MISSING", "--line", "1"], "MISSING: no such file"),
    (["profit", "--label", "Nope"], "unknown label 'Nope'; the model's labels are: World, Sports, Business, Sci/Tech"),
    (["profit", "--label", "sprots"],
     "unknown label 'sprots'; did you mean 'Sports'? The model's labels are: World, Sports, Business, Sci/Tech"),
    (["..."], "nothing to explain: the text has no words"),
])
def test_option_errors_are_one_line(tiny_bundle, tmp_path, args, message):
    f = tmp_path / "two.txt"
    f.write_text("first line\nsecond line\n", encoding="utf-8")
    subst = {"F": str(f), "MISSING": str(tmp_path / "missing.txt")}
    args = [subst.get(a, a) for a in args]
    message = message.replace("MISSING", subst["MISSING"]).replace("F has", f"{f} has")
    r = invoke("-m", tiny_bundle, *args)
    assert r.exit_code == 1
    assert r.output == f"Error: {message}\n"


def test_help_and_version():
    r = invoke("--help")
    assert r.exit_code == 0 and "Usage:" in r.output and "--num-samples" in r.output and "lstmtc[explain]" in r.output
    r = invoke("--version")
    assert r.exit_code == 0 and "lstmtc-explain" in r.output


def test_dash_reads_the_text_from_stdin(tiny_bundle):
    args = ["-m", str(tiny_bundle), "--num-samples", "200", "--json"]
    piped = CliRunner().invoke(main, [*args, "-"], input=BUSINESS_TEXT + "\n")
    given = CliRunner().invoke(main, [*args, BUSINESS_TEXT])
    assert piped.exit_code == 0, piped.output
    assert json.loads(piped.output) == json.loads(given.output)


@pytest.mark.parametrize("data,message", [(b"one\ntwo\n", "<stdin> holds more than one line"),
                                          (b"\n", "<stdin> is empty"), (b"", "<stdin> is empty"),
                                          (b"caf\xe9\n", "<stdin>:1: not valid UTF-8")])
def test_dash_refuses_several_lines_or_nothing(tiny_bundle, data, message):
    r = CliRunner().invoke(main, ["-m", str(tiny_bundle), "-"], input=data)
    assert r.exit_code == 1 and message in r.output and "Traceback" not in r.output
