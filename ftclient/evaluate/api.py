"""``ftclient.evaluate(job_or_model, ...)``: resolve, run, score, compare, report, record.

This module wires the pieces together; each concern lives in its own module (resolve, runner, batch,
metrics, compare, judge, costs, report). It returns a typed :class:`EvaluationReport` and never prints:
progress goes to the ``on_progress`` callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ftclient.errors import EvaluationError, FtclientError, Interrupted, RemoteNotFoundError
from ftclient.evaluate import compare as cmp
from ftclient.evaluate import metrics
from ftclient.evaluate.costs import Pricer, usage_summary
from ftclient.evaluate.ratelimit import RateLimiter
from ftclient.evaluate.report import claim_report_folder, write_reports
from ftclient.evaluate.resolve import Request, Target, resolve, training_curve
from ftclient.evaluate.runner import Call, Progress, Runner, RunnerConfig
from ftclient.evaluate.types import Answer, EvaluationReport, Example, ModelResult
from ftclient.providers.base import BatchInfo, ChatRequest, Provider


def count_tokens(text_or_messages: str | Sequence[Mapping[str, Any]], model: str) -> int:
    """Exact tokens for OpenAI models, an estimate for others (a rate-limit estimate needs no more)."""
    from ftclient import tokens

    try:
        if isinstance(text_or_messages, str):
            return tokens.count_text(text_or_messages, model)
        return tokens.count_chat(text_or_messages, model)
    except FtclientError:
        if isinstance(text_or_messages, str):
            return tokens.estimate_text(text_or_messages)
        return 3 + sum(4 + tokens.estimate_text(str(m.get("content", ""))) for m in text_or_messages)


def max_tokens_for(task: str, examples: Sequence[Example], model: str) -> int:
    """Answer length cap from the references: room for the longest one, bounded, same for every example."""
    longest = max((count_tokens(e.reference, model) for e in examples), default=16)
    if task == "classify":
        return longest + 8
    return min(4096, int(longest * 1.5) + 32)


def build_calls(role: str, model: str, examples: Sequence[Example], max_tokens: int, seed: int) -> list[Call]:
    calls = []
    for e in examples:
        request = ChatRequest(model=model, messages=e.messages, max_tokens=max_tokens, temperature=0.0, seed=seed)
        calls.append(
            Call(role=role, index=e.index, request=request, estimate=count_tokens(e.messages, model) + max_tokens)
        )
    return calls


async def run_online(runner: Runner, calls: Sequence[Call], *, handle_signals: bool = True) -> dict:
    """Run with SIGINT/SIGTERM mapped to a graceful stop (first signal) and a hard cancel (second)."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    installed: list[signal.Signals] = []
    signals_seen = 0

    def on_signal() -> None:
        nonlocal signals_seen
        signals_seen += 1
        runner.stop()
        if signals_seen > 1 and task is not None:
            task.cancel()

    if handle_signals and threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, on_signal)
                installed.append(sig)
    try:
        return await runner.run(calls)
    except asyncio.CancelledError:
        raise Interrupted(
            "evaluation stopped", hint="answers received so far are cached; run the same command again to resume"
        ) from None
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        # The provider's async HTTP client belongs to this event loop: close it before the loop ends.
        aclose = getattr(runner.provider, "aclose", None)
        if aclose is not None:
            await aclose()


def _eval_id(target: Target, models: Sequence[str], created: datetime) -> str:
    digest = hashlib.sha256("|".join([str(target.test_path), *models, created.isoformat()]).encode()).hexdigest()
    return f"eval-{created.strftime('%Y%m%d-%H%M%S')}-{digest[:6]}"


def _answers_for(role: str, examples: Sequence[Example], answers: Mapping[tuple[str, int], Answer]) -> list[Answer]:
    return [answers.get((role, e.index)) or Answer(index=e.index, text="", error="not answered") for e in examples]


