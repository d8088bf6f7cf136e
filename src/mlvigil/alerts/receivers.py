"""The ``alerting.receivers`` section: where notifications go, and the actions to take.

::

    receivers:
      risk-team: {slack: {env: SLACK_WEBHOOK_URL}}
      retrain:                  # trigger a job; the body is a template
        http_action:
          url: {env: AIRFLOW_DAG_RUNS_URL}
          headers: {Authorization: {env: AIRFLOW_AUTHORIZATION}}
          body: {dag_run_id: "{key}", conf: {model: "{labels.model}"}}
          already_done: [409]
      rollback:                 # run a program, the alerts as JSON on its stdin
        command: {argv: [scripts/rollback.sh, --to, stable], timeout: 2m}

Each receiver names one integration; secrets come from a value, an environment
variable or a file, resolved at start-up so a missing one stops the service there.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from mlvigil.alerts.actions import COMMAND_TIMEOUT, CommandNotifier, HttpActionNotifier
from mlvigil.alerts.notifiers import (
    CONNECT_TIMEOUT,
    READ_TIMEOUT,
    AlertmanagerNotifier,
    EmailNotifier,
    Notifier,
    PagerDutyNotifier,
    SlackNotifier,
    Timeouts,
    WebhookNotifier,
)
from mlvigil.alerts.templates import check_template
from mlvigil.checks.quality.freshness import parse_duration
from mlvigil.exceptions import ConfigError

__all__ = ["ReceiverModel", "SecretModel", "build_notifiers"]

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class SecretModel(_Strict):
    """A secret given by environment variable or file (or, for non-secrets, literally)."""

    value: str | None = None
    env: str | None = None
    file: str | None = None

    def resolve(self, where: str) -> str:
        """The secret's value; ConfigError naming ``where`` when it cannot be read."""
        if self.env is not None:
            value = os.environ.get(self.env)
            if not value:
                raise ConfigError(f"{where}: environment variable {self.env} is not set")
            return value
        if self.file is not None:
            try:
                return Path(self.file).read_text().strip()
            except OSError as error:
                raise ConfigError(f"{where}: cannot read {self.file}: {error.strerror}") from None
        if self.value is None:
            raise ConfigError(f"{where}: give one of value, env or file")
        return self.value


def _secret(value: Any) -> Any:
    """``url: http://...`` is shorthand for ``url: {value: http://...}``."""
    return {"value": value} if isinstance(value, str) else value


Secret = Annotated[SecretModel, BeforeValidator(_secret)]


def _listed(value: Any) -> Any:
    """``to: a@example.com`` is shorthand for a list of one."""
    return [value] if isinstance(value, str) else value


class EmailModel(_Strict):
    """An SMTP e-mail receiver."""

    to: Annotated[list[str], BeforeValidator(_listed)] = Field(min_length=1)
    from_: str = Field(alias="from", min_length=3)
    smarthost: str = Field(pattern=r"^[^:\s]+:\d+$", description="host:port")
    username: str | None = None
    password: Secret | None = None
    require_tls: bool = True


class HttpActionModel(_Strict):
    """An HTTP request that triggers a job, its URL and body templated from the alerts.

    ``already_done`` lists answers that mean the job exists already (Airflow answers
    409 to a run id it has), so a retried trigger is delivered, not an error.
    """

    url: Secret
    method: Literal["POST", "PUT", "PATCH"] = "POST"
    headers: dict[str, Secret] = Field(default_factory=dict)
    body: Any = None
    already_done: list[Annotated[int, Field(ge=300, le=599)]] = Field(default_factory=list)


class CommandModel(_Strict):
    """A program run with the alerts as JSON on stdin; relative paths are the config's."""

    argv: list[str] = Field(min_length=1)
    timeout: Duration = timedelta(seconds=COMMAND_TIMEOUT)
    env: dict[str, Secret] = Field(default_factory=dict)


