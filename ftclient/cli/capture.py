"""``ftclient capture``: record a model's answers to every input while it still answers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ftclient.cli.common import get_output, json_option

if TYPE_CHECKING:
    from ftclient.migration.capture import CaptureResult
    from ftclient.providers.base import BatchInfo


def summary(result: CaptureResult) -> list[str]:
    cost = "-" if result.cost_usd is None else f"${result.cost_usd:,.4f}"
    how = f"Batch API, {len(result.batches)} batch(es)" if result.batch else "ordinary requests"
    lines = [
        f"{result.answered}/{result.inputs} answers of {result.model} in {result.capture_path}",
        f"  sent {result.sent} ({how}), {result.cached} from the cache, {result.failed} failed, cost {cost}",
    ]
    if result.shutdown_date:
        lines.append(f"  {result.model} shuts down {result.shutdown_date} ({result.shutdown_source})")
    return lines


@click.command()
@click.argument("model")
@click.option("--inputs", "inputs", required=True, help="Dataset folder, chat JSONL, or CSV/JSONL with --input-col.")
@click.option("--out", default=None, help="Folder for capture.jsonl and manifest.json (default ftcaptures/<model>).")
@click.option("--batch/--no-batch", default=None, help="Use the Batch API (half price); default: from 1,000 inputs.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N inputs.")
@click.option("--input-col", default=None, help="Column holding the input text (tables and plain JSONL).")
@click.option("--reference-col", default=None, help="Column holding a reference answer, if any.")
@click.option("--system", default=None, help="System prompt to send (default: the one the model was trained with).")
@click.option("--max-tokens", type=click.IntRange(min=1), default=None, help="Answer length cap.")
@click.option("--provider", default=None, help="Provider serving MODEL (default: the configured one).")
@click.option(
    "--queue-tokens",
    type=click.IntRange(min=1),
    default=None,
    help="The model's enqueued-token limit for batches, if you know it (else learnt from the provider).",
)
@json_option
@click.pass_context
def capture(
    ctx: click.Context,
    *,
    model: str,
    inputs: str,
    out: str | None,
    batch: bool | None,
    limit: int | None,
    input_col: str | None,
    reference_col: str | None,
    system: str | None,
    max_tokens: int | None,
    provider: str | None,
    queue_tokens: int | None,
    json_mode: bool,
) -> None:
    """Record MODEL's answer to every input, as it was trained to answer (its system prompt, temperature 0).

    Writes capture.jsonl (input, reference, answer, model, usage, time; in input order) and manifest.json.
    Every answer is cached: run it again after an interruption and it pays only for what is missing. Many
    inputs go through the Batch API at half price, split within its limits and submitted concurrently.
    Once MODEL has shut down it fails, saying so and pointing to an earlier capture.

    \b
    Examples:
      ftclient capture ft:gpt-4o-mini-2024-07-18:acme::abc123 --inputs ftdata/tickets
      ftclient capture ft:gpt-4.1-mini-2025-04-14:acme::x --inputs prompts.csv --input-col question --batch
    """
    from ftclient.cli.evaluate import ProgressLine
    from ftclient.migration.capture import capture as run_capture

    out_ = get_output(ctx, json_mode)
    seen: set[tuple[str, str, int]] = set()

    def batch_status(batch_id: str, info: BatchInfo) -> None:
        key = (info.id, info.status, info.completed)
        if key not in seen:
            seen.add(key)
            out_.info(f"batch {info.id}: {info.status}, {info.completed}/{info.total} done")

    with ProgressLine(out_) as progress:
        result = run_capture(
            model,
            inputs,
            out=out,
            batch=batch,
            limit=limit,
            input_col=input_col,
            reference_col=reference_col,
            system=system,
            max_tokens=max_tokens,
            provider=provider,
            queue_tokens=queue_tokens,
            on_batch_status=batch_status,
            on_progress=progress,
        )
    out_.result(result.to_dict())
    for line in summary(result):
        out_.info(line)
    out_.line(result.out_dir)
