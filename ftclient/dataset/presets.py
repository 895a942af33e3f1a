"""Task presets: which columns mean what, and how one row becomes a training line.

``classify`` (text + label; the system prompt lists the labels), ``summarize`` (text + summary),
``translate`` (source + target text, with languages), ``extract`` (text + JSON output), ``preference``
(prompt + preferred + rejected answer -> DPO lines) and ``chat`` (rows already hold ``messages``).
Columns are found by name when that is unambiguous; otherwise the error lists the columns and the flag
that names them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ftclient.errors import UserInputError

TASKS = ("classify", "summarize", "translate", "extract", "preference", "chat")

# role -> (CLI flag, candidate column names, most likely first)
_ROLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "text": (
        "--text-col",
        (
            "text",
            "ticket",
            "message",
            "body",
            "content",
            "input",
            "question",
            "description",
            "review",
            "comment",
            "sentence",
            "utterance",
            "query",
            "article",
            "document",
            "prompt",
        ),
    ),
    "label": (
        "--label-col",
        ("label", "category", "class", "intent", "tag", "topic", "sentiment", "target", "labels", "output"),
    ),
    "summary": (
        "--output-col",
        ("summary", "abstract", "highlights", "tldr", "headline", "output", "target", "completion", "response"),
    ),
    "output": (
        "--output-col",
        ("output", "json", "fields", "extracted", "extraction", "target", "completion", "response", "answer", "label"),
    ),
    "source": ("--source-col", ("source", "src", "source_text", "input", "text", "original")),
    "target": ("--target-col", ("target", "tgt", "target_text", "translation", "output", "reference")),
    "prompt": ("--prompt-col", ("prompt", "question", "input", "instruction", "query", "text")),
    "chosen": ("--chosen-col", ("chosen", "preferred", "preferred_output", "better", "accepted", "good", "winner")),
    "rejected": ("--rejected-col", ("rejected", "non_preferred", "non_preferred_output", "worse", "bad", "loser")),
    "messages": ("--messages-col", ("messages", "conversation", "conversations", "dialog", "dialogue", "chat")),
}
TASK_ROLES: dict[str, tuple[str, ...]] = {
    "classify": ("text", "label"),
    "summarize": ("text", "summary"),
    "translate": ("source", "target"),
    "extract": ("text", "output"),
    "preference": ("prompt", "chosen", "rejected"),
    "chat": ("messages",),
}
# keyword arguments / CLI flags naming columns -> the roles they set
COLUMN_FLAGS: dict[str, tuple[str, ...]] = {
    "text_col": ("text",),
    "label_col": ("label",),
    "input_col": ("text", "source", "prompt"),
    "output_col": ("summary", "output", "target", "label"),
    "source_col": ("source",),
    "target_col": ("target",),
    "prompt_col": ("prompt",),
    "chosen_col": ("chosen",),
    "rejected_col": ("rejected",),
    "messages_col": ("messages",),
}
# single-turn tasks: (role shown to the model, role of the answer)
PAIR_ROLES = {
    "classify": ("text", "label"),
    "summarize": ("text", "summary"),
    "translate": ("source", "target"),
    "extract": ("text", "output"),
}
LANGUAGES = {
    "en": "English",
    "english": "English",
    "zh": "Chinese",
    "zh_cn": "Chinese",
    "zh_hans": "Chinese",
    "chinese": "Chinese",
    "中文": "Chinese",
    "cn": "Chinese",
    "fr": "French",
    "french": "French",
    "de": "German",
    "german": "German",
    "es": "Spanish",
    "spanish": "Spanish",
    "ja": "Japanese",
    "japanese": "Japanese",
    "ko": "Korean",
    "korean": "Korean",
    "it": "Italian",
    "pt": "Portuguese",
    "ru": "Russian",
}


def _norm(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


@dataclass
class TaskPlan:
    """The chosen task, its column mapping and languages; ``columns`` maps role -> column name."""

    task: str
    columns: dict[str, str]
    source_lang: str | None = None
    target_lang: str | None = None
    system: str | None = None
    """The system prompt given by the user (--system), else None (a default is chosen later)."""
    notes: list[str] = field(default_factory=list)

    @property
    def method(self) -> str:
        return "dpo" if self.task == "preference" else "supervised"


def _find(role: str, columns: Sequence[str], taken: set[str]) -> list[str]:
    """The column for ``role``: an exact name match first, else the one column whose name contains the word."""
    by_norm = {_norm(c): c for c in columns if c not in taken}
    _, candidates = _ROLES[role]
    for candidate in candidates:
        if candidate in by_norm:
            return [by_norm[candidate]]
    for candidate in candidates:
        partial = [column for key, column in by_norm.items() if candidate in key.split("_")]
        if len(partial) == 1:
            return partial
    return []


def _language_columns(columns: Sequence[str]) -> list[tuple[str, str]]:
    out = []
    for column in columns:
        key = _norm(column)
        for part in (key, key.split("_")[-1], key.split("_")[0]):
            if part in LANGUAGES:
                out.append((column, LANGUAGES[part]))
                break
    return out


def guess_task(columns: Sequence[str]) -> str | None:
    """The task the columns suggest, when only one fits."""
    names = {_norm(c) for c in columns}
    if names & {"messages", "conversation", "conversations"}:
        return "chat"
    if {"input", "preferred_output", "non_preferred_output"} <= names:
        return "preference"
    if names & set(_ROLES["chosen"][1]) and names & set(_ROLES["rejected"][1]):
        return "preference"
    if names & {"summary", "abstract", "highlights", "tldr"}:
        return "summarize"
    if len(_language_columns(columns)) >= 2 or names & {"translation"}:
        return "translate"
    if names & {"label", "category", "class", "intent", "sentiment"}:
        return "classify"
    return None


def plan_task(
    task: str | None,
    columns: Sequence[str],
    flags: Mapping[str, str | None],
    *,
    system: str | None = None,
    source_lang: str | None = None,
    target_lang: str | None = None,
) -> TaskPlan:
    """Map ``columns`` to the roles of ``task`` (guessed when None); raises UserInputError when unclear."""
    listed = ", ".join(columns) or "(none)"
    chosen = task or guess_task(columns)
    if chosen is None:
        raise UserInputError(
            f"cannot tell the task from the columns ({listed})",
            hint="pass --task " + "|".join(TASKS) + " and name the columns (--text-col, --label-col, ...)",
        )
    if chosen not in TASKS:
        raise UserInputError(f"unknown task {chosen!r}", hint=f"use one of: {', '.join(TASKS)}")
    if chosen == "preference" and {"input", "preferred_output", "non_preferred_output"} <= set(columns):
        return TaskPlan(
            chosen, {"input": "input", "chosen": "preferred_output", "rejected": "non_preferred_output"}, system=system
        )
    roles = TASK_ROLES[chosen]
    mapping: dict[str, str] = {}
    for flag, value in flags.items():
        if not value:
            continue
        if flag not in COLUMN_FLAGS:
            raise UserInputError(f"unknown option {flag!r}", hint=f"column options: {', '.join(COLUMN_FLAGS)}")
        if value not in columns:
            raise UserInputError(
                f"--{flag.replace('_', '-')} {value!r}: no such column", hint=f"the columns are: {listed}"
            )
        role = next((r for r in COLUMN_FLAGS[flag] if r in roles), None)
        if role is None:
            raise UserInputError(
                f"--{flag.replace('_', '-')} does not apply to --task {chosen}",
                hint=f"{chosen} uses: " + ", ".join(_ROLES[r][0] for r in roles),
            )
        mapping[role] = value
    plan = TaskPlan(chosen, mapping, system=system)
    if chosen == "translate":
        _plan_translate(plan, columns, source_lang, target_lang)
    for role in roles:
        if role in plan.columns:
            continue
        found = _find(role, columns, set(plan.columns.values()))
        if not found:
            flag = _ROLES[role][0]
            raise UserInputError(
                f"--task {chosen}: no column for the {role} (columns: {listed})",
                hint=f"name it with {flag} COLUMN",
            )
        plan.columns[role] = found[0]
    return plan


def _plan_translate(plan: TaskPlan, columns: Sequence[str], source: str | None, target: str | None) -> None:
    by_lang = _language_columns(columns)
    if "source" not in plan.columns and "target" not in plan.columns and len(by_lang) == 2:
        (src_col, src_lang), (tgt_col, tgt_lang) = by_lang
        if source and LANGUAGES.get(_norm(source), source) == tgt_lang:  # the user said which way round
            (src_col, src_lang), (tgt_col, tgt_lang) = (tgt_col, tgt_lang), (src_col, src_lang)
        plan.columns.update(source=src_col, target=tgt_col)
        plan.source_lang, plan.target_lang = src_lang, tgt_lang
    languages = dict(by_lang)
    plan.source_lang = _language_name(source) or plan.source_lang or languages.get(plan.columns.get("source", ""))
    plan.target_lang = _language_name(target) or plan.target_lang or languages.get(plan.columns.get("target", ""))
    if not plan.source_lang or not plan.target_lang:
        raise UserInputError(
            "--task translate: cannot tell the languages from the column names",
            hint="pass --source-lang and --target-lang (e.g. --source-lang English --target-lang Chinese)",
        )


def _language_name(value: str | None) -> str | None:
    if not value:
        return None
    return LANGUAGES.get(_norm(value), value.strip())


def default_system_prompt(plan: TaskPlan, labels: Sequence[str]) -> str | None:
    """The system prompt every example of this task carries, unless --system overrides it."""
    if plan.system is not None:
        return plan.system or None
    if plan.task == "classify":
        return (
            "Classify the text into exactly one of these labels: " + ", ".join(labels) + ". Answer with the label only."
        )
    if plan.task == "summarize":
        return "Summarize the text in one or two sentences, in the language of the text."
    if plan.task == "translate":
        return f"Translate the text from {plan.source_lang} to {plan.target_lang}. Answer with the translation only."
    if plan.task == "extract":
        return "Extract the requested fields from the text. Answer with one JSON object only."
    return None


# --- rows -> fields -> examples ------------------------------------------------------------------------


class RowError(Exception):
    """A row that cannot become an example: which column and why (becomes a dropped-row Problem)."""

    def __init__(self, code: str, message: str, hint: str, column: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.hint, self.column = code, message, hint, column


def clean_text(value: Any) -> str:
    """A cell as text: None -> "", CRLF -> LF, surrounding whitespace removed."""
    if value is None:
        return ""
    if not isinstance(value, str):
        value = json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else str(value)
    return str(value).replace("\r\n", "\n").replace("\r", "\n").strip()


def clean_label(value: Any) -> str:
    """Labels compare after trimming and collapsing inner whitespace ("billing " == "billing")."""
    return " ".join(clean_text(value).split())


def row_fields(plan: TaskPlan, values: Mapping[str, Any]) -> dict[str, Any]:
    """The task's fields of one row, cleaned; raises RowError for an empty or malformed field."""
    fields: dict[str, Any] = {}
    for role, column in plan.columns.items():
        raw = values.get(column)
        if plan.task == "chat" and role == "messages":
            fields[role] = _messages(raw, column)
            continue
        if plan.task == "preference" and role == "input" and isinstance(raw, dict):
            fields[role] = raw
            continue
        if plan.task == "preference" and role in ("chosen", "rejected") and isinstance(raw, list):
            raw = raw[0].get("content") if raw and isinstance(raw[0], dict) else None
        text = clean_label(raw) if role == "label" else clean_text(raw)
        if not text:
            raise RowError(
                "empty-field", f"the {role} ({column!r}) is empty", f"fill in {column!r} or delete the row", column
            )
        fields[role] = text
    if plan.task == "extract":
        try:
            parsed = json.loads(fields["output"])
        except (ValueError, RecursionError) as exc:  # RecursionError: nested hundreds of levels deep
            raise RowError(
                "output-not-json",
                f"the output ({plan.columns['output']!r}) is not valid JSON ({exc})",
                "write the expected output as a JSON object",
                plan.columns["output"],
            ) from exc
        if not isinstance(parsed, dict | list):
            raise RowError(
                "output-not-json",
                "the output is JSON but not an object or array",
                "write the expected output as a JSON object",
                plan.columns["output"],
            )
        fields["output"] = json.dumps(parsed, ensure_ascii=False)
    if plan.task == "preference" and fields.get("chosen") == fields.get("rejected"):
        raise RowError(
            "preference-identical",
            "the preferred and the rejected answer are the same",
            "make the rejected answer the worse one, or delete the row",
            plan.columns.get("rejected"),
        )
    return fields


