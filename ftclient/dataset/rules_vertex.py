"""Google Vertex AI's dataset rules for supervised tuning of Gemini: canonical chat lines (checked for what
would stop them converting or make Vertex refuse them) and lines already in Vertex's own schema.

Sources (read 2026-12-03; each rule below names its own):

- [prepare] cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-supervised-tuning-prepare:
  ``contents`` required; ``role`` is ``user`` or ``model``; a part holds one of ``text`` / ``fileData``
  (``mimeType`` + ``fileUri``); ``systemInstruction`` optional, its ``role`` ignored; JSONL, one example a line.
- [about] cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-supervised-tuning-about (the earlier
  page): "The user or model roles are required and can repeat in an alternating manner".
- [limits] cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-tuning, "Limitations", Gemini 2.5 Flash:
  131,072 input and output training tokens per example, at most 5,000 validation examples, a training file of
  at most 1 GB (JSONL), at most 1M text-only examples.

Assumptions (not stated in those pages): an example must end with a ``model`` turn (the turn Vertex learns;
every published example ends so) and should start with a ``user`` turn. The current pages name no minimum
number of examples (they recommend 100 to start; the older Gemini 1.0 page's 16 is not applied), so one is
the minimum here. Token counts are estimates: ftclient does not ship Gemini's tokenizer.
"""

from __future__ import annotations

from typing import Any

from ftclient.dataset.formats import ConversionError
from ftclient.dataset.formats.vertex import FORMAT, convert_with_origin
from ftclient.dataset.rules import LineResult, RuleContext, RuleSet, problem

TOKENS_PER_CONTENT = 4
"""An estimate of the role and turn markers around each content (Gemini's template is not published)."""
TOP_LEVEL = frozenset({"contents", "systemInstruction", "tools"})
PART_FIELDS = frozenset({"text", "fileData"})


