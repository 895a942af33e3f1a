"""A small ``multipart/form-data`` parser: enough for OpenAI's file and upload-part endpoints."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ftclient.emulator.http import ApiError

_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_DISPOSITION = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


@dataclass
class Part:
    name: str
    filename: str | None
    content_type: str | None
    data: bytes


def parse_multipart(content_type: str, body: bytes) -> dict[str, Part]:
    found = _BOUNDARY.search(content_type)
    if not content_type.lower().startswith("multipart/form-data") or not found:
        raise ApiError(400, "This endpoint expects a multipart/form-data body (Content-Type: multipart/form-data).")
    delimiter = b"--" + found.group(1).encode("latin-1")
    parts: dict[str, Part] = {}
    for raw in body.split(delimiter)[1:]:
        if raw.startswith(b"--"):
            break
        head, separator, data = raw.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not separator:
            raise ApiError(400, "Malformed multipart body: a part has no blank line after its headers.")
        data = data.removesuffix(b"\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        attributes = dict(_DISPOSITION.findall(headers.get("content-disposition", "")))
        if "name" not in attributes:
            raise ApiError(400, "Malformed multipart body: a part has no name.")
        parts[attributes["name"]] = Part(
            attributes["name"], attributes.get("filename"), headers.get("content-type"), data
        )
    return parts
