"""``mlvigil alerts`` and ``mlvigil silence``: alerts of a running service, from a shell."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

from mlvigil.cli.errors import USER_ERROR

alerts_app = typer.Typer(help="Alerts of a running mlvigil service.", no_args_is_help=True)
silence_app = typer.Typer(help="Mute notifications for a while.", no_args_is_help=True)

Url = Annotated[
    str,
    typer.Option(
        "--url",
        envvar="MLVIGIL_URL",
        help="The service [env MLVIGIL_URL; default http://127.0.0.1:8000].",
    ),
]
DEFAULT_URL = "http://127.0.0.1:8000"
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="MLVIGIL_TOKEN",
        show_envvar=False,
        help="The service's token [env MLVIGIL_TOKEN; prefer it: a command line shows in ps]. "
        "Listing needs the read scope; adding or expiring a silence, the admin scope.",
    ),
]


def call_service(method: str, url: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
    """The service's JSON answer to one request; an error exits 2 with what to do."""
    import httpx

    headers = {"Authorization": f"Bearer {token.strip()}"} if token else {}
    try:
        response = httpx.request(
            method, url.rstrip("/") + path, timeout=10, headers=headers, **kwargs
        )
    except httpx.TransportError as error:
        typer.echo(f"error: cannot reach the service at {url}: {error}", err=True)
        raise typer.Exit(USER_ERROR) from None
    if response.status_code >= 400:
        detail = response.json().get("detail", response.text) if response.content else ""
        hint = " (pass --token or set MLVIGIL_TOKEN)" if response.status_code == 401 else ""
        typer.echo(f"error: {response.status_code}: {detail}{hint}", err=True)
        raise typer.Exit(USER_ERROR)
    return response.json()


def _labels(labels: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "alertname")


@alerts_app.command("list")
def list_alerts(url: Url = DEFAULT_URL, token: TokenOption = None) -> None:
    """Alerts pending or firing now."""
    alerts = call_service("GET", url, "/api/v1/alerts", token)["alerts"]
    rows = [
        [
            alert["labels"]["alertname"],
            alert["state"] + (" (silenced)" if alert.get("silenced") else ""),
            (alert.get("fired_at") or alert.get("active_since") or "")[:19],
            _labels(alert["labels"]),
            alert["annotations"].get("summary", ""),
        ]
        for alert in sorted(alerts, key=lambda a: (a["state"], a["labels"]["alertname"]))
    ]
    print_rows(["alert", "state", "since", "labels", "summary"], rows, "no alerts")


def print_rows(headers: list[str], rows: list[list[str]], empty: str) -> None:
    """A table on a terminal; tab-separated lines (for grep and awk) otherwise."""
    from rich.console import Console

    console = Console()
    if not rows:
        typer.echo(empty)
    elif console.is_terminal:
        from rich.table import Table

        table = Table(*headers)
        for row in rows:
            table.add_row(*row)
        console.print(table)
    else:
        typer.echo("\t".join(headers))
        for row in rows:
            typer.echo("\t".join(row))


def _matchers(values: list[str]) -> dict[str, str]:
    matchers = {}
    for value in values:
        label, sep, pattern = value.partition("=")
        if not sep or not label:
            typer.echo(f"error: matcher {value!r} must be LABEL=VALUE (or LABEL=~REGEX)", err=True)
            raise typer.Exit(USER_ERROR)
        matchers[label.strip()] = pattern.strip()
    return matchers


@silence_app.command("add")
def add(
    matcher: Annotated[
        list[str], typer.Option("--matcher", "-m", help="LABEL=VALUE or LABEL=~REGEX; repeat.")
    ],
    duration: Annotated[str, typer.Option(help="How long: 30m, 2h, 1d.")] = "2h",
    author: Annotated[str, typer.Option(help="Who silences.")] = os.environ.get("USER", ""),
    comment: Annotated[str, typer.Option(help="Why.")] = "",
    url: Url = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Mute notifications of matching alerts for DURATION; prints the silence id."""
    from mlvigil.checks.quality.freshness import parse_duration
    from mlvigil.exceptions import ConfigError

    try:
        seconds = parse_duration(duration).total_seconds()
    except ConfigError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(USER_ERROR) from None
    body = {
        "matchers": _matchers(matcher),
        "duration": seconds,
        "created_by": author,
        "comment": comment,
    }
    silence = call_service("POST", url, "/api/v1/silences", token, json=body)
    typer.echo(silence["id"])


@silence_app.command("list")
def list_silences(url: Url = DEFAULT_URL, token: TokenOption = None) -> None:
    """Silences and whether they are active."""
    silences = call_service("GET", url, "/api/v1/silences", token)["silences"]
    rows = [
        [
            silence["id"],
            "yes" if silence["active"] else "no",
            ", ".join(f"{k}={v}" for k, v in silence["matchers"].items()),
            silence["ends_at"][:19],
            silence["created_by"],
            silence["comment"],
        ]
        for silence in silences
    ]
    print_rows(["id", "active", "matchers", "ends", "by", "comment"], rows, "no silences")


@silence_app.command("expire")
def expire(
    silence_id: Annotated[str, typer.Argument(help="The silence's id.")],
    url: Url = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """End a silence now."""
    call_service("DELETE", url, f"/api/v1/silences/{silence_id}", token)
    typer.echo(f"expired {silence_id}")