def _model_result(
    model: str, role: str, *, scores: metrics.TaskScores, answers: Sequence[Answer], pricer: Pricer, batch: bool
) -> ModelResult:
    usage = usage_summary(model, answers, pricer)
    return ModelResult(
        model=model,
        role=role,
        metrics=dict(scores.corpus),
        per_class=scores.per_class,
        confusion=scores.confusion,
        examples=len(answers),
        failed=usage.failed,
        cached=usage.cached,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        cost_usd=usage.cost_usd,
        cost_note=usage.cost_note,
        latency_p50_s=None if batch else usage.latency_p50_s,
        latency_p95_s=None if batch else usage.latency_p95_s,
    )


def evaluate(
    job_or_model: str | None = None,
    *,
    model: str | None = None,
    baseline: str | None = None,
    no_baseline: bool = False,
    test: str | Path | None = None,
    task: str | None = None,
    checkpoint: int | None = None,
    concurrency: int = 32,
    use_cache: bool = True,
    batch: bool = False,
    judge: str | None = None,
    out: str | Path | None = None,
    limit: int | None = None,
    provider: str | None = None,
    wait: bool = False,
    rpm: float | None = None,
    tpm: float | None = None,
    settings: Any = None,
    registry: Any = None,
    provider_client: Provider | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    on_batch_status: Callable[[str, BatchInfo], None] | None = None,
    handle_signals: bool = True,
    resamples: int = 2000,
    runner_config: RunnerConfig | None = None,
) -> EvaluationReport:
    """Evaluate a tuned model (by job id or model name) against its base model on the held-out test split.

    Returns the typed report and writes report.json/.md/.html into ``out`` (default
    ``<reports_dir>/<eval id>``). Answers are cached in the registry: an interrupted or repeated evaluation
    asks the provider only for what it has not answered yet (``use_cache=False`` asks again).
    ``rpm``/``tpm`` set the rate limits up front (otherwise they are read from the first response's
    headers); ``runner_config`` tunes retries and backoff.
    """
    from ftclient.config import resolve as resolve_settings
    from ftclient.providers import get_provider
    from ftclient.registry import Registry

    settings = settings or resolve_settings({"provider": provider} if provider else {})
    provider_name = provider or settings.provider
    own_registry = registry is None
    registry = registry or Registry(settings.registry_path)
    client: Provider | None = None
    if out is not None:
        claim_report_folder(Path(out))  # before anything is paid for
    try:
        client = provider_client or get_provider(provider_name, settings)
        target, info = resolve(
            Request(
                job_or_model=job_or_model,
                model=model,
                baseline=baseline,
                no_baseline=no_baseline,
                test=Path(test) if test is not None else None,
                task=task,
                checkpoint=checkpoint,
                provider=provider_name,
                wait=wait,
            ),
            registry=registry,
            provider=client,
            sleep=time.sleep,
            poll_s=settings.poll_interval_s,
        )
        examples = target.examples[:limit] if limit else target.examples
        roles = [("tuned" if target.baseline else "model", target.model)]
        if target.baseline:
            roles.append(("baseline", target.baseline))
        max_tokens = max_tokens_for(target.task, examples, target.model)
        calls = [c for role, name in roles for c in build_calls(role, name, examples, max_tokens, settings.seed)]
        pricer = Pricer(provider_name, discount=0.5 if batch else 1.0)
        try:
            answers = _answer_all(
                client,
                provider_name,
                calls,
                registry=registry,
                settings=settings,
                batch=batch,
                use_cache=use_cache,
                concurrency=concurrency,
                rpm=rpm,
                tpm=tpm,
                runner_config=runner_config,
                pricer=pricer,
                on_progress=on_progress,
                on_batch_status=on_batch_status,
                handle_signals=handle_signals,
            )
        except RemoteNotFoundError as exc:
            from ftclient.migration.retirement import retired_or_none

            raise (retired_or_none(target.model, provider_name, settings.home) or exc) from None
        if batch:
            from ftclient.migration.retirement import raise_if_all_retired

            tuned_role = roles[0][0]
            mine = [a for (role, _), a in answers.items() if role == tuned_role]
            raise_if_all_retired(mine, target.model, provider_name, settings.home)
        report = build_report(
            target,
            examples,
            roles,
            answers=answers,
            pricer=pricer,
            provider_name=provider_name,
            batch=batch,
            resamples=resamples,
            seed=settings.seed,
        )
        report.request_settings = {
            "temperature": 0.0,
            "seed": settings.seed,
            "max_tokens": max_tokens,
            "system_prompt": "from the dataset" if target.system_prompt else "as in test file",
        }
        if judge and target.baseline:
            report.judge = _run_judge(
                judge,
                client,
                provider_name,
                registry=registry,
                examples=examples,
                answers=answers,
                seed=settings.seed,
                use_cache=use_cache,
                concurrency=concurrency,
            )
        if target.job_id and info is not None:
            report.training_curve = training_curve(client, target.job_id, info)
        out_dir = Path(out) if out is not None else settings.reports_dir / report.eval_id
        write_reports(report, out_dir)
        registry.record_evaluation(
            report.eval_id,
            report.job_id,
            report.dataset_sha256,
            [m.model for m in report.models],
            report.report_paths["json"],
            summary_of(report),
        )
        return report
    finally:
        if client is not None and provider_client is None:
            client.close()  # the adapter's synchronous HTTP client (jobs, files, events)
        if own_registry:
            registry.close()


