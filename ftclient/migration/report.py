"""The migration report: which replacement to switch to and why, with the numbers behind it.

The recommendation is the cheapest candidate (per 1,000 requests at the target's prices) among those the
non-inferiority test finds at least as good as the old model; ties go to the higher quality. When no
candidate is shown non-inferior, nothing is recommended and the report says which came closest.
Written as ``report.json``, ``report.md`` and a self-contained ``report.html`` (no external resources).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftclient.migration.noninferiority import METRIC, default_margin

if TYPE_CHECKING:
    from ftclient.evaluate.types import Example
    from ftclient.migration.candidates import Launched
    from ftclient.migration.migrate import MigrationReport, TrainingData
    from ftclient.providers.base import Provider
    from ftclient.registry import Registry


def recommend(candidates: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The cheapest non-inferior candidate whose own base has no announced shutdown (a replacement that is
    itself being retired only moves the problem)."""
    non_inferior = [c for c in candidates if c.get("verdict") == "non-inferior"]
    good = [c for c in non_inferior if not c.get("target_shutdown_date")]
    if non_inferior and not good:
        dates = ", ".join(f"{c['fine_tuned_model']} ({c['target_shutdown_date']})" for c in non_inferior)
        return {
            "provider": None,
            "model": None,
            "job_id": None,
            "why": f"every non-inferior candidate is itself due to shut down: {dates}",
        }

    def cost(c: dict[str, Any]) -> float:
        value = c.get("cost_per_1k_requests_usd")
        return math.inf if value is None else float(value)

    def evidence(c: dict[str, Any]) -> str:
        return str(c["noninferiority"]["sentence"]).split(": ", 1)[-1]

    if good:
        best = min(good, key=lambda c: (cost(c), -float(c.get("quality") or 0.0)))
        others = len(good) - 1
        price = "unknown cost" if cost(best) == math.inf else f"${cost(best):,.4f} per 1,000 requests"
        why = (
            f"non-inferior to the old model ({evidence(best)}) and the cheapest of the {others + 1} that are ({price})"
            if others
            else f"the only candidate shown non-inferior ({evidence(best)}; {price})"
        )
        return {"provider": best["provider"], "model": best["fine_tuned_model"], "job_id": best["job_id"], "why": why}
    judged = [c for c in candidates if c.get("noninferiority")]
    if not judged:
        return {"provider": None, "model": None, "job_id": None, "why": "no candidate finished training"}
    closest = max(judged, key=lambda c: c["noninferiority"]["ci_low"])
    return {
        "provider": None,
        "model": None,
        "job_id": None,
        "why": f"no candidate is shown non-inferior; closest: {closest['fine_tuned_model']} "
        f"({closest['noninferiority']['sentence']})",
    }


def build_report(
    model: str,
    *,
    out_dir: Path,
    train: TrainingData,
    examples: Sequence[Example],
    olds: Sequence[str | None],
    old_source: str,
    candidates: list[dict[str, Any]],
    margin: float | None,
    budget: float | None,
    launched: Launched,
    registry: Registry,
    clients: dict[str, Provider],
) -> MigrationReport:
    from ftclient.deploy import running_endpoints
    from ftclient.migration.migrate import MigrationReport
    from ftclient.providers.base import DeployingProvider

    left: list[str] = []
    job_ids = {c["job_id"] for c in candidates}
    for client in clients.values():
        if client.capabilities.needs_deployment and isinstance(client, DeployingProvider):
            for record in running_endpoints(registry, provider=client):
                if record.job_id in job_ids and not record.keep:
                    left.append(record.endpoint_id)
    judged = next((c["noninferiority"] for c in candidates if c.get("noninferiority")), None)
    reference = judged["reference"] if judged else "ground truth"
    notes = []
    if train.distilled:
        notes.append(
            "The replacements were trained on the old model's answers (distillation), not on the original data."
        )
    if reference != "ground truth":
        notes.append(
            "No ground truth for the held-out inputs: the old model's answers are the reference, so the old model "
            "scores 100 and non-inferiority means agreeing with it to within the margin."
        )
    served = " ".join(str(c.get("served_as") or "") for c in candidates)
    return MigrationReport(
        model=model,
        created_at=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        out_dir=str(out_dir),
        training_data={
            "source": train.source,
            "distilled": train.distilled,
            "folder": str(train.folder),
            "task": train.task,
        },
        held_out=sum(1 for o in olds if o is not None),
        reference=reference,
        margin=judged["margin"] if judged else (margin if margin is not None else default_margin(train.task)),
        metric=METRIC[train.task],
        old_model={"model": model, "answers_from": old_source, "quality": judged["old"] if judged else None},
        candidates=candidates,
        recommendation=recommend(candidates),
        budget={"limit_usd": budget, "estimated_training_usd": launched.estimate_usd, "estimates": launched.estimates},
        endpoints_left_running=left,
        sweep_id=launched.sweep_id,
        notes=notes,
        source_note="Answers came from the ftclient emulator (a local stand-in provider), not from hosted models."
        if "emulator" in served or any("127.0.0.1" in str(getattr(c, "endpoint", "")) for c in clients.values())
        else "",
    )


