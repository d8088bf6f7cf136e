"""``mlvigil canary``: gate a deployment on a canary's verdict (0 pass, 1 fail, 3 undecided)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from mlvigil.cli.alerts import DEFAULT_URL, TokenOption, Url, call_service, print_rows


def canary(
    model: Annotated[str, typer.Option("--model", "-m", help="The model, as in mlvigil.yaml.")],
    baseline: Annotated[str, typer.Option(help="The version the canary is compared with.")],
    canary_version: Annotated[str, typer.Option("--canary", help="The canary version.")],
    since: Annotated[
        str | None,
        typer.Option(help="Start of the rows judged (ISO 8601); default: the last window."),
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="End of the rows judged (ISO 8601); default: now.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the service's answer.")] = False,
    url: Url = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Judge a canary version against its baseline by the model's guards.

    The service compares the two versions on their rows since --since (every guard of
    checks.versions.canary in mlvigil.yaml) and answers pass, fail or inconclusive.
    Exit code: 0 pass (promote), 1 fail (roll back), 3 inconclusive (wait and ask
    again), 2 a usage or connection error.
    """
    params = {"baseline": baseline, "candidate": canary_version}
    if since:
        params["start"] = since
    if until:
        params["end"] = until
    answer = call_service("GET", url, f"/api/v1/models/{model}/canary", token, params=params)
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
    else:
        rows = [
            [
                g["metric"],
                g["verdict"],
                "" if g["degradation"] is None else f"{g['degradation']:.4g}",
                f"{g['max_degradation']:g}",
                g["reason"],
            ]
            for g in answer["guards"]
        ]
        print_rows(["guard", "verdict", "degradation", "tolerated", "why"], rows, "no guards")
        typer.echo(
            f"canary {canary_version} against {baseline} ({answer['start'][:19]} to "
            f"{answer['end'][:19]}): {answer['verdict']}",
            err=True,
        )
    raise typer.Exit(int(answer["exit_code"]))
