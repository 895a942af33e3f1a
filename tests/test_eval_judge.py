"""The pairwise judge: random order per example, letters mapped back to models, invalid replies counted."""

from __future__ import annotations

from ftclient.evaluate.judge import JUDGE_PROMPT, judge_calls, summarize_judgements
from ftclient.evaluate.types import Answer, Example


def test_order_is_random_but_seeded_and_letters_map_back() -> None:
    examples = [Example(i, [{"role": "user", "content": f"question {i}"}], f"ref {i}") for i in range(40)]
    base = [f"base {i}" for i in range(40)]
    tuned = [f"tuned {i}" for i in range(40)]
    calls, tuned_first = judge_calls("judge-model", examples, base, tuned, seed=3)
    assert judge_calls("judge-model", examples, base, tuned, seed=3)[1] == tuned_first
    assert 10 < sum(tuned_first) < 30  # both orders occur
    for call, first in zip(calls, tuned_first, strict=True):
        content = call.request.messages[0]["content"]
        a_part = content.split("Answer A:")[1].split("Answer B:")[0]
        assert ("tuned" in a_part) == first
        assert call.request.max_tokens == 1 and call.request.temperature == 0.0
    # the judge always prefers the tuned answer, wherever it is shown
    verdicts = [Answer(i, "A" if first else "B") for i, first in enumerate(tuned_first)]
    result = summarize_judgements("judge-model", verdicts, tuned_first, seed=1)
    assert (result.tuned_wins, result.baseline_wins, result.ties, result.invalid) == (40, 0, 0, 0)
    assert result.win_rate == 1.0 and result.prompt_template == JUDGE_PROMPT


def test_ties_count_half_and_garbage_is_invalid() -> None:
    first = [True, False, True, False]
    answers = [Answer(0, "T"), Answer(1, "A"), Answer(2, "maybe"), None]
    result = summarize_judgements("j", answers, first, seed=1)
    assert (result.tuned_wins, result.baseline_wins, result.ties, result.invalid) == (0, 1, 1, 2)
    assert result.win_rate == 0.25
