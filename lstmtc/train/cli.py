"""``lstmtc-train``: a thin click layer over lstmtc.train.loop."""

from __future__ import annotations

from pathlib import Path

import click

from lstmtc import __version__
from lstmtc.infer.errors import LstmtcError

from .config import PRECISIONS, PRESET_DESCRIPTIONS, PRESETS, TrainConfig

PRESET_HELP = "; ".join(f"{k}: {v}" for k, v in PRESET_DESCRIPTIONS.items())


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


def read_options(text_column, title_column, label_column, no_header, delimiter, label_names=None) -> dict:
    opts = {"text_column": text_column, "title_column": title_column, "label_column": label_column,
            "header": False if no_header else None, "delimiter": delimiter}
    if label_names:
        opts["label_names"] = tuple(n.strip() for n in label_names.split(","))
    return {k: v for k, v in opts.items() if v is not None}


def data_options(f):
    """Options that say how to read a labelled CSV/TSV; shared by the verbs that read one."""
    for opt in reversed([
        click.option("--text-column", help="Column with the text (name, or 1-based number with --no-header)."),
        click.option("--title-column", help="Optional column joined in front of the text, as AG News's title."),
        click.option("--label-column", help="Column with the label (name or 1-based number)."),
        click.option("--no-header", is_flag=True, help="The file has no header row (default: detected)."),
        click.option("--delimiter", help="Field delimiter (default: tab for .tsv, comma otherwise)."),
    ]):
        f = opt(f)
    return f


@click.command(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.option("--train", "train_path", type=click.Path(dir_okay=False), help="Labelled training CSV/TSV.")
@click.option("--valid", "valid_path", type=click.Path(dir_okay=False),
              help="Validation file. Default: hold out --valid-fraction of --train (seeded).")
@click.option("--test", "test_path", type=click.Path(dir_okay=False),
              help="Evaluate the best checkpoint on this file after training (writes DIR/eval/).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Run directory for checkpoints.")
@click.option("--resume", "resume_dir", type=click.Path(file_okay=False, exists=True),
              help="Continue the interrupted run in this directory from its last completed epoch.")
@click.option("--preset", type=click.IntRange(1, 5), help=f"Reference architecture ({PRESET_HELP}).")
@click.option("--max-tokens", type=click.IntRange(1), help="Tokens kept per document [preset, else 50].")
@click.option("--embed-dim", type=click.IntRange(1), default=50)
@click.option("--hidden", callback=_hidden, help="Hidden size of each LSTM module, comma-separated [preset, else 75].")
@click.option("--num-layers", type=click.IntRange(1), help="Layers inside each LSTM module [preset, else 1].")
@click.option("--bidirectional/--unidirectional", default=None, help="[preset, else unidirectional]")
@click.option("--dropout", type=click.FloatRange(0, 1, max_open=True), default=0.0)
@click.option("--pooling", type=click.Choice(["last", "max", "mean"]), default="last",
              help="What the head reads: the last time step (the reference) or max/mean over real tokens.")
@click.option("--padding-side", type=click.Choice(["post", "pre"]), default="post",
              help="post = the reference; pre puts the last word on the step the head reads.")
@click.option("--lr", type=click.FloatRange(0, min_open=True), default=1e-3)
@click.option("--batch-size", type=click.IntRange(1), default=1024)
@click.option("--epochs", type=click.IntRange(1), default=10)
@click.option("--seed", type=int, default=0)
@click.option("--valid-fraction", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.05)
@click.option("--min-freq", type=click.IntRange(1), default=1, help="Drop tokens seen fewer times.")
@click.option("--max-vocab", type=click.IntRange(3), help="Keep at most this many tokens (specials included).")
@data_options
@click.option("--label-names", help="Comma-separated class names, in sorted label order (default: from the data).")
@click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), default="cpu")
@click.option("--precision", type=click.Choice(PRECISIONS), default="fp32",
              help="Training arithmetic. bf16 = mixed precision: ~0.6x the epoch time on CPUs that compute "
                   "bf16 natively (AVX512-BF16/AMX; elsewhere emulated and slower), accuracy within noise of "
                   "fp32 on most presets (docs/results.md). auto = bf16 where native, else fp32. Weights, "
                   "optimizer state, validation and the exported model are fp32 either way.")
