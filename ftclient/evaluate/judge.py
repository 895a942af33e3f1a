"""Optional pairwise LLM judge (``--judge MODEL``) for tasks where string matching undersells an answer.

For each example the judge sees the request, the reference and both answers labelled A and B, in an order
drawn at random per example (seeded) so that a judge's preference for the first answer cannot favour either
model. It must reply with one letter. The prompt template is recorded in the report, and unparseable
replies are counted, not guessed.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from ftclient.evaluate.compare import prompt_text
from ftclient.evaluate.runner import Call
from ftclient.evaluate.significance import DEFAULT_RESAMPLES, bootstrap_ci, mean_metric, observed
from ftclient.evaluate.types import Answer, Example, JudgeResult
from ftclient.providers.base import ChatRequest

JUDGE_PROMPT = """You compare two answers to the same request. A reference answer shows what a good answer \
contains. Judge which answer is better: more correct, more complete, closer to the reference in substance \
(wording may differ). Ignore which answer comes first and ignore length unless it hurts correctness.

Request:
{request}

Reference answer:
{reference}

Answer A:
{answer_a}

Answer B:
{answer_b}

Reply with exactly one character: A if answer A is better, B if answer B is better, T if they are equally good."""


def judge_calls(
    model: str, examples: Sequence[Example], baseline: Sequence[str], tuned: Sequence[str], *, seed: int
) -> tuple[list[Call], list[bool]]:
    """Judge requests and, per example, whether the tuned answer was shown as A."""
    rng = random.Random(seed)
    calls: list[Call] = []
    tuned_first: list[bool] = []
    for i, example in enumerate(examples):
        first = rng.random() < 0.5
        tuned_first.append(first)
        a, b = (tuned[i], baseline[i]) if first else (baseline[i], tuned[i])
        content = JUDGE_PROMPT.format(request=prompt_text(example), reference=example.reference, answer_a=a, answer_b=b)
        request = ChatRequest(
            model=model, messages=[{"role": "user", "content": content}], max_tokens=1, temperature=0.0, seed=seed
        )
        calls.append(Call(role="judge", index=example.index, request=request, estimate=len(content) // 2 + 1))
    return calls, tuned_first


def summarize_judgements(
    model: str, answers: Sequence[Answer | None], tuned_first: Sequence[bool], *, seed: int
) -> JudgeResult:
    """Wins, ties and a bootstrap CI of the tuned model's win rate (a tie counts half)."""
    scores: list[float] = []
    tuned_wins = baseline_wins = ties = invalid = 0
    for answer, first in zip(answers, tuned_first, strict=True):
        letter = answer.text.strip()[:1].upper() if answer is not None and answer.error is None else ""
        if letter == "T":
            ties += 1
            scores.append(0.5)
        elif letter in ("A", "B"):
            tuned_won = (letter == "A") == first
            tuned_wins += tuned_won
            baseline_wins += not tuned_won
            scores.append(1.0 if tuned_won else 0.0)
        else:
            invalid += 1
    win_rate = mean_metric([0.0] * len(scores), scores)
    low, high = bootstrap_ci(win_rate, resamples=DEFAULT_RESAMPLES, seed=seed)
    return JudgeResult(
        model=model,
        prompt_template=JUDGE_PROMPT,
        tuned_wins=tuned_wins,
        baseline_wins=baseline_wins,
        ties=ties,
        invalid=invalid,
        win_rate=observed(win_rate)[1],
        ci_low=low,
        ci_high=high,
    )
