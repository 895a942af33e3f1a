"""Options and helpers shared by the command modules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from ftclient.cli.output import Output

F = TypeVar("F", bound=Callable[..., Any])


def json_option(func: F) -> F:
    """``--json``: stdout carries exactly one JSON document; talk goes to stderr."""
    return click.option(
        "--json", "json_mode", is_flag=True, help="Write the result as one JSON document on stdout."
    )(func)


def inactive_timeout_option(func: F) -> F:
    """``--inactive-timeout``: a dedicated endpoint ftclient starts always stops itself when left idle."""
    return click.option(
        "--inactive-timeout",
        type=click.IntRange(min=1),
        default=30,
        show_default=True,
        help="Minutes without requests after which the provider stops the endpoint (always set).",
    )(func)


def get_output(ctx: click.Context, json_mode: bool = False) -> Output:
    root = ctx.find_root().obj or {}
    return Output(json_mode=json_mode, quiet=bool(root.get("quiet")), verbose=bool(root.get("verbose")))


def split_list(value: str | None) -> list[str]:
    """``"a,b, c"`` -> ``["a", "b", "c"]`` for options that take comma-separated lists (sweeps)."""
    if not value:
        return []
    return [part.strip() for part in value.split(",") if part.strip()]
