"""``ftclient migrate``: re-tune a retiring model on other providers and recommend its replacement."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ftclient.cli.common import get_output, json_option

if TYPE_CHECKING:
    from ftclient.migration.migrate import MigrationReport


def summary(report: MigrationReport) -> list[str]:
    rec = report.recommendation
    lines = [
        f"training data: {report.training_data['source']}",
        f"held out: {report.held_out} inputs, reference {report.reference}, "
        f"{report.metric} margin {report.margin:g} points",
    ]
    for c in report.candidates:
        ni = c.get("noninferiority")
        lines.append(f"  {c['provider']}:{c['base_model']} -> {c.get('fine_tuned_model') or '-'}")
        lines.append(f"    {ni['sentence'] if ni else c.get('verdict')}")
    lines.append(f"recommendation: {rec['model'] or 'none'} — {rec['why']}")
    lines.append(f"endpoints left running: {', '.join(report.endpoints_left_running) or 'none'}")
    lines.append(f"report: {report.out_dir}/report.html")
    return lines


@click.command()
@click.argument("model")
@click.option("--to", "to", required=True, help="Targets, comma-separated: PROVIDER:MODEL[,PROVIDER:MODEL...].")
@click.option("--data", default=None, help="The original dataset folder (default: the one the registry knows).")
@click.option("--capture", "capture_dir", default=None, help="Folder of `ftclient capture` (default: the newest).")
@click.option("--budget", type=click.FloatRange(min=0), default=None, help="Refuse if training is estimated above USD.")
@click.option("--margin", type=click.FloatRange(min=0), default=None, help="Non-inferiority margin, in points.")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Epochs for every target.")
@click.option("--provider", default="openai", show_default=True, help="Provider of MODEL.")
@click.option("--out", default=None, help="Folder for the report (default ftmigrations/<model>).")
@json_option
@click.pass_context
def migrate(
    ctx: click.Context,
    *,
    model: str,
    to: str,
    data: str | None,
    capture_dir: str | None,
    budget: float | None,
    margin: float | None,
    epochs: int | None,
    provider: str,
    out: str | None,
    json_mode: bool,
) -> None:
    """Re-tune MODEL on every target and say which replacement is at least as good, at what cost.

    Trains on MODEL's original data (--data, or the dataset the registry knows), else on its recorded
    answers (--capture: distillation, with a held-out part never trained on). Refuses before launching
    when the estimated training cost exceeds --budget. Judges each candidate by a non-inferiority test on
    the held-out inputs (margin: --margin points, default per metric) and writes report.json/.md/.html.
    Interrupted and run again, it continues: jobs are re-attached and answers come from the cache.

    \b
    Examples:
      ftclient migrate ft:gpt-4o-mini-2024-07-18:acme::abc --to together:Qwen/Qwen3-8B --budget 50
      ftclient migrate ft:gpt-4.1-mini-2025-04-14:acme::x --capture ftcaptures/x \\
          --to together:Qwen/Qwen3-8B,together:meta-llama/Meta-Llama-3.1-8B-Instruct-Reference
    """
    from ftclient.migration.migrate import migrate as run_migration

    out_ = get_output(ctx, json_mode)
    report = run_migration(
        model,
        to=to,
        data=data,
        capture_dir=capture_dir,
        budget=budget,
        margin=margin,
        epochs=epochs,
        provider=provider,
        out=out,
        on_step=out_.info,
    )
    out_.result(report.to_dict())
    for line in summary(report):
        out_.info(line)
    out_.line(f"{report.out_dir}/report.html")
