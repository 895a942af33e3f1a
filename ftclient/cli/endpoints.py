"""``ftclient deploy JOB_ID`` and ``ftclient endpoints list|stop|delete``: dedicated endpoints, which bill by
the minute while they run, for providers whose tuned models answer only once deployed (Together)."""

from __future__ import annotations

from contextlib import closing
from typing import TYPE_CHECKING, Any

import click

from ftclient.cli.common import get_output, inactive_timeout_option, json_option

if TYPE_CHECKING:
    from rich.console import Console

    from ftclient.cli.output import Output
    from ftclient.providers.base import Endpoint, Provider
    from ftclient.registry import Registry
    from ftclient.registry.records import EndpointRecord


def _money(value: float | None) -> str:
    return "unknown" if value is None else f"${value:,.2f}"


def _open(provider: str | None) -> tuple[Any, Registry, str]:
    from ftclient.config import resolve
    from ftclient.registry import Registry

    settings = resolve({"provider": provider} if provider else {})
    return settings, Registry(settings.registry_path), provider or "together"


def warn_running(out: Output, registry: Registry, provider: Provider | None, *, exclude: str | None = None) -> None:
    """Warn about endpoints ftclient started that still run (and bill), except ``exclude``."""
    from ftclient.deploy import running_endpoints

    try:
        running = [r for r in running_endpoints(registry, provider=provider) if r.endpoint_id != exclude]
    except Exception:  # a warning must never sink the command it decorates
        return
    if not running:
        return
    out.warn(f"{len(running)} endpoint(s) ftclient started are still running and billing:")
    for record in running:
        kept = " (kept on purpose)" if record.keep else ""
        out.warn(
            f"  {record.endpoint_id} {record.name or record.model} {record.state}, "
            f"{_money(record.cost_per_hour_usd)}/h{kept}; stop: ftclient endpoints stop {record.endpoint_id}"
        )


@click.command("deploy")
@click.argument("job_id", metavar="JOB_ID")
@click.option("--provider", default=None, help="Provider (default: the job's, else together).")
@click.option(
    "--hardware",
    default=None,
    help="Hardware id (default: the cheapest available for the model); on Azure the sku: Standard, GlobalStandard "
    "or Developer (default Developer where it serves the model: no hosting fee); on Bedrock on-demand or "
    "provisioned (default on-demand where the base allows it; provisioned throughput bills by the hour and has "
    "no inactivity timeout: stop it with `ftclient endpoints stop`).",
)
@inactive_timeout_option
@click.option("--timeout", type=float, default=1800.0, show_default=True, help="Seconds to wait for STARTED.")
@json_option
@click.pass_context
def deploy(  # noqa: PLR0917 - click passes options positionally
    ctx: click.Context,
    job_id: str,
    provider: str | None,
    hardware: str | None,
    inactive_timeout: int,
    timeout: float,
    json_mode: bool,
) -> None:
    """Deploy a job's tuned model on a dedicated endpoint and wait until it is started.

    Prints the endpoint's name (what requests use as the model) and its cost per hour. The endpoint keeps
    running, and billing, until `ftclient endpoints stop`, or until the inactivity timeout passes with no
    requests. `ftclient evaluate` deploys and stops endpoints on its own.

    \b
    Examples:
      ftclient deploy ft-3b1c9f0e-0000-4000-8000-000000000000
      ftclient deploy ft-3b1c... --hardware 1x_nvidia_h100_80gb_sxm --inactive-timeout 15
      ftclient deploy ft-3b1c... --json | jq -r .name
    """
    from ftclient.deploy import deploy as deploy_model
    from ftclient.evaluate.jobs import provider_for_job
    from ftclient.providers import get_provider

    out = get_output(ctx, json_mode)
    settings, registry, _ = _open(provider)
    with registry, closing(get_provider(provider_for_job(job_id, provider, settings, registry), settings)) as client:

        def on_state(endpoint: Endpoint) -> None:
            out.info(f"endpoint {endpoint.id}: {endpoint.state}")

        def on_quote(sku: str, hourly: float | None) -> None:
            out.info(f"deploying on {sku}: {_money(hourly)}/hour hosting, billed until it is deleted")

        try:
            deployment = deploy_model(
                job_id,
                provider=client,
                registry=registry,
                hardware=hardware,
                inactive_timeout_min=inactive_timeout,
                keep=True,
                timeout_s=timeout,
                poll_s=settings.poll_interval_s,
                on_state=on_state,
                on_quote=on_quote,
            )
        except KeyboardInterrupt:
            from ftclient.errors import Interrupted

            raise Interrupted(
                "interrupted while the endpoint was starting; it was stopped",
                hint=f"run `ftclient deploy {job_id}` again when ready",
            ) from None
        data = deployment.to_dict()

        def render(console: Console) -> None:
            idle = data["inactive_timeout_min"]
            console.print(
                f"[bold green]STARTED[/] {data['name']} on {data['hardware']}, "
                f"{_money(data['cost_per_hour_usd'])}/hour"
                + (f", stops after {idle} idle minutes" if idle else ", no inactivity stop reported"),
                highlight=False,
            )
            console.print(f"stop it: ftclient endpoints stop {data['endpoint_id']}", highlight=False)

        out.result(data, render)
        warn_running(out, registry, client, exclude=deployment.endpoint.id)


