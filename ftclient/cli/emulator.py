"""``ftclient emulator``: run the local provider emulator in the foreground."""

from __future__ import annotations

import click

from ftclient.cli.common import get_output, json_option

DEFAULT_PORT = 8765


@click.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (loopback only, unless --allow-remote).",
)
@click.option(
    "--port",
    default=DEFAULT_PORT,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on; 0 picks a free one.",
)
@click.option(
    "--speed",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Clock speed: 100 makes a ten-minute fine-tuning job take six seconds.",
)
@click.option(
    "--rpm",
    default=None,
    type=click.IntRange(min=1),
    help="Requests per minute per model for chat completions (default: unlimited).",
)
@click.option(
    "--tpm",
    default=None,
    type=click.IntRange(min=1),
    help="Tokens per minute per model for chat completions (default: unlimited).",
)
@click.option(
    "--burst-s",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Window the limits are enforced over: 1 = a 600 RPM limit admits 10 requests per second; "
    "60 = a whole minute's worth at once.",
)
@click.option(
    "--latency-ms",
    default=0.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Latency added to every API response.",
)
@click.option(
    "--fail-rate",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="Fraction of API requests answered with a 500.",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Seed for ids, failures and job metrics.")
@click.option(
    "--state-dir",
    default=None,
    type=click.Path(file_okay=False, path_type=str),
    help="Keep files, jobs and models in this folder across restarts.",
)
@click.option(
    "--provider",
    type=click.Choice(["openai", "together", "fireworks", "azure", "bedrock", "vertex"]),
    default="openai",
    show_default=True,
    help="Which provider's API to speak (paths, shapes, statuses, errors).",
)
@click.option(
    "--batch-queue-tokens",
    default=None,
    type=click.IntRange(min=1),
    help="Prompt tokens a model may have waiting in batches at once (OpenAI's enqueued-token limit; "
    "default: unlimited).",
)
@click.option(
    "--start",
    "start",
    default=None,
    metavar="DATE",
    help="Emulated date to start at (YYYY-MM-DD, ISO time or Unix seconds), e.g. after a model's shutdown "
    "date; POST /_emulator/clock {\"to\": DATE} moves it later.",
)
@click.option("--allow-remote", is_flag=True, help="Allow a non-loopback --host (anyone who can reach it can use it).")
@json_option
@click.pass_context
def emulator(
    ctx: click.Context,
    *,
    host: str,
    port: int,
    speed: float,
    rpm: int | None,
    tpm: int | None,
    burst_s: float,
    latency_ms: float,
    fail_rate: float,
    seed: int,
    state_dir: str | None,
    allow_remote: bool,
    provider: str,
    start: str | None,
    batch_queue_tokens: int | None,
    json_mode: bool,
) -> None:
    """Serve an emulated OpenAI API on loopback until Ctrl-C.

    It speaks the OpenAI paths ftclient uses (files, uploads, fine-tuning jobs, chat completions,
    moderations, batches, models). Jobs move through the real statuses on an emulated clock; the
    tuned model answers by nearest neighbour over its training examples and base models with a simple
    baseline. Nothing it says comes from a real model. Statistics: GET /_emulator/stats; faults:
    POST /_emulator/faults.

    \b
    Examples:
      ftclient emulator --speed 100
      ftclient emulator --port 0 --rpm 600 --tpm 60000
      ftclient emulator --state-dir ./emulator-state --seed 7
      ftclient emulator --provider together --port 8766 --speed 100
      ftclient emulator --provider fireworks --port 8767 --speed 100
      ftclient emulator --provider bedrock --port 8768 --speed 100
      ftclient emulator --provider vertex --port 8769 --speed 100
      OPENAI_BASE_URL=http://127.0.0.1:8765/v1 OPENAI_API_KEY=sk-local ftclient launch
    """
    from ftclient.emulator import BANNER, Emulator, EmulatorConfig
    from ftclient.errors import UserInputError

    out = get_output(ctx, json_mode)
    try:
        config = EmulatorConfig(
            speed=speed,
            rpm=rpm,
            tpm=tpm,
            latency_ms=latency_ms,
            fail_rate=fail_rate,
            seed=seed,
            state_dir=state_dir,
            host=host,
            port=port,
            burst_s=burst_s,
            allow_remote=allow_remote,
            provider=provider,
            start=start,
            batch_queue_tokens=batch_queue_tokens,
        )
    except ValueError as exc:
        raise UserInputError(
            str(exc),
            hint="use --host 127.0.0.1, or add --allow-remote on a trusted network" if "loopback" in str(exc) else None,
        ) from None
    try:
        running = Emulator(config)
    except OSError as exc:
        raise UserInputError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="pick another --port, or --port 0 for a free one",
        ) from None
    out.info(BANNER)
    out.info(f"Listening on {running.url} (speed x{speed:g}, rpm {rpm or 'unlimited'}, tpm {tpm or 'unlimited'})")
    if provider == "together":
        out.info(f"Point clients at it:  export TOGETHER_BASE_URL={running.base_url} TOGETHER_API_KEY=emulator")
    elif provider == "azure":
        out.info(
            f"Point clients at it:  export AZURE_OPENAI_ENDPOINT={running.url} AZURE_OPENAI_API_KEY=emulator "
            f"OPENAI_API_VERSION=2024-10-21 AZURE_MANAGEMENT_URL={running.url} AZURE_SUBSCRIPTION_ID=sub "
            "AZURE_RESOURCE_GROUP=rg AZURE_OPENAI_ACCOUNT=acct AZURE_MANAGEMENT_TOKEN=emulator"
        )
    elif provider == "fireworks":
        out.info(
            f"Point clients at it:  export FIREWORKS_BASE_URL={running.url} FIREWORKS_API_KEY=emulator "
            "FIREWORKS_ACCOUNT_ID=my-account"
        )
    elif provider == "bedrock":
        out.info(
            f"Point clients at it:  export AWS_ENDPOINT_URL={running.url} AWS_ACCESS_KEY_ID=emulator "
            "AWS_SECRET_ACCESS_KEY=emulator AWS_REGION=us-east-1 FTCLIENT_BEDROCK_BUCKET=my-bucket "
            "FTCLIENT_BEDROCK_ROLE_ARN=arn:aws:iam::123456789012:role/ftclient"
        )
    elif provider == "vertex":
        out.info(
            f"Point clients at it:  export FTCLIENT_VERTEX_ENDPOINT={running.url} GOOGLE_CLOUD_PROJECT=my-project "
            "GOOGLE_CLOUD_LOCATION=us-central1 FTCLIENT_VERTEX_BUCKET=my-bucket"
        )
    else:
        out.info(f"Point clients at it:  export OPENAI_BASE_URL={running.base_url} OPENAI_API_KEY=sk-emulator")
    out.info("Stop with Ctrl-C.")
    out.report({"url": running.url, "base_url": running.base_url, "emulator": True, "banner": BANNER})
    out.line(running.base_url)
    import signal

    def stop_on_sigterm(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # `kill` stops it as cleanly as Ctrl-C does

    signal.signal(signal.SIGTERM, stop_on_sigterm)
    try:
        running.serve_forever()  # returns on Ctrl-C or SIGTERM
    except KeyboardInterrupt:  # one that lands before the loop runs
        pass
    finally:
        running.stop()
    out.info("Emulator stopped.")