def _messages(raw: Any, column: str) -> list[Any]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except (ValueError, RecursionError) as exc:  # RecursionError: nested hundreds of levels deep
            raise RowError(
                "messages-not-json",
                f"{column!r} is not a JSON list of messages ({exc})",
                'write [{"role": "user", "content": "..."}, ...]',
                column,
            ) from exc
    if not isinstance(raw, list) or not raw:
        raise RowError(
            "messages-missing",
            f"{column!r} holds no list of messages",
            'write [{"role": "user", "content": "..."}, ...]',
            column,
        )
    return raw


def build_example(plan: TaskPlan, fields: Mapping[str, Any], system: str | None) -> dict[str, Any]:
    """The training line for one row (chat SFT, or a DPO line for ``preference``)."""
    head = [{"role": "system", "content": system}] if system else []
    task = plan.task
    if task == "chat":
        messages = [dict(m) if isinstance(m, dict) else m for m in fields["messages"]]
        if system:
            messages = [m for m in messages if not (isinstance(m, dict) and m.get("role") == "system")]
            messages = head + messages
        return {"messages": messages}
    if task == "preference":
        given = fields.get("input")
        if isinstance(given, dict):
            prompt_messages = list(given.get("messages") or [])
            if system:
                prompt_messages = head + [
                    m for m in prompt_messages if isinstance(m, dict) and m.get("role") != "system"
                ]
            line_input: dict[str, Any] = {**given, "messages": prompt_messages}
        else:
            line_input = {"messages": [*head, {"role": "user", "content": fields["prompt"]}]}
        return {
            "input": line_input,
            "preferred_output": [{"role": "assistant", "content": fields["chosen"]}],
            "non_preferred_output": [{"role": "assistant", "content": fields["rejected"]}],
        }
    user_key, answer_key = PAIR_ROLES[task]
    return {
        "messages": [
            *head,
            {"role": "user", "content": fields[user_key]},
            {"role": "assistant", "content": fields[answer_key]},
        ]
    }