@click.group("endpoints")
def endpoints() -> None:
    """Dedicated endpoints ftclient started: list them, stop them, delete them.

    \b
    Examples:
      ftclient endpoints list
      ftclient endpoints list --all --json
      ftclient endpoints stop endpoint-1a2b...
      ftclient endpoints delete endpoint-1a2b...
    """


def _row(record: EndpointRecord) -> dict[str, Any]:
    from ftclient.deploy import endpoint_billing

    minutes, cost = endpoint_billing(record)
    return {
        "endpoint_id": record.endpoint_id,
        "provider": record.provider,
        "name": record.name,
        "model": record.model,
        "job_id": record.job_id,
        "state": record.state,
        "hardware": record.hardware,
        "cost_per_hour_usd": record.cost_per_hour_usd,
        "inactive_timeout_min": record.inactive_timeout_min,
        "kept": record.keep,
        "billed_minutes": minutes,
        "cost_so_far_usd": cost,
    }


@endpoints.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include stopped and deleted endpoints.")
@click.option("--provider", default=None, help="Provider to ask for current states (default: together).")
@json_option
@click.pass_context
def list_endpoints(ctx: click.Context, show_all: bool, provider: str | None, json_mode: bool) -> None:
    """Endpoints ftclient started; running ones first, with their price and cost so far.

    \b
    Examples:
      ftclient endpoints list
      ftclient endpoints list --all
    """
    from ftclient.deploy import running_endpoints
    from ftclient.errors import FtclientError
    from ftclient.providers import get_provider

    out = get_output(ctx, json_mode)
    settings, registry, name = _open(provider)
    with registry:
        client = get_provider(name, settings)
        try:
            running_endpoints(registry, provider=client)
        except FtclientError as exc:
            out.warn(f"could not refresh states from {name}: {exc.message}")
        finally:
            client.close()
        records = registry.list_endpoints() if show_all else registry.list_endpoints(running_only=True)
        rows = [_row(r) for r in records]

    def render(console: Console) -> None:
        from rich.table import Table

        if not rows:
            console.print("no running endpoints started by ftclient" + ("" if show_all else " (--all shows every one)"))
            return
        table = Table(title="endpoints", title_justify="left")
        for column in ("endpoint", "model", "state", "hardware", "$/hour", "cost so far", "idle stop"):
            # Ids are copied from here: on a narrow terminal they fold onto a second line, never cut.
            table.add_column(column, overflow="fold", no_wrap=column not in {"endpoint", "model", "hardware"})
        for row in rows:
            table.add_row(
                row["endpoint_id"],
                row["name"] or row["model"],
                row["state"] + (" (kept)" if row["kept"] else ""),
                row["hardware"] or "",
                _money(row["cost_per_hour_usd"]),
                _money(row["cost_so_far_usd"]),
                f"{row['inactive_timeout_min']} min" if row["inactive_timeout_min"] else "not reported",
            )
        console.print(table)

    out.result({"endpoints": rows}, render)


def _change(ctx: click.Context, endpoint_id: str, provider: str | None, json_mode: bool, *, delete: bool) -> None:
    from ftclient.providers import get_provider

    out = get_output(ctx, json_mode)
    settings, registry, name = _open(provider)
    with registry:
        record = registry.get_endpoint(endpoint_id)
        client = get_provider(record.provider if record else name, settings)
        with closing(client):
            _stop_or_delete(out, registry, client, endpoint_id, delete=delete)


def _stop_or_delete(out: Output, registry: Registry, client: Provider, endpoint_id: str, *, delete: bool) -> None:
    from ftclient.deploy import teardown

    stopped = teardown(client, endpoint_id, registry=registry, delete=delete, missing_ok=False)
    state = "DELETED" if delete else (stopped.state if stopped else "DELETED")
    out.result(
        {"endpoint_id": endpoint_id, "state": state},
        lambda console: console.print(f"{endpoint_id}: {state}", highlight=False),
    )
    warn_running(out, registry, client, exclude=endpoint_id)


@endpoints.command("stop")
@click.argument("endpoint_id")
@click.option("--provider", default=None, help="Provider (default: the one that started it, else together).")
@json_option
@click.pass_context
def stop(ctx: click.Context, endpoint_id: str, provider: str | None, json_mode: bool) -> None:
    """Stop an endpoint (billing stops; it can be started again from the provider's console).

    \b
    Examples:
      ftclient endpoints stop endpoint-1a2b...
    """
    _change(ctx, endpoint_id, provider, json_mode, delete=False)


@endpoints.command("delete")
@click.argument("endpoint_id")
@click.option("--provider", default=None, help="Provider (default: the one that started it, else together).")
@json_option
@click.pass_context
def delete(ctx: click.Context, endpoint_id: str, provider: str | None, json_mode: bool) -> None:
    """Stop and delete an endpoint.

    \b
    Examples:
      ftclient endpoints delete endpoint-1a2b...
    """
    _change(ctx, endpoint_id, provider, json_mode, delete=True)
