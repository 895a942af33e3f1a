"""Writing an evaluation report: report.json (the typed report), report.md, and a self-contained report.html.

The HTML file has everything inline — CSS and SVG charts, no scripts, fonts or images to fetch — so it opens
offline, can be mailed or attached to a ticket, and renders the same everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ftclient.evaluate.compare import LABELS, RATE_METRICS
from ftclient.evaluate.significance import format_p
from ftclient.evaluate.types import EvaluationReport, JudgeResult
from ftclient.outputs import cannot_write, foreign_files, refuse_foreign, write_atomic

MAX_TEXT = 400


REPORT_FILES = ("report.json", "report.md", "report.html")

DIFF_PAGE = 20
"""Examples per page of the fixed/broken lists: report.md lists the first page, report.html folds the rest (no
script needed)."""


def claim_report_folder(out_dir: Path) -> None:
    """Refuse a folder whose report files ftclient's evaluation did not write (a dataset's report.md, say).

    An earlier evaluation's reports are recognised by its report.json (an object with an ``eval_id``)
    and may be replaced; anything else under those names is the user's.
    """
    if not out_dir.is_dir():
        return
    owned: dict[str, str | None] = dict.fromkeys(REPORT_FILES) if _is_ours(out_dir / "report.json") else {}
    refuse_foreign(out_dir, foreign_files(out_dir, REPORT_FILES, owned), what="the evaluation report", force_flag=None)


def _is_ours(path: Path) -> bool:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and isinstance(data.get("eval_id"), str) and "verdict" in data


def write_reports(report: EvaluationReport, out_dir: Path) -> dict[str, Path]:
    """Write the three report files into ``out_dir`` (created), each atomically; return their paths by kind."""
    claim_report_folder(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise cannot_write(out_dir, exc) from exc
    report.out_dir = str(out_dir)
    paths = report.report_paths
    write_atomic(paths["json"], json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n")
    write_atomic(paths["md"], render_markdown(report))
    from ftclient.evaluate.report_html import render_html  # it draws on this module's tables

    write_atomic(paths["html"], render_html(report))
    return paths


def metric_value(name: str, value: float) -> str:
    """Shares as percentages, text metrics as points."""
    return f"{100 * value:.1f}%" if name in RATE_METRICS else f"{value:.2f}"


def money(value: float | None) -> str:
    return "unknown" if value is None else f"${value:.4f}"


def seconds(value: float | None) -> str:
    return "–" if value is None else f"{1000 * value:.0f} ms"


def clip(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def diff_titles(report: EvaluationReport) -> tuple[str, str]:
    """With exact correctness the diffs are fixed/broken examples; otherwise the biggest score changes."""
    if report.mcnemar:
        return "Fixed by tuning", "Broken by tuning"
    metric = "sentence chrF" if report.task == "translate" else LABELS.get(report.primary_metric, report.primary_metric)
    return f"Improved most by tuning ({metric}, +10 points or more)", f"Worsened most ({metric}, -10 points or more)"


def judge_sentence(j: JudgeResult) -> str:
    counts = f"tuned wins {j.tuned_wins}, baseline wins {j.baseline_wins}, ties {j.ties}, invalid {j.invalid}"
    if j.tuned_wins + j.baseline_wins + j.ties == 0:
        return f"Judge {j.model}: {counts}; it gave no usable verdict (replies must start with A, B or T)."
    return (
        f"Judge {j.model}: {counts}; tuned win rate {100 * j.win_rate:.1f}% "
        f"(95% CI {100 * j.ci_low:.1f}–{100 * j.ci_high:.1f})."
    )


def _md_cell(text: str) -> str:
    return clip(text, 160).replace("|", "\\|").replace("\n", " ")


# ------------------------------------------------------------------------------------------------ markdown


def _costs_markdown(report: EvaluationReport) -> list[str]:
    """Cost, latency and the answers that failed (each scored as wrong), per model."""
    lines = [
        "",
        "## Cost and latency",
        "",
        "| model | examples | failed | cached | prompt tokens | completion tokens | cost | latency p50 | latency p95 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for model in report.models:
        lines.append(
            f"| {model.model} | {model.examples} | {model.failed} | {model.cached} | {model.prompt_tokens} | "
            f"{model.completion_tokens} | {money(model.cost_usd)} | {seconds(model.latency_p50_s)} | "
            f"{seconds(model.latency_p95_s)} |"
        )
    notes = [m.cost_note for m in report.models if m.cost_note]
    if notes:
        lines += ["", *[f"- {n}" for n in dict.fromkeys(notes)]]
    if report.failures:
        lines += ["", f"## Failed answers ({len(report.failures)}, each scored as wrong)", ""]
        lines += ["| # | role | model | error |", "|---|---|---|---|"]
        lines += [
            f"| {f['index'] + 1} | {f['role']} | {f['model']} | {_md_cell(str(f['error']))} |" for f in report.failures
        ]
    return lines


def render_markdown(report: EvaluationReport) -> str:
    lines = [f"# Evaluation {report.eval_id}", ""]
    if report.verdict:
        lines += [f"**{report.verdict}**", ""]
    if report.source_note:
        lines += [f"> {report.source_note}", ""]
    lines += [
        f"- Task: {report.task}; {report.examples} test examples from `{report.test_file}`",
        f"- Provider: {report.provider}" + (" (Batch API)" if report.batch else ""),
    ]
    if report.job_id:
        lines.append(f"- Job: {report.job_id}")
    if report.dataset_sha256:
        lines.append(f"- Dataset: {report.dataset_sha256[:16]}")
    settings = ", ".join(f"{k}={v}" for k, v in report.request_settings.items())
    if settings:
        lines.append(f"- Requests: {settings}")
    lines += ["", "## Metrics", ""]
    metric_names = list(report.models[0].metrics) if report.models else []
    lines.append("| model | role | " + " | ".join(LABELS.get(n, n) for n in metric_names) + " |")
    lines.append("|---|---|" + "---|" * len(metric_names))
    for model in report.models:
        values = " | ".join(metric_value(n, model.metrics.get(n, 0.0)) for n in metric_names)
        lines.append(f"| {model.model} | {model.role} | {values} |")
    lines += _runs_markdown(report)
    if report.comparisons:
        lines += [
            "",
            "## Tuned vs baseline",
            "",
            "| metric | baseline | tuned | difference | 95% CI | p | test |",
            "|---|---|---|---|---|---|---|",
        ]
        for c in report.comparisons:
            p = format_p(c.p_value) if c.p_value is not None else ""
            lines.append(
                f"| {c.label} | {c.baseline:.1f} | {c.tuned:.1f} | {c.difference:+.1f} | "
                f"{c.ci_low:+.1f} to {c.ci_high:+.1f} | {p} | {c.test} |"
            )
        if report.mcnemar:
            lines += [
                "",
                f"Fixed by tuning: {report.mcnemar['fixed']} examples; broken: "
                f"{report.mcnemar['broken']} ({report.mcnemar['test']}).",
            ]
        elif report.moved:
            lines += [
                "",
                f"Examples whose score rose by 10 points or more: {report.moved.get('better', 0)}; "
                f"fell by 10 points or more: {report.moved.get('worse', 0)}.",
            ]
    lines += _costs_markdown(report)
    lines += _deployments_markdown(report)
    for model in report.models:
        if model.per_class:
            lines += [
                "",
                f"## Per class: {model.model}",
                "",
                "| label | precision | recall | F1 | support |",
                "|---|---|---|---|---|",
            ]
            for label, v in model.per_class.items():
                lines.append(
                    f"| {label} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {int(v['support'])} |"
                )
    if report.judge is not None:
        j = report.judge
        lines += [
            "",
            "## LLM judge",
            "",
            judge_sentence(j),
            "",
            "Judge prompt:",
            "",
            "```",
            j.prompt_template,
            "```",
        ]
    for title, items in zip(diff_titles(report), (report.fixed, report.broken), strict=True):
        if items:
            lines += ["", f"## {title}", "", "| # | prompt | reference | baseline | tuned |", "|---|---|---|---|---|"]
            lines += [
                f"| {d.index} | {_md_cell(d.prompt)} | {_md_cell(d.reference)} | "
                f"{_md_cell(d.baseline_answer)} | {_md_cell(d.tuned_answer)} |"
                for d in items[:DIFF_PAGE]
            ]
            if len(items) > DIFF_PAGE:
                lines += ["", f"… and {len(items) - DIFF_PAGE} more: all {len(items)} in report.json and report.html"]
    if report.signature:
        lines += ["", "## How the metrics were computed", ""]
        lines += [f"- {k}: `{v}`" for k, v in report.signature.items()]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------- several jobs, deployments


def runs_table(report: EvaluationReport) -> tuple[list[str], list[list[str]]]:
    """One row per job of a comparison: the primary metric of tuned and base side by side, and the money."""
    label = LABELS.get(report.primary_metric, report.primary_metric)
    swept = swept_settings(report.runs)
    head = [
        "provider",
        "job",
        "tuned model",
        "base model",
        "settings",
        f"tuned {label}",
        f"base {label}",
        "difference",
        "training",
        "inference",
        "endpoint",
        "total",
    ]
    rows = []
    for run in report.runs:
        tuned, base = run.get("tuned_metric"), run.get("base_metric")
        diff = run.get("difference")
        rows.append(
            [
                str(run.get("provider", "")),
                str(run.get("job_id", "")),
                str(run.get("tuned_model", "")),
                str(run.get("base_model") or "–"),
                ", ".join(f"{k}={v}" for k, v in sorted((run.get("hyperparameters") or {}).items()) if k in swept)
                or "–",
                "–" if tuned is None else metric_value(report.primary_metric, tuned),
                "–" if base is None else metric_value(report.primary_metric, base),
                "–" if diff is None else f"{diff:+.1f}",
                money(run.get("training_cost_usd")),
                money(run.get("inference_cost_usd")),
                "–" if run.get("endpoint_cost_usd") is None else money(run.get("endpoint_cost_usd")),
                money(run.get("total_cost_usd")),
            ]
        )
    return head, rows


def swept_settings(runs: Sequence[dict[str, Any]]) -> set[str]:
    """The hyperparameters whose values differ between the runs (what a sweep varied); all of them when
    they do not differ, so the table always says what each job was trained with."""
    values: dict[str, set[str]] = {}
    for run in runs:
        for key, value in (run.get("hyperparameters") or {}).items():
            values.setdefault(key, set()).add(repr(value))
    varied = {
        key
        for key, seen in values.items()
        if len(seen) > 1 or any(key not in (run.get("hyperparameters") or {}) for run in runs)
    }
    return varied or set(values)


def _runs_markdown(report: EvaluationReport) -> list[str]:
    if not report.runs:
        return []
    head, rows = runs_table(report)
    lines = ["", "## Jobs compared", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    notes = [str(run["cost_note"]) for run in report.runs if run.get("cost_note")]
    lines += ["", *[f"- {n}" for n in dict.fromkeys(notes)]] if notes else []
    reports = [f"- {run['job_id']}: `{run['report']}`" for run in report.runs if run.get("report")]
    return lines + (["", "Each job's own report (per-example diffs, significance):", "", *reports] if reports else [])


def deployments_table(report: EvaluationReport) -> tuple[list[str], list[list[str]]]:
    head = ["endpoint", "model", "hardware", "$/hour", "billed minutes", "cost", "inactivity timeout", "left"]
    rows = [
        [
            str(d.get("name") or d.get("endpoint_id")),
            str(d.get("model", "")),
            str(d.get("hardware") or "–"),
            "unknown" if d.get("cost_per_hour_usd") is None else f"${d['cost_per_hour_usd']:.2f}",
            str(d.get("billed_minutes", "–")),
            money(d.get("cost_usd")),
            f"{d.get('inactive_timeout_min')} min",
            str(d.get("final_state", "")),
        ]
        for d in report.deployments
    ]
    return head, rows


def _deployments_markdown(report: EvaluationReport) -> list[str]:
    if not report.deployments:
        return []
    head, rows = deployments_table(report)
    lines = ["", "## Dedicated endpoints", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return lines + ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