def _answer_all(
    client: Provider,
    provider_name: str,
    calls: Sequence[Call],
    *,
    registry: Any,
    settings: Any,
    batch: bool,
    use_cache: bool,
    concurrency: int,
    rpm: float | None,
    tpm: float | None,
    runner_config: RunnerConfig | None,
    pricer: Pricer,
    on_progress: Callable[[Progress], None] | None,
    on_batch_status: Callable[[str, BatchInfo], None] | None,
    handle_signals: bool,
) -> dict[tuple[str, int], Answer]:
    """Every call's answer, through the Batch API or ordinary requests, cached either way."""
    if batch:
        from ftclient.evaluate.batch import BatchRunner

        answers = BatchRunner(
            client,
            provider_name,
            cache=registry,
            use_cache=use_cache,
            poll_s=settings.poll_interval_s,
            on_status=on_batch_status,
        ).run(calls)
    else:
        runner = Runner(
            client,
            provider_name,
            cache=registry,
            limiter=RateLimiter(rpm, tpm),
            config=replace(
                runner_config or RunnerConfig(max_attempts=max(settings.max_retries + 1, 8)),
                concurrency=concurrency,
                use_cache=use_cache,
            ),
            on_progress=on_progress,
            cost=pricer,
            seed=settings.seed,
        )
        answers = asyncio.run(run_online(runner, calls, handle_signals=handle_signals))
        if runner.stopped:
            raise Interrupted(
                f"evaluation stopped after {len(answers)} of {len(calls)} answers",
                hint="the answers are cached; run the same command again to resume without paying twice",
            )
    return answers


def _run_judge(
    judge: str,
    client: Provider,
    provider_name: str,
    *,
    registry: Any,
    examples: Sequence[Example],
    answers: Mapping[tuple[str, int], Answer],
    seed: int,
    use_cache: bool,
    concurrency: int,
) -> Any:
    from ftclient.evaluate.judge import judge_calls, summarize_judgements

    base = [a.text for a in _answers_for("baseline", examples, answers)]
    tuned = [a.text for a in _answers_for("tuned", examples, answers)]
    calls, tuned_first = judge_calls(judge, examples, base, tuned, seed=seed)
    runner = Runner(
        client,
        provider_name,
        cache=registry,
        config=RunnerConfig(concurrency=concurrency, use_cache=use_cache),
        seed=seed,
    )
    verdicts = asyncio.run(run_online(runner, calls))
    return summarize_judgements(judge, [verdicts.get(("judge", e.index)) for e in examples], tuned_first, seed=seed)


