"""Credentials as users hand them over: checked before the first request, never shown back.

An API key pasted with a newline, a space or a typographic character cannot be sent in an HTTP header;
the HTTP stack then fails with a protocol or encoding error that reads like a network fault (and, with
``--debug``, shows the key in the traceback). Checking the key's shape first gives the real reason and
prints nothing of the key but its length and where the bad character is. A base URL may carry
``user:password@``; wherever ftclient shows or stores a URL, that part is masked.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable

from ftclient.errors import AuthError

_USERINFO_RE = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/@\s]*@")

SECRET_VARIABLES = (
    "OPENAI_API_KEY",
    "OPENAI_ADMIN_KEY",
    "AZURE_OPENAI_API_KEY",
    "TOGETHER_API_KEY",
    "WANDB_API_KEY",
)


def without_userinfo(text: str) -> str:
    """``text`` with the ``user:password@`` of every URL in it replaced by ``***@``."""
    if "@" not in text:
        return text
    return _USERINFO_RE.sub(r"\1***@", text)


def endpoint_identity(provider: object) -> str:
    """The adapter's base URL as the registry stores it and the user sees it: without any password, so
    the same value is written and looked up everywhere (uploads, runs, jobs, endpoints)."""
    return without_userinfo(str(getattr(provider, "endpoint", "")))


def checked_api_key(key: str, variable: str, *, provider: str) -> str:
    """``key`` if it can be sent as a bearer token: printable ASCII without spaces; else an AuthError
    that says what is wrong and where, without showing the key."""
    for index, char in enumerate(key):
        if 0x21 <= ord(char) <= 0x7E:
            continue
        raise AuthError(
            f"{variable} holds {_describe(char)} at character {index + 1} of {len(key)}; "
            "an API key is printable ASCII with no spaces or line breaks",
            provider=provider,
            hint=f"copy the key again and set it with export {variable}='...' "
            "(ftclient never prints a key; the position above says where the stray character is)",
        )
    return key


def _describe(char: str) -> str:
    if char in {"\n", "\r"}:
        return "a line break"
    if char.isspace():
        return "a space" if char == " " else "a whitespace character"
    if ord(char) < 0x20 or ord(char) == 0x7F:
        return "a control character"
    name = unicodedata.name(char, "")
    return f"a non-ASCII character ({name.lower()})" if name else "a non-ASCII character"


def secret_values(extra: Iterable[str | None] = ()) -> list[str]:
    """The credential values in the environment (and ``extra``), longest first, for scrubbing text."""
    values = {os.environ.get(name) or "" for name in SECRET_VARIABLES} | {v or "" for v in extra}
    return sorted((v for v in values if len(v) >= 4), key=len, reverse=True)


def scrub_secrets(text: str, extra: Iterable[str | None] = ()) -> str:
    """``text`` with every credential from the environment, and every URL's userinfo, masked."""
    for value in secret_values(extra):
        text = text.replace(value, "[redacted]")
        # A key with a stray character shows up escaped in protocol errors (b'Bearer sk-...\n...').
        text = text.replace(repr(value)[1:-1], "[redacted]")
        text = text.replace(repr(value.encode("utf-8", "replace"))[2:-1], "[redacted]")
    return without_userinfo(text)
