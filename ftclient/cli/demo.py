"""``ftclient demo``: the whole loop, offline, against the built-in emulator.

It is the same code path a real run takes — ``prepare``, ``launch`` (upload, create, follow), ``evaluate``
(tuned against base, significance, reports) — with the OpenAI adapter pointed at an emulator started in
this process on a free loopback port. Everything it writes goes under one folder (``--dir``), including
its own registry, so it never touches the user's history or data.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ftclient import calendar
from ftclient.cli.common import get_output, json_option
from ftclient.pricing import OPENAI_JOB_CREATION_ENDS

if TYPE_CHECKING:
    from ftclient.cli.output import Output
    from ftclient.emulator import Emulator

DEMO_MODEL = "gpt-4.1-mini-2025-04-14"
DEMO_KEY = "sk-emulator-demo"
DEMO_REHEARSAL_DATE = dt.date(2026, 12, 1)
_POINTED_VARS = (
    "OPENAI_BASE_URL",
    "OPENAI_API_KEY",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
    "FTCLIENT_HOME",
    "FTCLIENT_TODAY",
)


@contextmanager
def _pointed_at(emulator: Emulator, home: Path) -> Iterator[None]:
    """Point the OpenAI adapter and the registry at the demo's emulator and folder, then put things back.

    A real OPENAI_API_KEY in the environment is set aside for the demo's duration: the demo must never
    send a request, or a key, anywhere but the emulator."""
    saved = {name: os.environ.get(name) for name in _POINTED_VARS}
    for name in ("OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
        os.environ.pop(name, None)
    os.environ.update(OPENAI_BASE_URL=emulator.base_url, OPENAI_API_KEY=DEMO_KEY, FTCLIENT_HOME=str(home))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _rehearsal_date() -> dt.date | None:
    """The demo tunes an OpenAI model on the emulator; once OpenAI takes no new jobs (and unless the user
    chose a date with FTCLIENT_TODAY) it runs on an emulated date before that, and says so."""
    if os.environ.get("FTCLIENT_TODAY") or calendar.today() < OPENAI_JOB_CREATION_ENDS:
        return None
    return DEMO_REHEARSAL_DATE


def _step(out: Output, number: int, title: str) -> None:
    out.info(f"\n[bold]{number}/3 {title}[/]")


@click.command()
@click.option(
    "--task",
    type=click.Choice(["classify", "summarize", "translate"]),
    default="classify",
    show_default=True,
    help="Which bundled sample to run the loop on.",
)
@click.option(
    "--dir",
    "workdir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("ftclient-demo"),
    show_default=True,
    help="The one folder the demo writes to (dataset, registry, reports).",
)
@click.option("--model", default=DEMO_MODEL, show_default=True, help="Base model to fine-tune (emulated).")
@click.option(
    "--speed",
    type=float,
    default=3000.0,
    show_default=True,
    help="How much faster than real time the emulated training runs.",
)
@json_option
@click.pass_context
def demo(ctx: click.Context, task: str, workdir: Path, model: str, speed: float, json_mode: bool) -> None:  # noqa: PLR0917
    """Run the whole loop offline: prepare a bundled sample, fine-tune, evaluate tuned against base.

    Everything runs against the built-in emulator on a loopback port: no key, no network, no cost. The
    emulated "tuned" model answers by nearest neighbour over its training data and the "base" model is
    a weaker baseline, so the evaluation shows a real, explainable difference. Writes only under --dir.

    \b
    Examples:
      ftclient demo
      ftclient demo --task translate --dir /tmp/ftdemo
      ftclient demo --json | jq .verdict
    """
    from ftclient.cli.dataset_report import render_prepare
    from ftclient.cli.evaluate import ProgressLine, render_summary
    from ftclient.cli.jobs import follow
    from ftclient.config import resolve
    from ftclient.dataset.prepare import prepare
    from ftclient.emulator import BANNER, EmulatorConfig, run_in_thread
    from ftclient.evaluate import evaluate
    from ftclient.jobs import launch
    from ftclient.samples import SAMPLES, sample_path

    out = get_output(ctx, json_mode)
    started = time.monotonic()
    workdir = workdir.resolve()
    home = workdir / "home"
    home.mkdir(parents=True, exist_ok=True)
    sample = sample_path(task)

    rehearsed = _rehearsal_date()
    start = rehearsed.isoformat() if rehearsed else None
    with run_in_thread(EmulatorConfig(speed=speed, seed=0, start=start)) as emulator, _pointed_at(emulator, home):
        if rehearsed:
            os.environ["FTCLIENT_TODAY"] = rehearsed.isoformat()
        out.info(f"[bold]{BANNER}[/]")
        if rehearsed:
            out.info(
                f"OpenAI takes no new fine-tuning jobs since {OPENAI_JOB_CREATION_ENDS.isoformat()}: the demo runs "
                f"on an emulated {rehearsed.isoformat()} (FTCLIENT_TODAY) to show the whole loop"
            )
        out.info(f"Emulator at {emulator.base_url} (no key, no network, no cost); writing under {workdir}")
        settings = resolve(
            {"home": home, "data_dir": workdir / "ftdata", "reports_dir": workdir / "reports", "model": model}
        )

        _step(out, 1, f"prepare {sample.name} ({SAMPLES[task].description})")
        prepared = prepare(
            sample, task=task, model=model, out=workdir / "ftdata" / sample.stem, data_dir=workdir / "ftdata"
        )
        if not out.json_mode and not out.quiet:
            render_prepare(out.console, prepared)

        _step(out, 2, f"launch: fine-tune {model} on the emulator")
        job = launch(prepared.out_dir, model=model, settings=settings, on_step=lambda s: out.info(s.message))
        jobs = job if isinstance(job, list) else [job]
        final = follow(jobs, out, timeout=None, poll_interval=0.05)
        info = final[jobs[0].id]

        _step(out, 3, "evaluate: tuned against base on the held-out test split")
        with ProgressLine(out) as progress:
            report = evaluate(info.id, settings=settings, on_progress=progress)
        if not out.json_mode and not out.quiet:
            render_summary(report, out.console)

    elapsed = time.monotonic() - started
    html = Path(report.out_dir or workdir / "reports") / "report.html"
    result: dict[str, Any] = {
        "task": task,
        "dir": str(workdir),
        "dataset": str(prepared.out_dir),
        "job_id": info.id,
        "fine_tuned_model": info.fine_tuned_model,
        "verdict": report.verdict,
        "report": str(html),
        "seconds": round(elapsed, 1),
        "emulator": True,
    }
    out.report(result)
    out.info(f"\nDone in {elapsed:.0f}s. Open {html} in a browser (it works offline).")
    out.info("Next: your own data with `ftclient prepare your.csv` (docs/quickstart.md).")