def _money(value: Any) -> str:
    return "-" if value is None else f"${float(value):,.4f}"


def _num(value: Any, digits: int = 1) -> str:
    return "-" if value is None else f"{float(value):.{digits}f}"


def _rows(report: MigrationReport) -> list[list[str]]:
    rows = []
    for c in report.candidates:
        ni = c.get("noninferiority") or {}
        rows.append(
            [
                f"{c['provider']}:{c['base_model']}",
                str(c.get("fine_tuned_model") or "-"),
                str(c.get("verdict") or "-"),
                _num(c.get("quality")),
                _num(c.get("agreement")),
                f"{_num(ni.get('difference'))} [{_num(ni.get('ci_low'))}, {_num(ni.get('ci_high'))}]" if ni else "-",
                _money(c.get("training_cost_usd")),
                _money(c.get("cost_per_1k_requests_usd")),
                f"{_num(c.get('latency_p50_s'), 3)} / {_num(c.get('latency_p95_s'), 3)}",
                _money(c.get("endpoint_cost_usd")),
            ]
        )
    return rows


HEADERS = [
    "target",
    "tuned model",
    "verdict",
    "quality",
    "agreement",
    "difference [90% CI]",
    "training",
    "per 1k requests",
    "latency p50/p95 s",
    "endpoint",
]


def render_markdown(report: MigrationReport) -> str:
    rec = report.recommendation
    lines = [f"# Migration of {report.model}", ""]
    if report.source_note:
        lines += [f"> {report.source_note}", ""]
    lines += [
        f"**Recommendation:** {rec['model'] or 'none'}" + (f" on {rec['provider']}" if rec.get("provider") else ""),
        "",
        f"Why: {rec['why']}.",
        "",
        f"- Training data: {report.training_data['source']}",
        f"- Held-out inputs: {report.held_out} (never trained on); reference: {report.reference}",
        f"- Old model's answers: {report.old_model['answers_from']}",
        f"- Test: non-inferiority on {report.metric}, margin {report.margin:g} points "
        "(paired bootstrap, 90% two-sided CI = one-sided 95%)",
        f"- Estimated training cost: {_money(report.budget.get('estimated_training_usd'))}"
        + (f" (budget {_money(report.budget['limit_usd'])})" if report.budget.get("limit_usd") is not None else ""),
        f"- Endpoints left running: {', '.join(report.endpoints_left_running) or 'none'}",
        "",
        "## Candidates",
        "",
        "| " + " | ".join(HEADERS) + " |",
        "|" + "---|" * len(HEADERS),
    ]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in _rows(report)]
    lines += ["", "## Verdicts", ""]
    for c in report.candidates:
        ni = c.get("noninferiority")
        lines.append(f"- {c.get('fine_tuned_model') or c['job_id']}: {ni['sentence'] if ni else c.get('verdict')}")
        for key in ("training_cost_note", "cost_per_1k_note"):
            if c.get(key):
                lines.append(f"  - {c[key]}")
    for c in report.candidates:
        if c.get("disagreements"):
            lines += ["", f"## Where {c['fine_tuned_model']} answers differently", ""]
            lines += ["| input | reference | old model | replacement |", "|---|---|---|---|"]
            lines += [
                "| " + " | ".join(_cell(d[k]) for k in ("input", "reference", "old_answer", "new_answer")) + " |"
                for d in c["disagreements"]
            ]
    if report.notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in report.notes]
    return "\n".join(lines) + "\n"


