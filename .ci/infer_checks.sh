#!/usr/bin/env bash
# Checks run in the torch-free venv given as $1 (pip install . with no extras): the bundled model
# classifies examples/news.txt (one label per line) and scores the AG News test set from ../shared
# at no less than the model card's accuracy minus 0.1 point.
set -euo pipefail
venv=$1
bin="$venv/bin"
if "$bin/python" -c "import torch" 2>/dev/null; then
  echo "torch is importable in the torch-free venv" >&2; exit 1
fi
out=$("$bin/lstmtc-classify" examples/news.txt)
echo "$out"
[ "$(printf '%s\n' "$out" | wc -l)" -eq "$(wc -l < examples/news.txt)" ] || { echo "one label per line expected" >&2; exit 1; }
test_csv=../shared/data/ag_news/test.csv
if [ ! -f "$test_csv" ]; then
  echo "$test_csv is absent: the accuracy check needs ../shared (CI always has it)" >&2; exit 1
fi
# -P: do not put the working directory (the source tree) ahead of the installed package.
"$bin/python" -P - "$test_csv" <<'PY'
import json, sys
from importlib.resources import files
from lstmtc.infer import Classifier
from lstmtc.infer.data import read_labelled

card = json.loads(files("lstmtc.default_model").joinpath("card.json").read_text())
clf = Classifier.load()
data = read_labelled(sys.argv[1], clf.bundle.labelset)
correct = 0
for i in range(0, len(data), 1024):
    pred = clf.predict_proba(data.texts[i:i + 1024]).argmax(1)
    correct += int((pred == data.labels[i:i + 1024]).sum())
acc = correct / len(data)
floor = card["test_accuracy"] - 0.001
print(f"torch-free default model: accuracy {acc * 100:.2f}% on {len(data)} AG News test docs "
      f"(model card {card['test_accuracy'] * 100:.2f}%, floor {floor * 100:.2f}%)")
if acc < floor:
    sys.exit("accuracy below the model card's figure minus 0.1 point")
PY

# Verbs whose extra is missing say which one to install, in one line, without a traceback.
for verb in "lstmtc-train --help" "lstmtc-export --help" "lstmtc-evaluate --help"; do
  if msg=$("$bin"/$verb 2>&1); then echo "$verb succeeded without torch" >&2; exit 1; fi
  [ "$(printf '%s\n' "$msg" | wc -l)" -eq 1 ] && printf '%s\n' "$msg" | grep -q "pip install 'lstmtc\[train\]'" \
    || { echo "$verb: expected a one-line 'install lstmtc[train]' error, got: $msg" >&2; exit 1; }
done
printf 'text\nStocks fell\n' > "$venv/in.csv"
msg=$("$bin/lstmtc-classify" --csv "$venv/in.csv" --engine dask -o "$venv/out" 2>&1) && exit 1
printf '%s\n' "$msg" | grep -q "pip install 'lstmtc\[dask\]'" || { echo "dask extra message missing: $msg" >&2; exit 1; }
echo "torch-free install: all checks passed"
