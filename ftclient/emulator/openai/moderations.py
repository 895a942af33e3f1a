"""``/v1/moderations``: a transparent keyword screen with OpenAI's response shape.

It is not a safety model: each category has a short list of words, and a category's score is the share
of its words the input contains (1.0 once any word matches twice). It exists so that code which checks
training data through the moderation endpoint can be exercised offline.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ftclient.emulator.http import ApiError, Request, Response, Router, json_response

if TYPE_CHECKING:
    from ftclient.emulator.openai.app import OpenAIApp

CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "hate": ("subhuman", "vermin"),
    "hate/threatening": ("exterminate them",),
    "harassment": ("idiot", "loser", "pathetic"),
    "harassment/threatening": ("i will find you", "you will regret"),
    "illicit": ("counterfeit", "launder money", "make meth"),
    "illicit/violent": ("build a bomb", "buy a gun illegally"),
    "self-harm": ("hurt myself", "self-harm"),
    "self-harm/intent": ("want to die", "end my life"),
    "self-harm/instructions": ("how to cut myself",),
    "sexual": ("explicit sex", "porn"),
    "sexual/minors": ("minor sexual",),
    "violence": ("kill", "murder", "stab"),
    "violence/graphic": ("gore", "dismember"),
}
MODEL = "omni-moderation-latest"
SNAPSHOT = "omni-moderation-2024-09-26"


def classify(text: str) -> dict[str, Any]:
    lowered = text.lower()
    categories: dict[str, bool] = {}
    scores: dict[str, float] = {}
    for category, words in CATEGORY_WORDS.items():
        hits = sum(len(re.findall(rf"\b{re.escape(word)}\b", lowered)) for word in words)
        score = 0.0 if hits == 0 else min(1.0, 0.5 + 0.25 * hits)
        scores[category] = score
        categories[category] = score >= 0.5
    return {
        "flagged": any(categories.values()),
        "categories": categories,
        "category_scores": scores,
        "category_applied_input_types": {category: ["text"] for category in CATEGORY_WORDS},
    }


class Moderations:
    def __init__(self, app: OpenAIApp) -> None:
        self.app = app

    def register(self, router: Router) -> None:
        router.add("POST", "/v1/moderations", self.create)

    def create(self, request: Request) -> Response:
        return json_response(self.moderate(request.json()))

    def moderate(self, body: dict[str, Any]) -> dict[str, Any]:
        raw = body.get("input")
        if isinstance(raw, str):
            texts = [raw]
        elif isinstance(raw, list) and raw:
            texts = []
            for item in raw:
                if isinstance(item, str):
                    texts.append(item)
                elif isinstance(item, dict) and item.get("type") == "text":
                    texts.append(str(item.get("text", "")))
                else:
                    raise ApiError(
                        400, "The emulator moderates text only; send strings or {type: text} parts.", param="input"
                    )
        else:
            raise ApiError(
                400, "Missing required parameter: 'input'.", param="input", code="missing_required_parameter"
            )
        model = body.get("model") or MODEL
        return {
            "id": self.app.store.new_id("modr-", 20),
            "model": SNAPSHOT if model == MODEL else model,
            "results": [classify(text) for text in texts],
        }
