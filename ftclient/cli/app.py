"""The root ``ftclient`` group. Each command lives in its own module, imported when it is used."""

from __future__ import annotations

import importlib
from typing import Any

import click

from ftclient._version import __version__

# name -> (module, one-line help shown by `ftclient --help` without importing the module)
COMMANDS: dict[str, tuple[str, str]] = {
    "prepare": ("ftclient.cli.prepare", "Turn a CSV/JSONL of examples into a validated, split, costed dataset."),
    "validate": ("ftclient.cli.validate", "Check a fine-tuning JSONL file against a provider's rules."),
    "launch": ("ftclient.cli.launch", "Upload a prepared dataset, create the fine-tuning job, follow it."),
    "jobs": ("ftclient.cli.jobs", "List, show, watch, cancel, pause or resume fine-tuning jobs."),
    "evaluate": ("ftclient.cli.evaluate", "Score a tuned model against its base model on the test split."),
    "deploy": ("ftclient.cli.endpoints", "Deploy a tuned model on a dedicated endpoint (Together)."),
    "endpoints": ("ftclient.cli.endpoints", "List, stop or delete dedicated endpoints."),
    "models": ("ftclient.cli.models", "List models; tuned ones with their job, shutdown date and days left."),
    "capture": ("ftclient.cli.capture", "Record a model's answers to every input (Batch API for many), resumable."),
    "migrate": ("ftclient.cli.migrate", "Re-tune a retiring model elsewhere and prove the replacement is as good."),
    "runs": ("ftclient.cli.runs", "The local history: datasets, uploads, jobs, models, evaluations."),
    "emulator": ("ftclient.cli.emulator", "Run the built-in provider emulator on loopback."),
    "demo": ("ftclient.cli.demo", "The whole loop offline: prepare, launch, evaluate against the emulator."),
    "completion": ("ftclient.cli.completion", "Print the shell completion script (bash, zsh, fish)."),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use; ``--help`` lists them from ``COMMANDS``."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if _module_exists(COMMANDS[name][0])]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module_name, _ = COMMANDS[cmd_name]
        if not _module_exists(module_name):
            return None
        module = importlib.import_module(module_name)
        command = getattr(module, cmd_name.replace("-", "_"))
        if not isinstance(command, click.Command):
            raise TypeError(f"{module_name}.{cmd_name} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _module_exists(module_name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module_name) is not None


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="""\b
Examples:
  ftclient demo                          the whole loop offline, no key needed
  ftclient prepare examples/support_tickets.csv --task classify
  JOB=$(ftclient -q launch --detach)     stdout carries results only: here the job id
  ftclient evaluate "$JOB"
  ftclient jobs list | grep running

Results (listings, ids, plans) go to stdout; progress, reports and errors to stderr.
Docs: docs/quickstart.md; every command takes --help and --json (one JSON document on stdout).""",
)
@click.version_option(__version__, "--version", prog_name="ftclient", message="%(prog)s %(version)s")
@click.option("-q", "--quiet", is_flag=True, help="Only results and errors; no progress or reports.")
@click.option("-v", "--verbose", is_flag=True, help="Say more about what is being done.")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors (also FTCLIENT_DEBUG=1).")
@click.pass_context
def cli(ctx: click.Context, quiet: bool, verbose: bool, debug: bool) -> None:
    """Prepare, launch and evaluate fine-tuning jobs on hosted LLM providers."""
    ctx.ensure_object(dict)
    ctx.obj.update(quiet=quiet, verbose=verbose, debug=debug)


def root_options(ctx: click.Context) -> dict[str, Any]:
    """The root group's options, for commands that need them."""
    root = ctx.find_root()
    return dict(root.obj or {})
