"""Write a synthetic chat fine-tuning JSONL of N examples (seeded), for the validate benchmarks.

Shaped like real support/classification data: a few shared system prompts, user messages of 20-200 words
(some Chinese), short to medium assistant replies, a tenth of the examples multi-turn.

    python benchmarks/make_chat_jsonl.py OUT.jsonl [N] [--seed S]
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

SYSTEMS = [
    "You are a support agent for an online shop. Answer politely and briefly.",
    "Classify the customer's ticket as one of: billing, bug, account, feature_request, shipping.",
    "You summarize customer conversations in one sentence for the support team.",
]
WORDS = (  # noqa: SIM905 - a word list reads best as one string
    "order refund invoice payment card charged twice account password login error crash app update "
    "delivery package tracking late address change subscription cancel renew feature request export "
    "report dashboard slow mobile browser email notification discount coupon price plan upgrade "
    "please help thanks urgent yesterday today week month number again still cannot why how when "
    "the a my your is was are not it to for on in with and but or this that have has been"
).split()
CJK = "我的订单还没有到账退款什么时候处理密码登录失败应用崩溃更新地址发票优惠券请帮忙谢谢"


def sentence(rng: random.Random, low: int, high: int) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(low, high))]
    text = " ".join(words).capitalize() + "."
    if rng.random() < 0.15:
        text += " " + "".join(rng.choice(CJK) for _ in range(rng.randint(8, 40))) + "。"
    return text


def example(rng: random.Random, max_words: int = 200) -> dict[str, object]:
    messages: list[dict[str, object]] = [{"role": "system", "content": rng.choice(SYSTEMS)}]
    turns = 2 if rng.random() < 0.1 else 1
    for _ in range(turns):
        messages.append({"role": "user", "content": sentence(rng, min(20, max_words), max_words)})
        messages.append({"role": "assistant", "content": sentence(rng, 3, 60)})
    return {"messages": messages}


def write(path: Path, n: int, seed: int = 0, max_words: int = 200) -> Path:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as handle:
        for _ in range(n):
            handle.write(json.dumps(example(rng, max_words), ensure_ascii=False) + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("n", type=int, nargs="?", default=80_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-words", type=int, default=200, help="longest user message, in words")
    args = parser.parse_args()
    write(args.out, args.n, args.seed, args.max_words)


if __name__ == "__main__":
    main()