def build_report(
    target: Target,
    examples: Sequence[Example],
    roles: Sequence[tuple[str, str]],
    *,
    answers: Mapping[tuple[str, int], Answer],
    pricer: Pricer,
    provider_name: str,
    batch: bool = False,
    resamples: int = 2000,
    seed: int = 12345,
) -> EvaluationReport:
    """Score every model, compare tuned with baseline, and assemble the report (nothing written)."""
    created = datetime.now(UTC).replace(microsecond=0)
    refs = [e.reference for e in examples]
    texts: dict[str, list[str]] = {}
    scores: dict[str, metrics.TaskScores] = {}
    results: list[ModelResult] = []
    for role, name in roles:
        model_answers = _answers_for(role, examples, answers)
        texts[role] = [a.text for a in model_answers]
        scores[role] = metrics.score(
            target.task, refs, texts[role], labels=target.labels or None, target_language=target.target_language
        )
        results.append(
            _model_result(name, role, scores=scores[role], answers=model_answers, pricer=pricer, batch=batch)
        )
    report = EvaluationReport(
        eval_id=_eval_id(target, [n for _, n in roles], created),
        created_at=created.isoformat(),
        task=target.task,
        provider=provider_name,
        test_file=str(target.test_path),
        examples=len(examples),
        models=results,
        primary_metric=metrics.PRIMARY_METRIC[target.task],
        job_id=target.job_id,
        dataset_sha256=target.dataset_sha256,
        labels=list(target.labels) or (sorted(set(refs)) if target.task == "classify" else []),
        target_language=target.target_language,
        signature=dict(next(iter(scores.values())).signature),
        batch=batch,
    )
    report.references = refs
    report.answers = {role: texts[role] for role, _ in roles}
    if target.task_inferred:
        report.signature["task"] = f"inferred from the references as {target.task!r} (use --task to choose)"
    served = {a.model for a in answers.values() if a.model}
    if any("emulator" in s for s in served):
        report.source_note = (
            "These answers came from the ftclient emulator (a local stand-in provider), not from a hosted model."
        )
    if "tuned" in scores and "baseline" in scores:
        paired = cmp.Paired(
            target.task,
            examples,
            texts["baseline"],
            texts["tuned"],
            scores["baseline"],
            scores["tuned"],
            report.labels,
            target.target_language,
        )
        report.comparisons, report.mcnemar = cmp.compare(paired, resamples=resamples, seed=seed)
        fixed, broken = cmp.diffs(paired, limit=None)
        report.moved = {"better": len(fixed), "worse": len(broken)}
        report.fixed, report.broken = fixed, broken  # every one: report.json is complete; pages show them
        report.verdict = cmp.overall_verdict(report.comparisons, roles[0][1], roles[1][1])
    _record_failures(report, roles, examples, answers)
    return report


def _record_failures(
    report: EvaluationReport,
    roles: Sequence[tuple[str, str]],
    examples: Sequence[Example],
    answers: Mapping[tuple[str, int], Answer],
) -> None:
    """Every failed answer goes into the report and the verdict says how many; a model none of whose
    requests succeeded is an evaluation error, since its scores would be nothing but failures."""
    for role, name in roles:
        failed = [a for a in _answers_for(role, examples, answers) if a.error]
        report.failures.extend({"role": role, "model": name, "index": a.index, "error": a.error} for a in failed)
        if examples and len(failed) == len(examples):
            raise EvaluationError(
                f"every request to {name} failed ({len(failed)} of {len(examples)}); nothing could be scored. "
                f"The first error: {failed[0].error}",
                hint=(
                    "pick another baseline with --baseline MODEL, or --no-baseline; the tuned model's answers "
                    "are cached"
                    if role == "baseline"
                    else "check the model name and the provider's status, then run the same command again "
                    "(answers that did succeed are cached)"
                ),
            )
    if report.failures:
        total = len(examples) * len(roles)
        note = f"{len(report.failures)} of {total} answers failed and were scored as wrong"
        report.verdict = f"{report.verdict} ({note})" if report.verdict else note[0].upper() + note[1:]


def summary_of(report: EvaluationReport) -> dict[str, Any]:
    """What ``ftclient runs`` shows for an evaluation."""
    return {
        "task": report.task,
        "examples": report.examples,
        "verdict": report.verdict,
        "primary_metric": report.primary_metric,
        "metrics": {
            m.model: {
                "role": m.role,
                report.primary_metric: m.metrics.get(report.primary_metric),
                "cost_usd": m.cost_usd,
                "failed": m.failed,
            }
            for m in report.models
        },
        "difference": report.comparisons[0].difference if report.comparisons else None,
        "ci": [report.comparisons[0].ci_low, report.comparisons[0].ci_high] if report.comparisons else None,
        "batch": report.batch,
    }
