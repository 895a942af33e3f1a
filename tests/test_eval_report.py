"""Report files: JSON round trip, Markdown content, and a self-contained, well-formed HTML file."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from ftclient.evaluate.api import build_report
from ftclient.evaluate.costs import Pricer
from ftclient.evaluate.report import write_reports
from ftclient.evaluate.resolve import Target
from ftclient.evaluate.types import Answer, EvaluationReport, Example

VOID = {
    "meta",
    "br",
    "hr",
    "img",
    "input",
    "link",
    "col",
    "area",
    "base",
    "source",
    "wbr",
    "path",
    "rect",
    "line",
    "circle",
}


class _Checker(HTMLParser):
    """Checks that every element is closed in order and records anything that would fetch a resource."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.external: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in {"src", "href", "xlink:href", "srcset", "data"} and value:
                self.external.append(f"{tag} {name}={value}")
        if tag in {"script", "link", "iframe", "img", "object", "embed"}:
            self.external.append(tag)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with open {self.stack[-3:]}")
            return
        self.stack.pop()


def _report(tmp_path: Path, task: str = "classify") -> EvaluationReport:
    refs = ["billing", "bug", "billing", "other", "bug", "other"] * 5
    tuned = list(refs)
    tuned[3] = "bug"
    base = ["billing"] * len(refs)
    base[3] = "other"  # the one example the tuning broke
    examples = [
        Example(
            i,
            [
                {"role": "system", "content": "Classify <ticket> & answer"},
                {"role": "user", "content": f'ticket {i} <b>"quoted"</b>'},
            ],
            r,
        )
        for i, r in enumerate(refs)
    ]
    answers = {("tuned", i): Answer(i, t, 20, 1, 0.2 + i / 100) for i, t in enumerate(tuned)}
    answers.update({("baseline", i): Answer(i, b, 20, 1, 0.1) for i, b in enumerate(base)})
    target = Target(
        provider="openai",
        model="ft:gpt-4.1-mini-2025-04-14:org:x:abc",
        baseline="gpt-4.1-mini-2025-04-14",
        test_path=tmp_path / "test.jsonl",
        task=task,
        examples=examples,
        job_id="ftjob-1",
        labels=["billing", "bug", "other"],
    )
    report = build_report(
        target,
        examples,
        [("tuned", target.model), ("baseline", target.baseline or "")],
        answers=answers,
        pricer=Pricer("openai"),
        provider_name="openai",
        resamples=200,
    )
    report.training_curve = [{"step": float(s), "train_loss": 2.0 / s, "valid_loss": 2.2 / s} for s in range(1, 30)]
    return report


def test_html_is_self_contained_and_well_formed(tmp_path: Path) -> None:
    report = _report(tmp_path)
    paths = write_reports(report, tmp_path / "out")
    html = paths["html"].read_text(encoding="utf-8")
    checker = _Checker()
    checker.feed(html)
    checker.close()
    assert checker.errors == [] and checker.stack == []
    assert checker.external == []
    assert "url(" not in html and "@import" not in html
    assert html.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in html
    svgs = re.findall(r"<svg\b.*?</svg>", html, flags=re.DOTALL)
    # comparison, training loss, two confusion matrices, fixed/broken bar
    assert len(svgs) == 5
    for svg in svgs:
        root = ET.fromstring(svg)  # each chart is well-formed XML
        assert root.find("{http://www.w3.org/2000/svg}title") is not None
        assert len(list(root.iter())) > 5
    # user text is escaped, never interpreted
    assert "<b>&quot;quoted&quot;</b>" not in html and "&lt;b&gt;&quot;quoted&quot;&lt;/b&gt;" in html
    assert report.verdict and report.verdict.split(".")[0] in html


def test_json_round_trips_and_markdown_tells_the_story(tmp_path: Path) -> None:
    report = _report(tmp_path)
    paths = write_reports(report, tmp_path / "out")
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    again = EvaluationReport.from_dict(data)
    assert again == report
    md = paths["md"].read_text(encoding="utf-8")
    assert report.verdict in md
    assert "| Accuracy |" in md and "## Fixed by tuning" in md and "## Broken by tuning" in md
    assert "| billing | " in md  # per-class table
    assert report.mcnemar is not None and report.mcnemar["broken"] == 1


@pytest.mark.parametrize("task", ["summarize", "translate", "chat", "extract"])
def test_every_task_renders(tmp_path: Path, task: str) -> None:
    refs = ["今天天气很好", "the cat sat on the mat", '{"a": 1}'] * 4
    examples = [Example(i, [{"role": "user", "content": "q"}], r) for i, r in enumerate(refs)]
    answers = {("tuned", i): Answer(i, r, 5, 5, 0.1) for i, r in enumerate(refs)}
    answers.update({("baseline", i): Answer(i, "something else", 5, 5, 0.1) for i in range(len(refs))})
    target = Target(
        provider="openai",
        model="m-tuned",
        baseline="m-base",
        test_path=tmp_path / "t.jsonl",
        task=task,
        examples=examples,
    )
    report = build_report(
        target,
        examples,
        [("tuned", "m-tuned"), ("baseline", "m-base")],
        answers=answers,
        pricer=Pricer("openai"),
        provider_name="openai",
        resamples=100,
    )
    paths = write_reports(report, tmp_path / task)
    checker = _Checker()
    checker.feed(paths["html"].read_text(encoding="utf-8"))
    assert checker.errors == [] and checker.external == []
    assert report.comparisons and report.comparisons[0].tuned > report.comparisons[0].baseline
    assert all(m.cost_usd is None and "no price known" in m.cost_note for m in report.models)
    assert report.mcnemar or report.moved["better"] > 0
    md = paths["md"].read_text(encoding="utf-8")
    assert ("Fixed by tuning" in md) if report.mcnemar else ("rose by 10 points or more" in md)