def as_test_example(example: dict[str, Any]) -> dict[str, Any]:
    """A test-split line: chat messages whose last assistant message is the reference answer."""
    if "input" in example:
        return {"messages": [*example["input"].get("messages", []), *example["preferred_output"][:1]]}
    return example


def input_and_output(plan: TaskPlan, fields: Mapping[str, Any]) -> tuple[str, str]:
    """The row's input (what the model sees) and output (the answer), for duplicate and leakage checks."""
    if plan.task == "chat":
        messages = [m for m in fields["messages"] if isinstance(m, dict)]
        last = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=len(messages))
        prompt = "\x1e".join(clean_text(m.get("content")) for m in messages[:last])
        answer = clean_text(messages[last].get("content")) if last < len(messages) else ""
        return prompt, answer
    if plan.task == "preference":
        given = fields.get("input")
        prompt = (
            "\x1e".join(clean_text(m.get("content")) for m in given.get("messages", []) if isinstance(m, dict))
            if isinstance(given, dict)
            else fields["prompt"]
        )
        return prompt, fields["chosen"] + "\x1e" + fields["rejected"]
    user_key, answer_key = PAIR_ROLES[plan.task]
    return fields[user_key], fields[answer_key]


def output_column_paths(plan: TaskPlan, has_system: bool) -> dict[str, str]:
    """JSON paths of a built example -> the source column they came from (to point problems at columns)."""
    offset = 1 if has_system else 0
    if plan.task in ("classify", "summarize", "translate", "extract"):
        user_key, answer_key = PAIR_ROLES[plan.task]
        return {
            f"messages[{offset}].content": plan.columns[user_key],
            f"messages[{offset + 1}].content": plan.columns[answer_key],
        }
    if plan.task == "preference" and "prompt" in plan.columns:
        return {
            f"input.messages[{offset}].content": plan.columns["prompt"],
            "preferred_output[0].content": plan.columns["chosen"],
            "non_preferred_output[0].content": plan.columns["rejected"],
        }
    return {}
