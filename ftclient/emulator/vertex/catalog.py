"""The Vertex dialect's own catalogue: the Gemini bases it tunes and their published limits.

Source: cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-tuning, "Limitations" (read 2026-12-03):
Gemini 2.5 Flash and Flash-Lite take 131,072 input and output training tokens per example, a training file of
up to 1 GB of JSONL, up to 1M text-only examples and up to 5,000 validation examples; adapter sizes 1, 2, 4, 8
and 16. Serving: the tuned model is deployed to an endpoint when its job succeeds
(cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-use-supervised-tuning). Vertex bills a tuned
Gemini endpoint by the tokens it serves, not by the hour (an assumption here: the pricing page was not read),
so the emulator counts tokens per endpoint and bills no hours.
"""

from __future__ import annotations

TUNABLE = {
    "gemini-2.5-flash": {"max_example_tokens": 131_072},
    "gemini-2.5-flash-lite": {"max_example_tokens": 131_072},
}
MAX_FILE_BYTES = 1024**3
MAX_TRAINING_EXAMPLES = 1_000_000
MAX_VALIDATION_EXAMPLES = 5_000
ADAPTER_SIZES = {"ADAPTER_SIZE_ONE", "ADAPTER_SIZE_TWO", "ADAPTER_SIZE_FOUR", "ADAPTER_SIZE_EIGHT",
                 "ADAPTER_SIZE_SIXTEEN"}
DEFAULT_EPOCHS = 3
"""An assumption: Vertex picks epochs from the dataset size when none is given; the emulator takes 3."""


def base_of(model: str) -> str | None:
    """The catalogue's name for ``model`` as a job names it: ``gemini-2.5-flash``,
    ``publishers/google/models/gemini-2.5-flash`` or ``projects/p/locations/l/publishers/google/models/...``."""
    name = model.rsplit("/", 1)[-1]
    return name if name in TUNABLE else None


def estimate_tokens(text: str) -> int:
    """About four characters a token: the emulator has no Gemini tokenizer either."""
    return max(1, (len(text) + 3) // 4) if text else 0
