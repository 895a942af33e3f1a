"""``ftclient validate FILE``: check a fine-tuning JSONL against a provider's rules."""

from __future__ import annotations

import click

from ftclient.cli.common import get_output, json_option


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option("--model", "-m", default=None, help="Target model whose limits apply (default: the configured one).")
@click.option(
    "--provider", "-p", default=None, help="Provider whose rules apply: openai (default), together, fireworks or azure."
)
@click.option(
    "--method",
    type=click.Choice(["supervised", "dpo"]),
    default=None,
    help="Training method (default: from the file's format).",
)
@json_option
@click.pass_context
def validate(
    ctx: click.Context, *, file: str, model: str | None, provider: str | None, method: str | None, json_mode: bool
) -> None:
    """Check FILE (chat, DPO or prompt/completion JSONL) the way the provider will.

    Lists every problem with its line and a fix; errors (the provider would reject the file) are kept
    apart from warnings. Counts tokens exactly for the model and estimates the training cost.
    Exits 1 when the provider would reject the file, else 0.

    \b
    Examples:
      ftclient validate train.jsonl
      ftclient validate train.jsonl --model gpt-4o-mini-2024-07-18
      ftclient validate prefs.jsonl --method dpo --json | jq .problems
    """
    from ftclient.cli.dataset_report import render_validation
    from ftclient.config import resolve
    from ftclient.dataset.validate import validate as run_validate

    settings = resolve({"provider": provider})
    chosen_model = model
    if chosen_model is None and settings.provider == "openai":
        import os

        configured = resolve({}).model
        # The configured model applies unless it is only the built-in default: then the file's format decides.
        if os.environ.get("FTCLIENT_MODEL") or configured != "gpt-4.1-mini-2025-04-14":
            chosen_model = configured
    out = get_output(ctx, json_mode)
    report = run_validate(file, provider=settings.provider, model=chosen_model, method=method)
    out.report(report.model_dump(mode="json"), lambda console: render_validation(console, report))
    if not report.ok:
        from ftclient.errors import DatasetError

        raise DatasetError(
            f"{file}: {report.error_count:,} error(s); the provider would reject this file",
            hint="fix the lines listed above, then run ftclient validate again",
            path=file,
        )
