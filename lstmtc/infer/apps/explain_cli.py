"""``lstmtc-explain``: which words drove a prediction (LIME over the ONNX model), torch-free.

A thin click layer over lstmtc.infer.apps.explain: options are checked here, library errors become
one-line messages here, and the explanation is shown with rich (or as JSON, or LIME's HTML).
"""

from __future__ import annotations

import json

import click

from lstmtc import __version__

from ..data.reader import read_line
from ..errors import LstmtcError
from .options import CONTEXT, encoding_option, model_option, run_command


def _word_style(weight: float, top: float) -> str:
    """Colour by sign (green: toward the class, red: away from it), strength by |weight| relative
    to the largest: bold, plain, dim. Named colours, so 8-colour terminals show the same thing."""
    colour = "green" if weight > 0 else "red"
    t = abs(weight) / top if top else 0.0
    return f"bold {colour}" if t >= 0.5 else colour if t >= 0.2 else f"dim {colour}"


def render(exp, console) -> None:
    """The terminal view: class and probability, the text with its words coloured, the weights table."""
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    from .explain import segments

    weights = dict(exp.weights)
    top = max((abs(w) for w in weights.values()), default=0.0)

    head = Text()
    head.append("predicted: ")
    head.append(exp.predicted, style="bold")
    head.append(f"  p={exp.predicted_probability:.4f}")
    if exp.label != exp.predicted:
        head.append("    explaining: ")
        head.append(exp.label, style="bold")
        head.append(f"  p={exp.probability:.4f}")
    console.print(head)

    text = Text()
    for piece, is_word in segments(exp.text, exp.tokenizer):
        w = weights.get(piece.lower()) if is_word else None
        text.append(piece, style=_word_style(w, top) if w else "")
    console.print(text)

    table = Table(title=f"word weights for {escape(exp.label)}", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("word")
    table.add_column("weight", justify="right")
    table.add_column("")
    for rank, (word, w) in enumerate(exp.weights, 1):
        style = _word_style(w, top)
        bar = "█" * max(1, round(10 * abs(w) / top)) if top else ""
        table.add_row(str(rank), Text(word, style=style), f"{w:+.4f}", Text(bar, style=style))
    console.print(table)
    console.print(Text(f"+ pushes toward {exp.label}, - away from it. LIME: {exp.num_samples} samples, "
                       f"seed {exp.seed}, local fit R² {exp.score:.2f}", style="dim"))


@click.command(context_settings=CONTEXT)
@click.argument("text", required=False)
@model_option
@click.option("--file", "file_path", help="Explain a line of this text file instead of TEXT (with --line).")
@click.option("--line", type=click.IntRange(1), help="With --file: the line to explain (1-based).")
@encoding_option
@click.option("--label", help="Explain this class instead of the predicted one.")
@click.option("--num-features", type=click.IntRange(1), default=10, help="Most words to give weights to.")
@click.option("--num-samples", type=click.IntRange(2), default=1000,
              help="Perturbed copies of the text LIME scores (more: steadier weights, slower).")
@click.option("--seed", type=int, default=0, help="Random seed: the same seed gives the same explanation.")
@click.option("--batch-size", type=click.IntRange(1), default=256, help="Perturbed texts per onnxruntime call.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False),
              help="Also save LIME's HTML view here (written atomically).")
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON instead of the terminal view.")
@click.version_option(__version__, prog_name="lstmtc-explain")
def main(text, model, file_path, line, encoding, label, num_features, num_samples, seed, batch_size, html_path,
         as_json):
    """Show which words drove the model's prediction for TEXT: a LIME explanation of the
    model's class probabilities, for the predicted class or --label.

    Each word gets a weight: positive pushed the text toward the class, negative away from it.
    LIME removes random sets of words from the text and scores the copies with the model (in
    batches, torch-free). Needs the 'explain' extra: pip install 'lstmtc[explain]'.

    \b
    Examples:
      lstmtc-explain "Airline files for bankruptcy as shares plunge"
      lstmtc-explain --file news.txt --line 3 --label Business --num-features 6
      lstmtc-explain "Stocks rally on profit hopes" --json
      lstmtc-explain "Stocks rally on profit hopes" --html why.html
      echo "Stocks rally on profit hopes" | lstmtc-explain -
    """
    if text is not None and file_path is not None:
        raise click.ClickException("give TEXT or --file F --line N, not both")
    if line is not None and file_path is None:
        raise click.ClickException("--line picks a line of --file; give --file F too")
    if file_path is not None and line is None:
        raise click.ClickException("--file needs --line N (the 1-based line to explain)")
    if text is None and file_path is None:
        raise click.ClickException("nothing to explain: give TEXT or --file F --line N")
    if encoding and text not in (None, "-"):
        raise click.ClickException("--encoding says how --file or stdin is encoded; TEXT is already text")

    from .explain import explain, require_lime

    try:
        require_lime()  # before the model loads: a missing extra is the first thing to say
        if file_path is not None:
            text = read_line(file_path, line, encoding)
        elif text == "-":
            text = read_line("-", encoding=encoding)
        from ..classifier import Classifier

        clf = Classifier.load(model)
        exp = explain(clf, text, label=label, num_features=num_features, num_samples=num_samples, seed=seed,
                      batch_size=batch_size)
        if html_path:
            from ..files import atomic_write_text, protected_inputs

            with protected_inputs(file_path):
                atomic_write_text(html_path, exp.html())
    except LstmtcError as e:
        raise click.ClickException(str(e)) from None

    if as_json:
        click.echo(json.dumps(exp.to_dict(), ensure_ascii=False))
        return
    from rich.console import Console

    render(exp, Console(highlight=False))
    if html_path:
        click.echo(f"wrote {html_path}", err=True)


def run() -> None:
    """Console-script entry (``options.run_command``): one-line errors, Ctrl-C 130, SIGTERM 143."""
    run_command(lambda: main)