class ReceiverModel(_Strict):
    """One receiver: one integration, whether it hears resolutions, its attempts' bounds.

    ``connect_timeout`` and ``read_timeout`` bound one delivery attempt: to connect, and
    to get the answer (5 s and 10 s by default).
    """

    webhook: Secret | None = None
    slack: Secret | None = None
    pagerduty: Secret | None = None
    alertmanager: Secret | None = None
    email: EmailModel | None = None
    http_action: HttpActionModel | None = None
    command: CommandModel | None = None
    send_resolved: bool | None = None
    """Whether resolutions are sent too; by default yes, except to actions (which act
    on what fires)."""
    connect_timeout: Duration = timedelta(seconds=CONNECT_TIMEOUT)
    read_timeout: Duration = timedelta(seconds=READ_TIMEOUT)

    @property
    def hears_resolved(self) -> bool:
        """Whether resolutions are sent to this receiver."""
        if self.send_resolved is not None:
            return self.send_resolved
        return self.http_action is None and self.command is None


_NOTIFIERS: dict[str, Callable[[str, Timeouts], Notifier]] = {
    "webhook": WebhookNotifier,
    "slack": SlackNotifier,
    "pagerduty": lambda key, timeouts: PagerDutyNotifier(key, timeouts=timeouts),
    "alertmanager": AlertmanagerNotifier,
}
_KINDS = ", ".join([*_NOTIFIERS, "email", "http_action", "command"])


def build_notifiers(
    receivers: Mapping[str, ReceiverModel], base: Path | None = None
) -> dict[str, Notifier]:
    """One notifier per receiver, secrets resolved now (so a missing one fails at start).

    Relative paths of commands resolve against ``base`` (the configuration's folder),
    which is also where commands run.

    Raises
    ------
    ConfigError
        For a receiver with no integration or two, a secret that cannot be read, a
        template naming what no notification has, or a program that is not there.
    """
    notifiers: dict[str, Notifier] = {}
    for name, receiver in receivers.items():
        given = receiver.model_dump(
            exclude_none=True, exclude={"send_resolved", "connect_timeout", "read_timeout"}
        )
        if len(given) != 1:
            raise ConfigError(f"alerting.receivers.{name}: give exactly one of {_KINDS}")
        kind = next(iter(given))
        where = f"alerting.receivers.{name}.{kind}"
        timeouts = Timeouts(
            receiver.connect_timeout.total_seconds(), receiver.read_timeout.total_seconds()
        )
        if receiver.email is not None:
            email = receiver.email
            notifiers[name] = EmailNotifier(
                tuple(email.to),
                email.from_,
                email.smarthost,
                email.username,
                email.password.resolve(f"{where}.password") if email.password else None,
                email.require_tls,
                timeouts.read,
            )
            continue
        if receiver.http_action is not None:
            notifiers[name] = _http_action(receiver.http_action, timeouts, where)
            continue
        if receiver.command is not None:
            notifiers[name] = _command(receiver.command, base, where)
            continue
        secret: SecretModel = getattr(receiver, kind)
        notifiers[name] = _NOTIFIERS[kind](secret.resolve(where), timeouts)
    return notifiers


def _http_action(spec: HttpActionModel, timeouts: Timeouts, where: str) -> HttpActionNotifier:
    url = spec.url.resolve(f"{where}.url")
    check_template(url, f"{where}.url", structured=False)
    check_template(spec.body, f"{where}.body")
    return HttpActionNotifier(
        url,
        spec.body,
        spec.method,
        {k: v.resolve(f"{where}.headers.{k}") for k, v in spec.headers.items()},
        tuple(spec.already_done),
        timeouts,
    )


def _command(spec: CommandModel, base: Path | None, where: str) -> CommandNotifier:
    program = spec.argv[0]
    if "/" in program:
        path = (base or Path.cwd()) / program
        found = str(path) if os.access(path, os.X_OK) and path.is_file() else None
    else:
        found = shutil.which(program)
    if found is None:
        raise ConfigError(
            f"{where}.argv: {program!r} is not an executable file"
            + ("" if "/" in program else " on PATH")
            + "; give its path (relative paths are the configuration's)"
        )
    return CommandNotifier(
        (found, *spec.argv[1:]),
        spec.timeout.total_seconds(),
        {k: v.resolve(f"{where}.env.{k}") for k, v in spec.env.items()},
        base,
    )
