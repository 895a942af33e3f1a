"""The floor: tiktoken alone encoding every message string of a chat JSONL once, on one thread.

python benchmarks/tiktoken_only.py FILE.jsonl
"""

from __future__ import annotations

import json
import sys

import tiktoken


def main(path: str) -> None:
    encoding = tiktoken.get_encoding("o200k_base")
    total = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            for message in json.loads(line)["messages"]:
                total += len(encoding.encode(message["content"]))
    print(total)


if __name__ == "__main__":
    main(sys.argv[1])
