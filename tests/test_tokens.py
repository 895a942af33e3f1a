"""Token counts: the shipped encodings match tiktoken's own, and chat counts follow OpenAI's recipe."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from ftclient import tokens
from ftclient.errors import FtclientError, UnknownModelError

# tiktoken's cache file names (sha1 of the download URL) for the two encodings.
_CACHE_NAMES = {
    "o200k_base": "fb374d419588a4632f3f557e76b4b70aebbca790",
    "cl100k_base": "9b5ad71b2ce5302211f9c61530b329a4922fc6a4",
}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """tiktoken's own encodings, built by tiktoken from a primed cache (no download)."""
    import os

    import tiktoken

    cache = tmp_path_factory.mktemp("tiktoken-cache")
    for name, cache_name in _CACHE_NAMES.items():
        shutil.copy(tokens.DATA_DIR / f"{name}.tiktoken", cache / cache_name)
    old = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
    try:
        return {name: tiktoken.get_encoding(name) for name in _CACHE_NAMES}
    finally:
        if old is None:
            os.environ.pop("TIKTOKEN_CACHE_DIR", None)
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = old


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-4o-mini-2024-07-18", "o200k_base"),
        ("gpt-4o-mini", "o200k_base"),
        ("gpt-4.1-2025-04-14", "o200k_base"),
        ("gpt-4.1-nano", "o200k_base"),
        ("o4-mini-2025-04-16", "o200k_base"),
        ("ft:gpt-4.1-mini-2025-04-14:acme:tickets:AbC123", "o200k_base"),
        ("ft:gpt-4.1-mini-2025-04-14:acme::AbC123", "o200k_base"),
        ("ft:gpt-4o-2024-08-06:acme:x:AbC123:ckpt-step-2000", "o200k_base"),
        ("ft:o4-mini-2025-04-16:acme:rft:AbC123", "o200k_base"),
        ("gpt-3.5-turbo-0125", "cl100k_base"),
        ("ft:gpt-3.5-turbo-0125:openai-gtm:drone:9atiPjeC", "cl100k_base"),
        ("gpt-4-0613", "cl100k_base"),
        ("babbage-002", "cl100k_base"),
        ("davinci-002", "cl100k_base"),
        ("ft:davinci-002:acme:legacy:AbC123", "cl100k_base"),
    ],
)
def test_encoding_for_every_fine_tunable_model(model: str, expected: str) -> None:
    assert tokens.encoding_name_for(model) == expected


@pytest.mark.parametrize("model", ["llama-3-8b", "ft:", "", "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"])
def test_unknown_models_raise(model: str) -> None:
    with pytest.raises(UnknownModelError):
        tokens.encoding_name_for(model)


def test_count_is_exact_only_for_shipped_tokenizers() -> None:
    assert tokens.count_is_exact("gpt-4.1-mini-2025-04-14")
    assert not tokens.count_is_exact("meta-llama/Meta-Llama-3.1-8B-Instruct-Reference", "together")
    assert not tokens.count_is_exact("gpt-4o-mini", "together")
    counter = tokens.TokenCounter("Qwen/Qwen3-8B", "together")
    assert counter.exact is False
    assert counter.text("hello world") == tokens.estimate_text("hello world") > 0


def test_shipped_encodings_equal_tiktoken(reference: Any) -> None:
    samples = ["Hello, world!", "退款什么时候到账？我的订单号是 12345。", "  spaces\r\n\tand tabs  ", "naïve café 🙂"]
    for name, ref in reference.items():
        ours = tokens.get_encoding(name)
        assert ours.n_vocab == ref.n_vocab
        for text in samples:
            assert ours.encode_ordinary(text) == ref.encode_ordinary(text)


@pytest.mark.parametrize("name", sorted(_CACHE_NAMES))
def test_rank_files_parse_as_tiktoken_parses_them(name: str) -> None:
    """ftclient reads ranks as 0, 1, 2, ... by position; the shipped files must list them that way."""
    from tiktoken.load import load_tiktoken_bpe

    path = tokens.DATA_DIR / f"{name}.tiktoken"
    ours = tokens._load_ranks(path, tokens._EXPECTED_SHA256[name])
    theirs = load_tiktoken_bpe(str(path), expected_hash=tokens._EXPECTED_SHA256[name])
    assert ours == theirs
    assert list(ours.values()) == list(range(len(ours)))


def test_get_encoding_refuses_a_tampered_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "o200k_base.tiktoken"
    bad.write_bytes((tokens.DATA_DIR / "o200k_base.tiktoken").read_bytes()[:-10] + b"AAAAAAAAAA")
    monkeypatch.setattr(tokens, "DATA_DIR", tmp_path)
    tokens.get_encoding.cache_clear()
    try:
        with pytest.raises(FtclientError, match="damaged"):
            tokens.get_encoding("o200k_base")
    finally:
        monkeypatch.undo()
        tokens.get_encoding.cache_clear()


