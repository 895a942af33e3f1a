"""Small built-in datasets for exercising the emulator (tests, benchmarks, the demo's smoke checks).

Support tickets in English and Chinese with a system prompt that lists the labels, so the base model's
label-overlap baseline and the tuned model's nearest neighbour can both be seen at work.
"""

from __future__ import annotations

import json
from typing import Any

SYSTEM_PROMPT = "Classify the support ticket. Answer with exactly one of: billing, technical, account."

TICKETS: dict[str, tuple[str, ...]] = {
    "billing": (
        "I was charged twice for my subscription this month",
        "Please refund the payment you took yesterday",
        "The invoice shows the wrong amount",
        "Why did my card get debited again?",
        "我的信用卡被重复扣款了",
        "发票金额不对，请帮我更正",
    ),
    "technical": (
        "The app crashes as soon as I open it",
        "I get error 500 when saving a document",
        "The page never finishes loading on Firefox",
        "Sync stopped working after the last update",
        "应用一打开就闪退",
        "保存文件时总是报错",
    ),
    "account": (
        "How do I reset my password?",
        "I want to change the email address on my profile",
        "Please delete my account and all my data",
        "I am locked out after too many login attempts",
        "我忘记密码了，怎么重置",
        "请帮我注销账号",
    ),
}


def chat_example(text: str, label: str, system: str = SYSTEM_PROMPT) -> dict[str, Any]:
    return {
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": text},
            {"role": "assistant", "content": label},
        ]
    }


def classification_examples() -> list[dict[str, Any]]:
    """Eighteen labelled tickets (three labels, English and Chinese)."""
    return [chat_example(text, label) for label, texts in TICKETS.items() for text in texts]


def to_jsonl(records: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records).encode("utf-8")
