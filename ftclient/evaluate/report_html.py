"""report.html: the evaluation report as one self-contained page (inline CSS and SVG charts; no scripts,
fonts or images to fetch), so it opens offline, can be mailed or attached to a ticket, and renders the same
everywhere. The tables and wording it shares with report.md come from ``report``."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from ftclient.evaluate import svg
from ftclient.evaluate.compare import LABELS
from ftclient.evaluate.report import (
    DIFF_PAGE,
    clip,
    deployments_table,
    diff_titles,
    judge_sentence,
    metric_value,
    money,
    runs_table,
    seconds,
)
from ftclient.evaluate.significance import format_p
from ftclient.evaluate.types import EvaluationReport, ExampleDiff, ModelResult

_CSS = """
:root { --tuned:#2f6fdb; --base:#8a8f98; --bad:#c0392b; --accent2:#d9822b; --accent3:#2e9e5b;
  --fg:#1d2330; --bg:#ffffff; --muted:#5b6372; --line:#e3e6eb; color-scheme: light dark; }
@media (prefers-color-scheme: dark) { :root { --fg:#e6e9ef; --bg:#14171c; --muted:#9aa3b2; --line:#2b313b;
  --tuned:#6d9cf0; } }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg);
  max-width: 1100px; margin: 2rem auto; padding: 0 1.2rem; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem;
  border-bottom: 1px solid var(--line); padding-bottom: .3rem; }
.verdict { font-size: 1.1rem; font-weight: 600; padding: .7rem 1rem; border-left: 4px solid var(--tuned);
  background: color-mix(in srgb, var(--tuned) 8%, transparent); }
.note { color: var(--muted); } .chart { max-width: 100%; height: auto; color: var(--fg); }
table { border-collapse: collapse; margin: .6rem 0; font-size: .92rem; }
th, td { border-bottom: 1px solid var(--line); padding: .3rem .6rem; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.ex td:first-child { white-space: nowrap; }
.ex td { max-width: 260px; overflow-wrap: anywhere; } .grid { display: flex; flex-wrap: wrap; gap: 2rem; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .85rem; }
pre { white-space: pre-wrap; background: color-mix(in srgb, var(--fg) 5%, transparent); padding: .6rem; }
"""


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[int] = (), cls: str = "") -> str:
    th = "".join(f"<th{' class=num' if i in numeric else ''}>{escape(h)}</th>" for i, h in enumerate(head))
    body = "".join(
        "<tr>"
        + "".join(f"<td{' class=num' if i in numeric else ''}>{escape(c)}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f"<table{f' class={cls}' if cls else ''}><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _diff_rows(items: Sequence[ExampleDiff]) -> list[list[str]]:
    return [
        [str(d.index), clip(d.prompt), clip(d.reference), clip(d.baseline_answer), clip(d.tuned_answer)]
        for d in items
    ]


def _diff_pages(head: Sequence[str], items: Sequence[ExampleDiff]) -> list[str]:
    pages = [items[start : start + DIFF_PAGE] for start in range(0, len(items), DIFF_PAGE)]
    parts = [_table(head, _diff_rows(pages[0]), cls="ex")]
    for number, page in enumerate(pages[1:], start=2):
        first = (number - 1) * DIFF_PAGE + 1
        parts.append(
            f"<details><summary>examples {first}-{first + len(page) - 1} of {len(items)}</summary>"
            f"{_table(head, _diff_rows(page), cls='ex')}</details>"
        )
    return parts


def _metrics_table(models: Sequence[ModelResult]) -> str:
    names = list(models[0].metrics) if models else []
    rows = [[m.model, m.role, *[metric_value(n, m.metrics.get(n, 0.0)) for n in names]] for m in models]
    return _table(["model", "role", *[LABELS.get(n, n) for n in names]], rows, numeric=range(2, 2 + len(names)))


def render_html(report: EvaluationReport) -> str:
    tuned, baseline = report.model("tuned"), report.model("baseline")
    parts = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Evaluation {escape(report.eval_id)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Evaluation {escape(report.eval_id)}</h1>",
        f'<p class="note">{escape(report.task)} · {report.examples} test examples · '
        f"{escape(report.provider)}{' (Batch API)' if report.batch else ''} · {escape(report.created_at)}"
        f"{' · job ' + escape(report.job_id) if report.job_id else ''}</p>",
    ]
    if report.verdict:
        parts.append(f'<p class="verdict">{escape(report.verdict)}</p>')
    if report.source_note:
        parts.append(f'<p class="note">{escape(report.source_note)}</p>')
    parts += ["<h2>Metrics</h2>", _metrics_table(report.models)]
    if report.runs:
        parts += _runs_html(report)
    if report.comparisons and tuned and baseline:
        rows = [(c.label, c.baseline, c.tuned, c.ci_low, c.ci_high) for c in report.comparisons]
        parts += [
            "<h2>Tuned vs baseline</h2>",
            svg.comparison_chart(
                "Metric comparison with 95% confidence intervals",
                rows,
                baseline_name=baseline.model,
                tuned_name=tuned.model,
            ),
            _table(
                ["metric", "baseline", "tuned", "difference", "95% CI", "p", "test"],
                [
                    [
                        c.label,
                        f"{c.baseline:.1f}",
                        f"{c.tuned:.1f}",
                        f"{c.difference:+.1f}",
                        f"{c.ci_low:+.1f} to {c.ci_high:+.1f}",
                        format_p(c.p_value) if c.p_value is not None else "",
                        c.test,
                    ]
                    for c in report.comparisons
                ],
                numeric=(1, 2, 3),
            ),
        ]
    if report.training_curve:
        series = []
        for key, name in (("train_loss", "training loss"), ("valid_loss", "validation loss")):
            pts = [(float(p["step"]), float(p[key])) for p in report.training_curve if p.get(key) is not None]
            if pts:
                series.append((name, pts))
        parts += ["<h2>Training loss</h2>", svg.line_chart("Training loss by step", series)]
    confusions = [m for m in report.models if m.confusion]
    if confusions:
        parts += ["<h2>Confusion matrix</h2>", '<div class="grid">']
        for m in confusions:
            assert m.confusion is not None
            parts.append(
                f"<div><h3>{escape(m.model)} ({escape(m.role)})</h3>"
                + svg.heatmap(
                    f"Confusion matrix of {m.model}",
                    m.confusion["labels"],
                    m.confusion["columns"],
                    m.confusion["matrix"],
                )
                + "</div>"
            )
        parts.append("</div>")
        for m in confusions:
            parts.append(
                f"<h3>Per class: {escape(m.model)}</h3>"
                + _table(
                    ["label", "precision", "recall", "F1", "support"],
                    [
                        [label, f"{v['precision']:.3f}", f"{v['recall']:.3f}", f"{v['f1']:.3f}", str(int(v["support"]))]
                        for label, v in m.per_class.items()
                    ],
                    numeric=(1, 2, 3, 4),
                )
            )
    parts += [
        "<h2>Cost and latency</h2>",
        _table(
            ["model", "examples", "failed", "cached", "prompt tokens", "completion tokens", "cost", "p50", "p95"],
            [
                [
                    m.model,
                    str(m.examples),
                    str(m.failed),
                    str(m.cached),
                    str(m.prompt_tokens),
                    str(m.completion_tokens),
                    money(m.cost_usd),
                    seconds(m.latency_p50_s),
                    seconds(m.latency_p95_s),
                ]
                for m in report.models
            ],
            numeric=range(1, 9),
        ),
    ]
    for note in dict.fromkeys(m.cost_note for m in report.models if m.cost_note):
        parts.append(f'<p class="note">{escape(note)}</p>')
    if report.failures:
        parts += [
            f"<h2>Failed answers ({len(report.failures)}, each scored as wrong)</h2>",
            _table(
                ["#", "role", "model", "error"],
                [[str(f["index"] + 1), f["role"], f["model"], clip(str(f["error"]))] for f in report.failures],
                numeric=(0,),
            ),
        ]
    if report.deployments:
        dep_head, dep_rows = deployments_table(report)
        parts += ["<h2>Dedicated endpoints</h2>", _table(dep_head, dep_rows, numeric=(3, 4, 5))]
    if report.judge is not None:
        j = report.judge
        parts += [
            "<h2>LLM judge</h2>",
            f"<p>{escape(judge_sentence(j))}</p>",
            f"<details><summary>Judge prompt</summary><pre>{escape(j.prompt_template)}</pre></details>",
        ]
    if tuned and baseline and (report.fixed or report.broken or report.mcnemar):
        fixed_n = report.moved.get("better", len(report.fixed))
        broken_n = report.moved.get("worse", len(report.broken))
        words = ("fixed", "unchanged", "broken") if report.mcnemar else ("improved", "within 10 points", "worsened")
        same = max(0, report.examples - fixed_n - broken_n)
        parts += [
            "<h2>Fixed and broken examples</h2>" if report.mcnemar else "<h2>Examples that moved most</h2>",
            svg.split_bar(
                "Examples fixed, unchanged and broken by tuning",
                [
                    (words[0], fixed_n, svg.TUNED_COLOR),
                    (words[1], same, svg.BASE_COLOR),
                    (words[2], broken_n, "var(--bad, #c0392b)"),
                ],
            ),
        ]
        head = ["#", "prompt", "reference", f"baseline ({baseline.model})", f"tuned ({tuned.model})"]
        for title, items in zip(diff_titles(report), (report.fixed, report.broken), strict=True):
            parts.append(f"<h3>{title} ({len(items)})</h3>")
            parts += _diff_pages(head, items) if items else ['<p class="note">none</p>']
    if report.signature:
        parts += ["<h2>How the metrics were computed</h2><ul>"]
        parts += [f"<li>{escape(k)}: <code>{escape(v)}</code></li>" for k, v in report.signature.items()]
        parts.append("</ul>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _runs_html(report: EvaluationReport) -> list[str]:
    """The jobs compared, and a link to each job's own report (written beside it, in ``<job id>/``)."""
    head, rows = runs_table(report)
    parts = ["<h2>Jobs compared</h2>", _table(head, rows, numeric=range(5, len(head)))]
    links = [
        f'<li><a href="{escape(str(run["job_id"]))}/report.html">{escape(str(run["job_id"]))}</a>: '
        "per-example diffs and significance</li>"
        for run in report.runs
        if run.get("report")
    ]
    return parts + (["<p>Each job's own report:</p><ul>", *links, "</ul>"] if links else [])