@click.option("--threads", type=click.IntRange(1), help="torch intra-op threads (default: torch's choice).")
@click.version_option(__version__, prog_name="lstmtc-train")
def main(train_path, valid_path, test_path, out_dir, resume_dir, preset, max_tokens, embed_dim, hidden,
         num_layers, bidirectional, dropout, pooling, padding_side, lr, batch_size, epochs, seed, valid_fraction,
         min_freq, max_vocab, text_column, title_column, label_column, no_header, delimiter, label_names,
         device, precision, threads):
    """Train an LSTM text classifier on a labelled CSV/TSV.

    \b
    Examples:
      lstmtc-train --train ../shared/data/ag_news/train_pool.csv --preset 2 --out runs/p2
      lstmtc-train --train reviews.tsv --text-column body --label-column stars \\
                   --hidden 64,64 --padding-side pre --epochs 5 --out runs/reviews
      lstmtc-train --resume runs/p2 --train ../shared/data/ag_news/train_pool.csv

    Each epoch prints train loss, validation loss and accuracy; DIR/last.pt and DIR/best.pt
    are written atomically after every epoch.
    """
    import torch

    from . import loop

    if threads:
        torch.set_num_threads(threads)
    ctx = click.get_current_context()
    if not train_path:
        raise click.UsageError("--train FILE is required")
    try:
        if resume_dir:
            # Settings of the run come from its checkpoint; only what does not change the run
            # (the file to re-read, how many epochs in all, where to run, --test, --out DIR itself)
            # may be given beside --resume.
            given = [max(p.opts, key=len) for p in ctx.command.params
                     if p.name not in ("train_path", "resume_dir", "epochs", "device", "threads", "test_path",
                                       "out_dir")
                     and ctx.get_parameter_source(p.name) == click.core.ParameterSource.COMMANDLINE]
            if out_dir and Path(out_dir).resolve() != Path(resume_dir).resolve():
                given.append("--out")
            if given:
                raise click.UsageError(f"--resume takes its settings from the run; drop {', '.join(given)}")
            cfg, model_args, state = loop.resume_config(resume_dir)
            if ctx.get_parameter_source("epochs") == click.core.ParameterSource.COMMANDLINE:
                cfg.epochs = epochs
            cfg.device = device
            payload = loop.train(train_path, resume_dir, cfg, model_args, state.get("valid_file"),
                                 state.get("read_options"), resume=True)
            out_dir = resume_dir
        else:
            if not out_dir:
                raise click.UsageError("--out DIR is required (or --resume DIR)")
            arch = dict(PRESETS[preset]) if preset else {"max_tokens": 50, "hidden_sizes": (75,), "num_layers": 1,
                                                         "bidirectional": False}
            if max_tokens:
                arch["max_tokens"] = max_tokens
            if hidden:
                arch["hidden_sizes"] = hidden
            if num_layers:
                arch["num_layers"] = num_layers
            if bidirectional is not None:
                arch["bidirectional"] = bidirectional
            cfg = TrainConfig(lr=lr, batch_size=batch_size, epochs=epochs, seed=seed, valid_fraction=valid_fraction,
                              min_freq=min_freq, max_vocab=max_vocab, max_tokens=arch.pop("max_tokens"),
                              padding_side=padding_side, device=device, precision=precision,
                              extra={"preset": preset})
            model_args = dict(arch, embed_dim=embed_dim, dropout=dropout, pooling=pooling)
            opts = read_options(text_column, title_column, label_column, no_header, delimiter, label_names)
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
    except KeyboardInterrupt:
        click.echo(f"interrupted; continue with: lstmtc-train --resume {out_dir} --train {train_path}", err=True)
        raise SystemExit(130) from None
