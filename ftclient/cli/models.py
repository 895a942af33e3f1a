"""``ftclient models``: the provider's models; tuned ones with base, job, shutdown date and days left."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ftclient.cli.common import get_output, json_option

if TYPE_CHECKING:
    from ftclient.migration.inventory import Inventory, ModelEntry


def _when(entry: ModelEntry) -> str:
    if entry.shutdown_date is None:
        return "no shutdown announced"
    days = entry.days_left
    left = "" if days is None else (f", {days} days left" if days >= 0 else f", shut down {-days} days ago")
    source = "API" if entry.shutdown_source and entry.shutdown_source.startswith("provider") else "table"
    tuning = f", tunable until {entry.fine_tune_shutdown_date}" if entry.fine_tune_shutdown_date else ""
    return f"shuts down {entry.shutdown_date}{left} ({source}){tuning}"


def listing(inv: Inventory) -> list[str]:
    """The listing as plain lines (for stdout): one line per model, tuned ones with a second line of detail."""
    lines: list[str] = []
    for e in inv.models:
        if not e.tuned:
            lines.append(f"{e.model}  {_when(e)}")
            continue
        state = "" if e.listed else "  [no longer listed by the provider]"
        lines.append(f"{e.model}  {_when(e)}{state}")
        job = f"job {e.job_id} ({e.job_source})" if e.job_id else "job unknown"
        data = f"dataset held: {e.dataset_path}" if e.dataset_held else "dataset not held"
        created = f"created {e.created_at[:10]}" if e.created_at else "created -"
        lines.append(f"    base {e.base_model or '-'}, {created}, {job}, {data}")
    if not inv.models:
        lines.append("no models")
    return lines


@click.command()
@click.option("--provider", default=None, help="Provider to ask (default: the configured one).")
@click.option("--tuned", "tuned_only", is_flag=True, help="Only tuned models.")
@json_option
@click.pass_context
def models(ctx: click.Context, provider: str | None, tuned_only: bool, json_mode: bool) -> None:
    """List the provider's models; tuned ones with their base, job, shutdown date and days left.

    The shutdown date comes from the provider's Models API (OpenAI's shutdown_date, Azure's
    deprecation.inference) when it gives one, else from ftclient's dated retirement table; the listing says
    which ("API" or "table"). Where the API gives it (Azure), the last day a model can be tuned is shown
    too. "dataset held" means ftclient still has the data the model was trained on (`ftclient migrate` can
    re-tune from it); otherwise record the model's answers with `ftclient capture` before it shuts down.

    \b
    Examples:
      ftclient models --tuned
      ftclient models --provider openai --tuned --json | jq '.models[] | {model, days_left}'
      ftclient models --provider azure
    """
    from ftclient.migration.inventory import inventory

    out = get_output(ctx, json_mode)
    inv = inventory(provider, tuned_only=tuned_only)
    for note in inv.notes:
        out.info(note)
    out.result(inv.to_dict())
    for line in listing(inv):
        out.line(line)
