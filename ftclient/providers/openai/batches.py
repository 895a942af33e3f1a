"""The OpenAI adapter's Models API and Batch API calls, beside fine-tuning.

Both go through the adapter's own client and its one retry layer: a batch then carries the same key,
organisation and project headers as its input file (a batch created in another project cannot read its
file), and a 429 at batch creation is retried like any other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

import openai

from ftclient.errors import ProviderError
from ftclient.providers.base import BatchInfo, ModelInfo
from ftclient.providers.openai.wire import (
    batch_info_from_dict,
    model_info_from_dict,
    shutdown_date_from_dict,
)

T = TypeVar("T")


class _Adapter(Protocol):
    def _client(self) -> openai.OpenAI: ...
    def _call(self, what: str, fn: Callable[[], T], *, retry: bool = True) -> T: ...


class ModelsAndBatches:
    """Mixed into OpenAIProvider, whose ``_client`` and ``_call`` these methods use."""

    def list_models(self: _Adapter) -> list[ModelInfo]:
        """Every model the key can use, base and tuned, with its announced shutdown date."""
        items = self._call("listing models", lambda: [m.to_dict() for m in self._client().models.list()])
        return [model_info_from_dict(item) for item in items]

    def model_shutdown_date(self: _Adapter, model: str) -> dt.date | None:
        """The Models API's ``shutdown_date`` of ``model`` (official spec, ``Model`` schema): the live word
        on when it stops. None when the API names no date or cannot be asked (a 404 for an unknown or
        already removed model, an endpoint without ``/models``): the dated table then decides."""
        try:
            data = self._call(f"reading model {model}", lambda: self._client().models.retrieve(model).to_dict())
        except ProviderError:
            return None
        return shutdown_date_from_dict(data)

    def create_batch(
        self: _Adapter,
        input_file_id: str,
        *,
        endpoint: str = "/v1/chat/completions",
        metadata: Mapping[str, str] | None = None,
    ) -> BatchInfo:
        def create() -> dict[str, Any]:
            batch = self._client().batches.create(
                input_file_id=input_file_id,
                endpoint=endpoint,  # type: ignore[arg-type]
                completion_window="24h",
                metadata=dict(metadata) if metadata else None,
            )
            return batch.to_dict()

        return batch_info_from_dict(self._call(f"creating a batch from {input_file_id}", create))

    def get_batch(self: _Adapter, batch_id: str) -> BatchInfo:
        data = self._call(f"reading batch {batch_id}", lambda: self._client().batches.retrieve(batch_id).to_dict())
        return batch_info_from_dict(data)

    def cancel_batch(self: _Adapter, batch_id: str) -> BatchInfo:
        data = self._call(f"cancelling batch {batch_id}", lambda: self._client().batches.cancel(batch_id).to_dict())
        return batch_info_from_dict(data)

    def find_batch_for_file(self: _Adapter, input_file_id: str) -> BatchInfo | None:
        """The newest batch (of the last 100) made from this input file, if any: how a create whose answer
        was lost is found again instead of being sent twice."""
        try:
            items = self._call(
                "listing batches", lambda: [b.to_dict() for b in self._client().batches.list(limit=100).data]
            )
        except ProviderError:
            return None
        for item in items:
            if item.get("input_file_id") == input_file_id:
                return batch_info_from_dict(item)
        return None
