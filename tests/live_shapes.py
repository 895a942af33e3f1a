"""Where the live OpenAI API and its official spec disagree, the emulator answers like the live API.

Each deviation below is seen in a response captured from the live API (``../shared/real-payloads/openai``,
file named beside it). The spec-checking tests apply these amendments to the spec before they validate, so
everything else in a response is still held to the spec, and a deviation not listed here still fails.
"""

from __future__ import annotations

from typing import Any

BATCH_NULLS = (
    "errors",
    "output_file_id",
    "error_file_id",
    "in_progress_at",
    "finalizing_at",
    "completed_at",
    "failed_at",
    "expired_at",
    "cancelling_at",
    "cancelled_at",
)

# schema -> (properties the live API sends as null although the spec does not allow it, the capture)
NULLABLE: dict[str, tuple[tuple[str, ...], str]] = {
    "Batch": (BATCH_NULLS, "batch-1.json, batch-2.json"),
    "OpenAIFile": (("expires_at", "status_details"), "file-4.json"),
    "FineTuningJobEvent": (("data",), "events-2.json"),
}
# schema -> (properties the live API sends as {} where the spec wants an object with required keys or null)
EMPTY_OBJECT: dict[str, tuple[tuple[str, ...], str]] = {
    "FineTuningJob": (("error",), "job-10.json"),
}


def amend(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` (an OpenAPI document, changed in place and returned) with the live deviations allowed.
    Schemas the document does not hold (a trimmed OpenAI spec, another provider's spec) are left alone."""
    schemas = spec["components"].get("schemas", {})
    for table, extra in ((NULLABLE, {"type": "null"}), (EMPTY_OBJECT, {"type": "object", "maxProperties": 0})):
        for name, (properties, _capture) in table.items():
            if name not in schemas:
                continue
            for prop in properties:
                original = schemas[name]["properties"][prop]
                schemas[name]["properties"][prop] = {"anyOf": [original, extra]}
    return spec


def as_sdk_reads_it(body: Any) -> Any:
    """A live-shaped body as the openai SDK reads it at run time (it builds responses leniently): the
    empty ``error`` object of a healthy job becomes an Error of Nones, which its strict types cannot hold,
    so for a strict parse it stands as null."""
    if isinstance(body, dict) and body.get("object") == "fine_tuning.job" and body.get("error") == {}:
        return {**body, "error": None}
    return body