def _reference_chat(enc: Any, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, kind: str) -> int:
    """OpenAI's published counting recipe, written out independently with tiktoken's own encoding."""
    total = 3
    for message in messages:
        total += 3
        total += len(enc.encode(message["role"]))
        if message.get("content"):
            total += len(enc.encode(message["content"]))
        if "name" in message:
            total += len(enc.encode(message["name"])) + 1
        for call in message.get("tool_calls", []):
            total += 3 + len(enc.encode(call["function"]["name"])) + len(enc.encode(call["function"]["arguments"]))
    if tools:
        func_init = 7 if kind == "o200k_base" else 10
        for tool in tools:
            fn = tool["function"]
            total += func_init + len(enc.encode(fn["name"] + ":" + fn.get("description", "").removesuffix(".")))
            props = fn.get("parameters", {}).get("properties", {})
            if props:
                total += 3
                for key, spec in props.items():
                    total += 3
                    if "enum" in spec:
                        total += -3 + sum(3 + len(enc.encode(v)) for v in spec["enum"])
                    desc = spec.get("description", "").removesuffix(".")
                    total += len(enc.encode(f"{key}:{spec['type']}:{desc}"))
        total += 12
    return total


WEATHER_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_current_weather",
            "description": "Get the current weather.",
            "parameters": {
                "type": "object",
                "properties": {
                    "location": {"type": "string", "description": "City and country."},
                    "format": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                },
                "required": ["location", "format"],
            },
        },
    }
]

CHATS: list[tuple[list[dict[str, Any]], list[dict[str, Any]] | None]] = [
    (
        [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "name": "alice_01", "content": "Hi, what's 2+2?"},
            {"role": "assistant", "name": "bot", "content": "4."},
        ],
        None,
    ),
    (
        [
            {"role": "user", "content": "What is the weather in San Francisco?"},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {
                            "name": "get_current_weather",
                            "arguments": json.dumps({"location": "San Francisco, USA", "format": "celsius"}),
                        },
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "21.0"},
            {"role": "assistant", "content": "It is 21 degrees celsius in San Francisco."},
        ],
        WEATHER_TOOLS,
    ),
    (
        [{"role": "user", "content": "两个城市的天气？"}, {"role": "assistant", "content": "北京晴，上海多云。"}],
        WEATHER_TOOLS,
    ),
]


@pytest.mark.parametrize("model", ["gpt-4.1-mini-2025-04-14", "gpt-3.5-turbo-0125"])
@pytest.mark.parametrize("index", range(len(CHATS)))
def test_count_chat_matches_recipe_with_names_tools_and_tool_calls(reference: Any, model: str, index: int) -> None:
    messages, tools = CHATS[index]
    kind = tokens.encoding_name_for(model)
    expected = _reference_chat(reference[kind], messages, tools, kind)
    assert tokens.count_chat(messages, model, tools=tools) == expected


def test_count_chat_simple_example_is_the_notebook_number(reference: Any) -> None:
    messages = [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi there"}]
    enc = reference["o200k_base"]
    notebook = 3 + sum(3 + len(enc.encode(m["role"])) + len(enc.encode(m["content"])) for m in messages)
    assert tokens.count_chat(messages, "gpt-4o-mini") == notebook


def test_functions_count_like_tools() -> None:
    messages = [{"role": "user", "content": "weather?"}, {"role": "assistant", "content": "sunny"}]
    functions = [tool["function"] for tool in WEATHER_TOOLS]
    model = "gpt-4o-2024-08-06"
    with_tools = tokens.count_chat(messages, model, tools=WEATHER_TOOLS)
    assert tokens.count_chat(messages, model, functions=functions) == with_tools
    assert with_tools > tokens.count_chat(messages, model)


def test_count_assistant_skips_weight_zero(reference: Any) -> None:
    enc = reference["o200k_base"]
    messages = [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "first answer", "weight": 0},
        {"role": "user", "content": "b"},
        {"role": "assistant", "content": "second answer"},
    ]
    assert tokens.count_assistant(messages, "gpt-4.1") == len(enc.encode("second answer"))


def test_count_text_and_special_token_strings() -> None:
    assert tokens.count_text("<|fim_suffix|>", "gpt-4.1") > 1  # ordinary text, never a special token
    assert tokens.find_special_tokens("a <|fim_suffix|> b <|endoftext|>") == ["<|fim_suffix|>", "<|endoftext|>"]
    assert tokens.find_special_tokens("<| not one |>") == []


def test_shipped_encoding_pickles_by_name_and_drops_the_python_ranks() -> None:
    import pickle

    encoding = tokens.get_encoding("o200k_base")
    assert pickle.loads(pickle.dumps(encoding)) is encoding
    assert encoding._mergeable_ranks == {}  # the Rust core keeps the ranks
    assert encoding.decode(encoding.encode_ordinary("退款 refund")) == "退款 refund"
