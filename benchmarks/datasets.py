"""The labelled datasets the peers benchmark knows, read from their original files, and the one
train/validation/test split each gets (docs/datasets.md says where the files come from).

Every dataset becomes three lists of ``(label, text)`` rows: labels as strings exactly as the
source spells them, text as the source has it (AG News: ``title + " " + description``). The split
is stratified and seeded (scikit-learn's ``train_test_split``); sizes are whole numbers of rows,
``round(fraction * n)``.

  ag_news    train_pool.csv minus a stratified 5% validation split; the official test.csv
  banking77  the official train.csv minus a stratified 10% validation split; the official test.csv
  sms_spam   one file, split 70/10/20
  --csv NAME=PATH  any CSV/TSV with a header naming a label and a text column, split 70/10/20
"""

from __future__ import annotations

import csv
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from lstmtc.infer.files import sha256_file as sha256

Row = tuple[str, str]  # (label, text)
DOCS = "docs/datasets.md"

csv.field_size_limit(2**31 - 1)


class MissingData(Exception):
    """A dataset's file is not where it should be; the message is one line for the user."""


@dataclass
class Prepared:
    name: str
    train: list[Row]
    valid: list[Row]
    test: list[Row]
    split: str  # how the three parts were made, in words
    sources: list[dict] = field(default_factory=list)  # path, bytes, sha256 of each file read


def describe(path: Path, rows: int) -> dict:
    return {"path": str(path), "bytes": path.stat().st_size, "sha256": sha256(path), "rows": rows}


def require(path: Path, dataset: str, what: str) -> Path:
    if not path.is_file():
        raise MissingData(f"{dataset}: {path} is missing; get {what} as {DOCS} describes")
    return path


# --- readers of the original formats -------------------------------------------------------------

def read_sms(path: Path) -> list[Row]:
    """SMSSpamCollection: one message per line, ``label<TAB>text``, no header, no quoting."""
    rows = []
    with open(path, encoding="utf-8", newline="") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line:
                continue
            label, sep, text = line.partition("\t")
            if not sep:
                raise ValueError(f"{path}:{n}: no tab between label and text")
            rows.append((label, text))
    return rows


def read_header_csv(path: Path, label_names=("label", "category", "class", "target"),
                    text_names=("text", "sentence", "content", "body")) -> list[Row]:
    """A CSV (or .tsv) with a header; the label and text columns are found by name."""
    tsv = path.suffix.lower() in (".tsv", ".tab")
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter="\t" if tsv else ",", quoting=csv.QUOTE_NONE if tsv else csv.QUOTE_MINIMAL)
        header = [h.strip().lower() for h in next(reader, [])]
        li = next((header.index(n) for n in label_names if n in header), None)
        ti = next((header.index(n) for n in text_names if n in header), None)
        if li is None or ti is None:
            raise ValueError(f"{path}: the header must name a label column ({'/'.join(label_names)}) and a text "
                             f"column ({'/'.join(text_names)}); it is {','.join(header)}")
        return [(r[li], r[ti]) for r in reader if r]


def read_agnews_original(path: Path) -> list[Row]:
    """AG News's original layout: no header, ``"class","title","description"``."""
    with open(path, encoding="utf-8", newline="") as f:
        return [(r[0], r[1] + " " + r[2]) for r in csv.reader(f) if r]


# --- splits ---------------------------------------------------------------------------------------

def _labels(rows: list[Row]) -> list[str]:
    return [r[0] for r in rows]


def hold_out(rows: list[Row], fraction: float, seed: int) -> tuple[list[Row], list[Row]]:
    """(rest, held out): a stratified ``round(fraction * n)`` rows held out."""
    from sklearn.model_selection import train_test_split

    rest, held = train_test_split(rows, test_size=round(fraction * len(rows)), stratify=_labels(rows),
                                  random_state=seed)
    return list(rest), list(held)


def split_three(rows: list[Row], seed: int, valid: float = 0.1, test: float = 0.2):
    """(train, valid, test) of one file: stratified, ``round(test * n)`` and ``round(valid * n)`` rows."""
    from sklearn.model_selection import train_test_split

    n = len(rows)
    rest, test_rows = train_test_split(rows, test_size=round(test * n), stratify=_labels(rows), random_state=seed)
    train_rows, valid_rows = train_test_split(rest, test_size=round(valid * n), stratify=_labels(rest),
                                              random_state=seed)
    return list(train_rows), list(valid_rows), list(test_rows)


def split_sizes(n: int, valid: float = 0.1, test: float = 0.2) -> tuple[int, int, int]:
    """The sizes split_three makes of ``n`` rows."""
    return n - round(test * n) - round(valid * n), round(valid * n), round(test * n)


