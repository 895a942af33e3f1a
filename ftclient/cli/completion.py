"""``ftclient completion SHELL``: print the completion script click generates for ftclient."""

from __future__ import annotations

import click

from ftclient.cli.errors import EXIT_OK


@click.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the shell completion script for SHELL.

    \b
    Examples:
      eval "$(ftclient completion bash)"        # in ~/.bashrc
      ftclient completion fish > ~/.config/fish/completions/ftclient.fish
    """
    from click.shell_completion import get_completion_class

    from ftclient.cli.app import cli

    cls = get_completion_class(shell)
    if cls is None:  # pragma: no cover - click always knows these three
        raise click.UsageError(f"no completion for {shell}")
    script = cls(cli, {}, "ftclient", "_FTCLIENT_COMPLETE").source()
    click.echo(script)
    ctx.exit(EXIT_OK)