class VertexRuleSet(RuleSet):
    """Chat lines as they will be converted, and native Gemini lines."""

    provider = "vertex"
    formats = frozenset({"chat", FORMAT})
    min_examples = 1  # assumption: no minimum is published for Gemini 2.5 (see the module docstring)
    max_examples = 1_000_000  # [limits] "1M text-only examples"
    max_file_bytes = 1024**3  # [limits] "1GB for JSONL"

    def format_hint(self) -> str:
        return (
            'use {"messages": [...]} (converted at launch) or Vertex\'s own '
            '{"systemInstruction": {...}, "contents": [{"role": "user", "parts": [{"text": ...}]}, ...]}'
        )

    def check(self, record: Any, line: int, ctx: RuleContext) -> LineResult:
        if isinstance(record, dict) and "contents" in record and "messages" not in record:
            result = LineResult(line, FORMAT)
            self.check_native(record, result, ctx)
            return result
        return super().check(record, line, ctx)

    def _special(self, text: str, path: str, result: LineResult, ctx: RuleContext) -> None:
        """OpenAI's special-token strings (``<|endoftext|>``) mean nothing to Gemini's tokenizer."""

    # -- canonical chat lines: the chat rules, then the conversion and the native rules on its result --------

    def plain_chat(self, record: Any, line: int, ctx: RuleContext) -> LineResult | None:
        result = super().plain_chat(record, line, ctx)
        if result is not None:
            self._as_converted(record, result, ctx)
        return result

    def _check_chat(self, record: dict[str, Any], result: LineResult, ctx: RuleContext) -> None:
        super()._check_chat(record, result, ctx)
        self._as_converted(record, result, ctx)

    def _as_converted(self, record: dict[str, Any], result: LineResult, ctx: RuleContext) -> None:
        if any(p.severity == "error" for p in result.problems):
            return  # the chat rules said what is wrong; converting would only say it again
        try:
            converted, origin = convert_with_origin(record)
        except ConversionError as exc:
            result.problems.append(
                problem(ctx, result.line, "not-convertible", f"{exc.message} (in Vertex's schema)", exc.hint,
                        path=exc.path)
            )
            return
        native = LineResult(result.line, FORMAT)
        self.check_native(converted, native, ctx)
        for found in native.problems:
            path = found.path or ""
            if path.startswith("contents["):  # name the line's own message, not the converted content
                index = int(path[len("contents["):path.index("]")])
                path = f"messages[{origin[index]}]"
            elif path.startswith("systemInstruction"):
                path = "messages[0]"
            result.problems.append(
                problem(ctx, result.line, found.code, f"{found.message} (after conversion to Vertex's schema)",
                        found.hint, path=path or None, warning=found.severity == "warning")
            )

    # -- native Gemini lines -------------------------------------------------------------------------------

    def check_native(self, record: dict[str, Any], result: LineResult, ctx: RuleContext) -> None:
        line = result.line
        add = result.problems.append
        for key in sorted(set(record) - TOP_LEVEL):
            add(problem(ctx, line, "unknown-field", f"field {key!r} is not part of Vertex's tuning schema",
                        "remove it: Vertex reads systemInstruction, contents and tools [prepare]", path=key))
        texts: list[str] = []
        system = record.get("systemInstruction")
        if system is not None:
            parts = system.get("parts") if isinstance(system, dict) else None
            if not isinstance(parts, list) or not parts:
                add(problem(ctx, line, "system-instruction-shape",
                            "systemInstruction must be an object with a non-empty parts list",
                            'write {"systemInstruction": {"parts": [{"text": "..."}]}} [prepare]',
                            path="systemInstruction"))
            else:
                for index, part in enumerate(parts):
                    text = part.get("text") if isinstance(part, dict) else None
                    if not isinstance(text, str) or not text.strip():
                        add(problem(ctx, line, "system-instruction-shape",
                                    "each systemInstruction part must hold non-empty text",
                                    "write the instruction as text parts [prepare]",
                                    path=f"systemInstruction.parts[{index}]"))
                    else:
                        texts.append(text)
        contents = record.get("contents")
        if not isinstance(contents, list) or not contents:
            add(problem(ctx, line, "contents-empty", "contents must be a non-empty list of turns",
                        "add the user turn and the model's reply [prepare: contents is required]", path="contents"))
            result.sequences.append((0, texts))
            return
        roles: list[Any] = []
        for index, content in enumerate(contents):
            path = f"contents[{index}]"
            if not isinstance(content, dict):
                add(problem(ctx, line, "content-shape", "a turn must be an object with role and parts",
                            'write {"role": "user", "parts": [{"text": "..."}]}', path=path))
                roles.append(None)
                continue
            role = content.get("role")
            roles.append(role)
            if role not in ("user", "model"):
                add(problem(ctx, line, "invalid-role", f"role {role!r}: Vertex takes user or model",
                            "use user for the prompt and model for the reply [prepare]", path=f"{path}.role"))
            elif index and roles[index - 1] == role:
                add(problem(ctx, line, "roles-not-alternating", f"two {role} turns in a row",
                            "merge them into one turn with several parts: user and model alternate [about]",
                            path=f"{path}.role"))
            texts += self._parts(content.get("parts"), f"{path}.parts", result, ctx)
        if roles[0] == "model":
            add(problem(ctx, line, "first-turn-not-user", "the conversation starts with a model turn",
                        "start with the user turn the model answers (assumption: Vertex expects a prompt first)",
                        path="contents[0].role", warning=True))
        if roles[-1] != "model":
            add(problem(ctx, line, "last-turn-not-model",
                        f"the example ends with a {roles[-1]} turn: there is no reply to learn",
                        "end each example with the model's reply (assumption: Vertex learns the model turns)",
                        path=f"contents[{len(contents) - 1}]"))
        result.sequences.append((TOKENS_PER_CONTENT * len(contents), texts))
        result.assistant = [
            str(part.get("text"))
            for content in contents
            if isinstance(content, dict) and content.get("role") == "model" and isinstance(content.get("parts"), list)
            for part in content["parts"]
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        ]
        result.has_system = system is not None
        result.dedup = tuple(texts)

    def _parts(self, parts: Any, path: str, result: LineResult, ctx: RuleContext) -> list[str]:
        line = result.line
        if not isinstance(parts, list) or not parts:
            result.problems.append(problem(ctx, line, "parts-empty", "a turn needs a non-empty parts list",
                                           'write "parts": [{"text": "..."}] [prepare]', path=path))
            return []
        texts: list[str] = []
        for index, part in enumerate(parts):
            here = f"{path}[{index}]"
            fields = set(part) & PART_FIELDS if isinstance(part, dict) else set()
            if not isinstance(part, dict) or len(fields) != 1 or set(part) - PART_FIELDS:
                result.problems.append(problem(
                    ctx, line, "part-shape", "a part holds exactly one of text or fileData",
                    'write {"text": "..."} or {"fileData": {"mimeType": ..., "fileUri": ...}} [prepare]', path=here))
                continue
            if "text" in part:
                text = part["text"]
                if not isinstance(text, str) or not text.strip():
                    result.problems.append(problem(ctx, line, "empty-content", "the text part is empty",
                                                   "write the text, or drop the part", path=f"{here}.text"))
                else:
                    texts.append(text)
            else:
                data = part["fileData"]
                if not (isinstance(data, dict) and isinstance(data.get("mimeType"), str)
                        and isinstance(data.get("fileUri"), str)):
                    result.problems.append(problem(ctx, line, "part-shape", "fileData needs mimeType and fileUri",
                                                   "name the file's MIME type and its gs:// or https URI [prepare]",
                                                   path=f"{here}.fileData"))
        return texts
