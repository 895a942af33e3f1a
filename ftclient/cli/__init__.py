"""The command line: thin commands over the core, and the one place errors become exit codes.

Command modules are imported only when their command runs (``app.LazyGroup``), so ``ftclient --help``
never pays for the openai SDK, pydantic models or rich.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import click

from ftclient.cli.errors import EXIT_BUG, EXIT_INTERRUPTED, EXIT_OK, exit_code_for, local_file_error, render_error
from ftclient.errors import FtclientError


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: run the CLI and exit with the contract's exit code."""
    sys.exit(run(argv))


def run(argv: Sequence[str] | None = None) -> int:
    from ftclient.cli.app import cli

    args = list(sys.argv[1:] if argv is None else argv)
    json_mode = "--json" in args
    debug = "--debug" in args or bool(os.environ.get("FTCLIENT_DEBUG"))
    try:
        cli.main(args=args, prog_name="ftclient", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return int(exc.exit_code)
    except click.exceptions.Abort:
        sys.stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    except FtclientError as exc:
        if debug:
            _print_traceback()
        render_error(exc, json_mode=json_mode)
        return exit_code_for(exc)
    except BrokenPipeError:
        # `ftclient ... | head`: the reader left; nothing more to say.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:
        known = local_file_error(exc)
        if known is not None:
            if debug:
                _print_traceback()
            render_error(known, json_mode=json_mode)
            return exit_code_for(known)
        _print_traceback()
        sys.stderr.write(
            "\nThis is a bug in ftclient, not in your input. Please report it with the traceback above;"
            " FTCLIENT_DEBUG=1 shows more.\n"
        )
        return EXIT_BUG
    return EXIT_OK


def _print_traceback() -> None:
    """The current exception's traceback on stderr, with every credential in it masked (a key with a stray
    character shows up in HTTP protocol errors; a base URL may carry a password)."""
    import traceback

    from ftclient.providers.credentials import scrub_secrets

    sys.stderr.write(scrub_secrets(traceback.format_exc()))
