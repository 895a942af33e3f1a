"""``ftclient launch --provider openai,together --model A,B``: one dataset on several providers.

How providers and models pair up is decided in ``ftclient.launching.cross`` (``provider:model`` to be
explicit; otherwise each model goes to the one listed provider that tunes it)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from ftclient.cli.output import Output


def launch_across_cli(
    output: Output,
    dataset: Path | None,
    *,
    provider: str | None,
    model: str | None,
    options: dict[str, Any],
    moderate: bool,
    yes: bool,
    detach: bool,
    dry_run: bool,
    timeout: float | None,
    poll_interval: float | None,
    on_step: Any,
) -> None:
    from ftclient.errors import Interrupted
    from ftclient.launching.cross import launch_across, plan_across

    options = {k: v for k, v in options.items() if k not in {"provider", "model"}}
    if dry_run:
        plans = plan_across(dataset, provider=provider, model=model, **options)
        data = {"dry_run": True, "plans": [p.to_dict() for p in plans]}

        def render_plans(console: Console) -> None:
            from ftclient.cli.launch import _render_plan

            for plan in plans:
                _render_plan(plan, console)

        output.result(data, render_plans)
        return

    def on_provider(name: str, models: list[str]) -> None:
        output.info(f"{name}: launching {', '.join(models)}")

    try:
        launched = launch_across(
            dataset,
            provider=provider,
            model=model,
            moderate=moderate,
            yes=yes,
            on_step=on_step,
            on_provider=on_provider,
            **options,
        )
    except KeyboardInterrupt:
        raise Interrupted(
            "interrupted before every job was launched",
            hint="run the same `ftclient launch` again: jobs already created are found, not created twice",
        ) from None
    output.info(f"sweep {launched.sweep_id}: {len(launched.jobs)} jobs on several providers")
    if not detach:
        from ftclient.cli.jobs import follow

        by_provider: dict[str, list[Any]] = {}
        for job in launched.jobs:
            by_provider.setdefault(job.provider_name, []).append(job)
        for jobs in by_provider.values():
            follow(jobs, output, timeout=timeout, poll_interval=poll_interval)
    from ftclient.cli.launch import _job_row

    rows = [{**_job_row(j), "provider": j.provider_name} for j in launched.jobs]

    def render(console: Console) -> None:
        for row in rows:
            console.print(f"{row['provider']} {row['id']}: {row.get('status')} {row.get('fine_tuned_model') or ''}")
        console.print(f"next: ftclient evaluate {launched.sweep_id}", highlight=False)

    output.report({"jobs": rows, "sweep_id": launched.sweep_id}, render)
    if detach:
        for job in launched.jobs:
            output.line(job.id)