def stratified_subsample(rows: list[Row], n: int, seed: int) -> list[Row]:
    """At most ``n`` rows with the class shares of ``rows`` (largest remainder), every class kept
    once while ``n`` allows; the rows keep their order. For quick smoke runs (--limit)."""
    if n >= len(rows):
        return list(rows)
    groups: dict[str, list[int]] = defaultdict(list)
    for i, (label, _) in enumerate(rows):
        groups[label].append(i)
    labels = sorted(groups)
    base = {lab: 1 if n >= len(labels) else 0 for lab in labels}
    spare = n - sum(base.values())
    weights = {lab: len(groups[lab]) - base[lab] for lab in labels}
    total = sum(weights.values())
    exact = {lab: spare * weights[lab] / total for lab in labels}
    quota = {lab: base[lab] + int(exact[lab]) for lab in labels}
    left = n - sum(quota.values())
    for lab in sorted(labels, key=lambda x: (-(exact[x] - int(exact[x])), x))[:left]:
        quota[lab] += 1
    rng = random.Random(seed)
    keep = []
    for lab in labels:
        idx = groups[lab][:]
        rng.shuffle(idx)
        keep.extend(idx[:quota[lab]])
    return [rows[i] for i in sorted(keep)]


def write_split(path: Path, rows: list[Row]) -> Path:
    """``label,text`` with a header, Python csv quoting (only where a field needs it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["label", "text"])
        w.writerows(rows)
    return path


def read_split(path: Path) -> list[Row]:
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        if next(reader) != ["label", "text"]:
            raise ValueError(f"{path}: not a split file (header label,text)")
        return [(r[0], r[1]) for r in reader]


def class_counts(rows: list[Row]) -> dict[str, int]:
    c = Counter(_labels(rows))
    return {k: c[k] for k in sorted(c, key=lambda k: (-c[k], k))}


# --- the datasets ---------------------------------------------------------------------------------

KNOWN = ("ag_news", "banking77", "sms_spam")


def paths(name: str, data_root: Path, ag_news_dir: Path) -> dict[str, tuple[Path, str]]:
    """The files a known dataset reads: role -> (path, what to fetch, for the error message)."""
    if name == "ag_news":
        return {"train": (ag_news_dir / "train_pool.csv", "the AG News train pool (../shared/data/ag_news)"),
                "test": (ag_news_dir / "test.csv", "the original AG News test.csv")}
    if name == "banking77":
        what = "BANKING77 (PolyAI-LDN/task-specific-datasets, banking_data/)"
        return {"train": (data_root / "banking77" / "train.csv", what),
                "test": (data_root / "banking77" / "test.csv", what)}
    if name == "sms_spam":
        return {"all": (data_root / "sms_spam" / "SMSSpamCollection", "the UCI SMS Spam Collection v.1 file")}
    raise ValueError(f"unknown dataset {name!r}; known: {', '.join(KNOWN)} (or --csv NAME=PATH)")


def check(name: str, data_root: Path, ag_news_dir: Path, csv_path: Path | None = None) -> None:
    """Raise MissingData naming the first absent file of a dataset."""
    if csv_path is not None:
        require(csv_path, name, "the file given with --csv")
        return
    for path, what in paths(name, data_root, ag_news_dir).values():
        require(path, name, what)


def prepare(name: str, data_root: Path, ag_news_dir: Path, seed: int = 0, csv_path: Path | None = None,
            limit: int | None = None) -> Prepared:
    check(name, data_root, ag_news_dir, csv_path)
    if csv_path is not None:
        rows = read_header_csv(csv_path)
        train, valid, test = split_three(rows, seed)
        p = Prepared(name, train, valid, test, f"one file split 70/10/20, stratified, seed {seed}",
                     [describe(csv_path, len(rows))])
    elif name == "sms_spam":
        path = paths(name, data_root, ag_news_dir)["all"][0]
        rows = read_sms(path)
        train, valid, test = split_three(rows, seed)
        p = Prepared(name, train, valid, test, f"one file split 70/10/20, stratified, seed {seed}",
                     [describe(path, len(rows))])
    else:
        files = paths(name, data_root, ag_news_dir)
        train_path, test_path = files["train"][0], files["test"][0]
        pool = read_header_csv(train_path)
        test = read_agnews_original(test_path) if name == "ag_news" else read_header_csv(test_path)
        fraction = 0.05 if name == "ag_news" else 0.10
        train, valid = hold_out(pool, fraction, seed)
        p = Prepared(name, train, valid, test,
                     f"official test file; validation = stratified {fraction:.0%} of the training file, seed {seed}",
                     [describe(train_path, len(pool)), describe(test_path, len(test))])
    if limit:
        p.train, p.valid, p.test = (stratified_subsample(r, limit, seed) for r in (p.train, p.valid, p.test))
        p.split += f"; each part then subsampled to at most {limit} rows (stratified)"
    return p