def _cell(text: Any, limit: int = 120, *, markdown: bool = True) -> str:
    flat = " ".join(str(text).split())
    short = flat[: limit - 1] + "…" if len(flat) > limit else flat
    return short.replace("|", "\\|") if markdown else short


def render_html(report: MigrationReport) -> str:
    esc = html.escape
    rec = report.recommendation
    head = "".join(f"<th>{esc(h)}</th>" for h in HEADERS)
    body = "".join("<tr>" + "".join(f"<td>{esc(cell)}</td>" for cell in row) + "</tr>" for row in _rows(report))
    verdicts = "".join(
        f"<li><b>{esc(str(c.get('fine_tuned_model') or c['job_id']))}</b>: "
        f"{esc((c.get('noninferiority') or {}).get('sentence') or str(c.get('verdict')))}</li>"
        for c in report.candidates
    )
    notes = "".join(f"<li>{esc(n)}</li>" for n in report.notes)
    diffs = "".join(
        f"<h2>Where {esc(str(c['fine_tuned_model']))} answers differently</h2><table><tr><th>input</th>"
        "<th>reference</th><th>old model</th><th>replacement</th></tr>"
        + "".join(
            "<tr>"
            + "".join(
                f"<td>{esc(_cell(d[k], 300, markdown=False))}</td>"
                for k in ("input", "reference", "old_answer", "new_answer")
            )
            + "</tr>"
            for d in c["disagreements"]
        )
        + "</table>"
        for c in report.candidates
        if c.get("disagreements")
    )
    facts = [
        f"Training data: {report.training_data['source']}",
        f"Held-out inputs: {report.held_out} (never trained on); reference: {report.reference}",
        f"Old model's answers: {report.old_model['answers_from']}",
        f"Non-inferiority on {report.metric}, margin {report.margin:g} points (paired bootstrap, 90% CI)",
        f"Endpoints left running: {', '.join(report.endpoints_left_running) or 'none'}",
    ]
    style = (
        "body{font:15px/1.5 system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#222}"
        "table{border-collapse:collapse;width:100%}th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left}"
        "th{background:#f3f3f3}.rec{background:#eef7ee;border:1px solid #9c9;padding:.8rem;border-radius:6px}"
        ".note{color:#555;font-style:italic}"
    )
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Migration of {esc(report.model)}</title>"
        f"<style>{style}</style></head><body><h1>Migration of {esc(report.model)}</h1>"
        + (f"<p class='note'>{esc(report.source_note)}</p>" if report.source_note else "")
        + f"<div class='rec'><b>Recommendation:</b> {esc(str(rec['model'] or 'none'))}"
        + (f" on {esc(str(rec['provider']))}" if rec.get("provider") else "")
        + f"<br>Why: {esc(rec['why'])}.</div><ul>"
        + "".join(f"<li>{esc(f)}</li>" for f in facts)
        + f"</ul><h2>Candidates</h2><table><tr>{head}</tr>{body}</table><h2>Verdicts</h2><ul>{verdicts}</ul>"
        + diffs
        + (f"<h2>Notes</h2><ul>{notes}</ul>" if notes else "")
        + "</body></html>\n"
    )


def write_report(report: MigrationReport, out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "report.json", "md": out_dir / "report.md", "html": out_dir / "report.html"}
    paths["json"].write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    paths["md"].write_text(render_markdown(report), encoding="utf-8")
    paths["html"].write_text(render_html(report), encoding="utf-8")
    return paths
