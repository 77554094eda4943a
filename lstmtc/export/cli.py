"""``lstmtc-export``: checkpoint -> validated ONNX bundle."""

from __future__ import annotations

from pathlib import Path

import click

from lstmtc import __version__
from lstmtc.infer.apps.options import CONTEXT, data_options, read_options
from lstmtc.infer.errors import LstmtcError
from lstmtc.infer.files import protected_inputs


def _human(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


@click.command(context_settings=CONTEXT)
@click.argument("checkpoint", type=click.Path(exists=True))
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False),
              help="Bundle directory [default: 'bundle' beside the checkpoint].")
@click.option("--force", is_flag=True, help="Replace an existing bundle directory.")
@click.option("--no-validate", is_flag=True, help="Skip the PyTorch-vs-onnxruntime validation.")
@click.option("--quantize", type=click.Choice(["int8"]), help="Also write a dynamically quantized int8 model.")
@click.option("--fp16", is_flag=True, help="Also write a model with float16 weights.")
@click.option("--default-precision", type=click.Choice(["fp32", "int8", "fp16"]), default="fp32",
              help="The model lstmtc-classify uses unless told otherwise.")
@click.option("--only-default", is_flag=True,
              help="Ship only the --default-precision model: with int8 a bundle about a quarter the size. The fp32 "
                   "model is still exported, validated and compared against, then left out.")
@click.option("--max-vocab", type=click.IntRange(3), help="Keep only the N most frequent tokens (smaller bundle).")
@click.option("--data", type=click.Path(dir_okay=False, exists=True),
              help="Labelled file: validation texts, and accuracy of each precision.")
@data_options
@click.version_option(__version__, prog_name="lstmtc-export")
def main(checkpoint, out_dir, force, no_validate, quantize, fp16, default_precision, only_default, max_vocab, data,
         text_column, title_column, label_column, no_header, delimiter, encoding):
    """Export CHECKPOINT (a .pt file or a run directory) to an ONNX bundle for lstmtc-classify.

    \b
    The bundle directory holds model.onnx (input_ids int64 (batch, seq) -> logits float32; a
    length-aware model, trained with --padding-side packed, also takes lengths int64 (batch)),
    vocab.json and bundle.json (format 2: labels, text pipeline, SHA-256 of every file,
    provenance). Every export is checked with onnx.checker and validated against PyTorch at batch
    sizes 1, 7 and 1024 (fixed-width models at two sequence lengths; length-aware ones padded to
    two widths and against each document scored alone); it fails if any logit differs by more
    than 1e-4 or any predicted class differs.

    \b
    Example:
      lstmtc-export runs/p2/best.pt -o bundles/p2 --quantize int8 --data valid.csv
      lstmtc-export runs/r/best.pt -o bundles/small --quantize int8 --default-precision int8 --only-default
    """
    from rich.console import Console

    from .bundle_writer import export_bundle

    console = Console(stderr=True)
    ckpt = Path(checkpoint)
    out = Path(out_dir) if out_dir else (ckpt if ckpt.is_dir() else ckpt.parent) / "bundle"
    precisions = tuple(p for p, on in (("int8", quantize == "int8"), ("fp16", fp16)) if on)
    if default_precision != "fp32" and default_precision not in precisions:
        raise click.UsageError(f"--default-precision {default_precision} needs that model: add "
                               + ("--quantize int8" if default_precision == "int8" else "--fp16"))
    if only_default and default_precision == "fp32" and precisions:
        raise click.UsageError("--only-default with --default-precision fp32 would leave out the "
                               f"{' and '.join(precisions)} model(s) just made; drop one of the options")
    try:
        with protected_inputs(checkpoint, data):
            result = export_bundle(ckpt, out, force=force, validate=not no_validate, precisions=precisions,
                                   data=data, default_precision=default_precision, max_vocab=max_vocab,
                                   only_default=only_default,
                                   read_options=read_options(text_column, title_column, label_column, no_header,
                                                             delimiter, encoding=encoding))
    except LstmtcError as e:
        raise click.ClickException(str(e)) from None
    if result.validation:
        console.print(result.validation.table())
    for prec, info in result.extra_models.items():
        line = f"{prec}: agreement with fp32 {info['agreement_with_fp32'] * 100:.2f}% on {info['n']} texts"
        if "accuracy" in info:
            delta = (info["accuracy"] - info["fp32_accuracy"]) * 100
            line += f", accuracy {info['accuracy'] * 100:.2f}% ({delta:+.2f} points vs fp32)"
        console.print(line)
    for name, size in result.sizes.items():
        console.print(f"  {name:<18} {_human(size):>10}")
    click.echo(str(result.path))
