"""Reports keep every changed example (the HTML pages through them) and sweep comparisons say what was
swept, when the best is a tie, and where each job's own report is."""

from __future__ import annotations

import json
from pathlib import Path

from ftclient.evaluate.api import build_report
from ftclient.evaluate.costs import Pricer
from ftclient.evaluate.jobs import best_sentence
from ftclient.evaluate.report import render_markdown, runs_table, write_reports
from ftclient.evaluate.report_html import render_html
from ftclient.evaluate.resolve import Target
from ftclient.evaluate.types import Answer, EvaluationReport, Example


def _report(tmp_path: Path, fixed: int) -> EvaluationReport:
    refs = ["billing", "bug"] * 40
    base = ["other"] * fixed + list(refs[fixed:])  # the tuning fixes the first `fixed` examples
    examples = [Example(i, [{"role": "user", "content": f"ticket {i}"}], r) for i, r in enumerate(refs)]
    answers = {("tuned", i): Answer(i, r, 20, 1, 0.2) for i, r in enumerate(refs)}
    answers.update({("baseline", i): Answer(i, b, 20, 1, 0.1) for i, b in enumerate(base)})
    target = Target(
        provider="openai",
        model="ft:gpt-4.1-mini-2025-04-14:org:x:abc",
        baseline="gpt-4.1-mini-2025-04-14",
        test_path=tmp_path / "test.jsonl",
        task="classify",
        examples=examples,
        job_id="ftjob-1",
        labels=["billing", "bug", "other"],
    )
    return build_report(
        target,
        examples,
        [("tuned", target.model), ("baseline", target.baseline or "")],
        answers=answers,
        pricer=Pricer("openai"),
        provider_name="openai",
        resamples=100,
    )


def test_every_fixed_example_is_in_report_json_and_the_html_pages_through_them(tmp_path: Path) -> None:
    report = _report(tmp_path, fixed=45)
    assert len(report.fixed) == 45 and report.moved["better"] == 45
    write_reports(report, tmp_path / "out")
    data = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert sorted(d["index"] for d in data["fixed"]) == list(range(45))
    html = render_html(report)
    assert "<details><summary>examples 21-40 of 45</summary>" in html
    assert "<details><summary>examples 41-45 of 45</summary>" in html
    assert all(f"ticket {i}" in html for i in range(45))
    markdown = render_markdown(report)
    assert "… and 25 more: all 45 in report.json and report.html" in markdown


def _comparison(metrics: list[float], hyper: list[dict[str, object]]) -> EvaluationReport:
    runs = [
        {
            "job_id": f"ftjob-{n}",
            "provider": "openai",
            "tuned_model": f"ft:m:org::{n}",
            "base_model": "m",
            "hyperparameters": h,
            "tuned_metric": value,
            "base_metric": 0.5,
            "difference": value * 100 - 50,
            "report": f"out/ftjob-{n}/report.md",
        }
        for n, (value, h) in enumerate(zip(metrics, hyper, strict=True))
    ]
    return EvaluationReport(
        eval_id="cmp-1",
        created_at="2026-12-03T00:00:00+00:00",
        task="classify",
        provider="openai",
        test_file="test.jsonl",
        examples=10,
        models=[],
        verdict=best_sentence(runs, "accuracy"),
        primary_metric="accuracy",
        runs=runs,
    )


def test_a_sweep_table_shows_the_swept_setting_and_links_each_report() -> None:
    report = _comparison([0.8, 0.9], [{"n_epochs": 2, "batch_size": 8}, {"n_epochs": 3, "batch_size": 8}])
    head, rows = runs_table(report)
    column = head.index("settings")
    assert [row[column] for row in rows] == ["n_epochs=2", "n_epochs=3"]  # batch_size was not swept
    assert report.verdict == "Best tuned model on accuracy: ft:m:org::1 (openai, job ftjob-1)"
    html = render_html(report)
    assert '<a href="ftjob-0/report.html">' in html and '<a href="ftjob-1/report.html">' in html


def test_a_tie_for_the_best_is_called_a_tie() -> None:
    report = _comparison([0.9, 0.9, 0.7], [{"n_epochs": 2}, {"n_epochs": 3}, {"n_epochs": 4}])
    assert report.verdict.startswith("Tie for the best tuned model on accuracy, 2 jobs with the same score:")
    assert "ftjob-0" in report.verdict and "ftjob-1" in report.verdict and "ftjob-2" not in report.verdict
