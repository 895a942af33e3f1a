"""``ftclient prepare INPUT``: a spreadsheet or JSONL of examples -> a validated, split, costed dataset folder."""

from __future__ import annotations

from typing import Any

import click

from ftclient.cli.common import get_output, json_option

_COLUMN_OPTIONS = (
    ("--text-col", "text_col", "Column with the text to classify/summarize/extract from."),
    ("--label-col", "label_col", "Column with the label (classify)."),
    ("--input-col", "input_col", "Column the model reads (any task's input)."),
    ("--output-col", "output_col", "Column with the expected answer (any task's output)."),
    ("--source-col", "source_col", "Column with the text to translate."),
    ("--target-col", "target_col", "Column with the translation."),
    ("--prompt-col", "prompt_col", "Column with the prompt (preference)."),
    ("--chosen-col", "chosen_col", "Column with the preferred answer (preference)."),
    ("--rejected-col", "rejected_col", "Column with the rejected answer (preference)."),
    ("--messages-col", "messages_col", "Column holding a JSON list of messages (chat)."),
)


def _column_options(func: Any) -> Any:
    for flag, name, text in reversed(_COLUMN_OPTIONS):
        func = click.option(flag, name, default=None, metavar="COLUMN", help=text)(func)
    return func


@click.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=False, path_type=str))
@click.option(
    "--task",
    "-t",
    type=click.Choice(["classify", "summarize", "translate", "extract", "preference", "chat"]),
    default=None,
    help="What the examples teach (default: guessed from the column names).",
)
@_column_options
@click.option("--source-lang", default=None, help="Language of the source text (translate), e.g. English.")
@click.option("--target-lang", default=None, help="Language to translate into (translate), e.g. Chinese.")
@click.option("--system", "system", default=None, help="System prompt for every example (overrides the task's).")
@click.option("--model", "-m", default=None, help="Target model whose rules, limits and price apply.")
@click.option("--provider", "-p", default=None, help="Target provider: openai (default), together, fireworks or azure.")
@click.option("--out", "-o", "out", default=None, type=click.Path(file_okay=False), help="Dataset folder to write.")
@click.option(
    "--force", is_flag=True, help="Replace files in --out that ftclient did not write (never the input itself)."
)
@click.option("--split", "split", default="80/10/10", show_default=True, help="Train/validation/test shares.")
@click.option("--seed", type=int, default=None, help="Seed of the split (default 42 or the configured seed).")
@click.option("--encoding", default=None, help="Text encoding of a CSV/TSV (default: detected).")
@click.option("--delimiter", default=None, help="Field delimiter of a CSV/TSV (default: sniffed).")
@json_option
@click.pass_context
def prepare(ctx: click.Context, /, *, input_path: str, json_mode: bool, **options: Any) -> None:
    """Turn INPUT (CSV, TSV, JSONL, JSON or Parquet) into a fine-tuning dataset folder.

    Maps columns to the task, checks every row against the provider's rules, drops (and reports, by
    line) duplicates and rows the provider would reject, counts tokens exactly, splits
    train/validation/test (seeded; stratified by label for classify), checks that no input leaks
    across splits, and estimates epochs and cost. Writes train.jsonl, validation.jsonl, test.jsonl,
    manifest.json and report.md to ./ftdata/<input-name>/ (or --out).

    \b
    Examples:
      ftclient prepare examples/support_tickets.csv
      ftclient prepare reviews.csv --task classify --text-col review --label-col stars
      ftclient prepare pairs.csv --task translate --source-lang English --target-lang Chinese
      ftclient prepare articles.jsonl --task summarize --model gpt-4o-mini-2024-07-18 --split 90/5/5
      ftclient prepare tickets.csv --json | jq .manifest.dataset_sha256
    """
    from ftclient.cli.dataset_report import render_prepare
    from ftclient.config import resolve
    from ftclient.dataset.prepare import prepare as run_prepare

    settings = resolve({"provider": options.pop("provider"), "seed": options.pop("seed")})
    columns = {name: options.pop(name) for _, name, _ in _COLUMN_OPTIONS}
    out = get_output(ctx, json_mode)
    report = run_prepare(
        input_path,
        provider=settings.provider,
        seed=settings.seed,
        **options,
        **{k: v for k, v in columns.items() if v},
    )
    out.report(report.model_dump(mode="json"), lambda console: render_prepare(console, report))
    out.line(str(report.out_dir))
