"""Templates of action receivers' requests: a JSON body or a URL filled from a notification.

A template is JSON (objects, lists, strings, numbers) whose strings may name values of
the notification in braces::

    {"dag_run_id": "{key}",
     "conf": {"model": "{labels.model}", "why": "{annotations.summary}",
              "alerts": "{alerts}"}}

Names: ``status`` (firing or resolved), ``receiver``, ``key`` (the idempotency key, the
same on every retry of one notification), ``group_key``, ``external_url``,
``alert_count``, ``labels.<name>`` and ``annotations.<name>`` (those every alert of the
group shares). ``{alerts}`` (the alerts in Alertmanager's form) and ``{payload}`` (the
whole Alertmanager webhook body) insert JSON, so they must be a string's only content.
``{{`` and ``}}`` are literal braces.

Values are inserted as data, never parsed: a label holding quotes or braces stays one
JSON string, and in a URL it is percent-encoded. A label the template names but the
group's alerts do not share fails the delivery with a message saying so, rather than
sending an empty value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from mlvigil.exceptions import ConfigError, InputError

__all__ = ["TemplateError", "check_template", "render_template", "render_url"]

_FIELD = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
#: Names whose value is JSON, inserted as is (a string's only content).
STRUCTURED = ("alerts", "payload")
#: Names whose value is text.
SCALARS = ("status", "receiver", "key", "group_key", "external_url", "alert_count")
_PREFIXES = ("labels.", "annotations.")


class TemplateError(InputError):
    """A template names a value the notification does not have."""


def _fields(text: str) -> list[str]:
    return [m.group(1) for m in _FIELD.finditer(text) if m.group(1) is not None]


def _unknown(name: str) -> bool:
    if name in SCALARS or name in STRUCTURED:
        return False
    prefix = next((p for p in _PREFIXES if name.startswith(p)), None)
    return prefix is None or not name[len(prefix) :]


def check_template(template: Any, where: str, *, structured: bool = True) -> None:
    """Refuse names a notification cannot fill, and braces that do not pair.

    Raises
    ------
    ConfigError
        Naming the field and the names that can be used.

    Examples
    --------
    >>> check_template({"run": "mlvigil-{key}", "alerts": "{alerts}"}, "body")
    >>> check_template({"model": "{label.model}"}, "body")
    Traceback (most recent call last):
    ...
    mlvigil.exceptions.ConfigError: body.model: unknown name {label.model}; use status, \
receiver, key, group_key, external_url, alert_count, labels.<name>, annotations.<name>, \
alerts, payload
    """
    if isinstance(template, Mapping):
        for key, value in template.items():
            check_template(value, f"{where}.{key}", structured=structured)
        return
    if isinstance(template, list):
        for index, value in enumerate(template):
            check_template(value, f"{where}[{index}]", structured=structured)
        return
    if not isinstance(template, str):
        return
    usable = ", ".join([*SCALARS, *(f"{p}<name>" for p in _PREFIXES), *STRUCTURED])
    leftover = _FIELD.sub("", template)
    if "{" in leftover or "}" in leftover:
        raise ConfigError(f"{where}: unpaired brace in {template!r}; write {{{{ or }}}}")
    for name in _fields(template):
        if _unknown(name):
            raise ConfigError(f"{where}: unknown name {{{name}}}; use {usable}")
        if name in STRUCTURED and (not structured or template != f"{{{name}}}"):
            place = "a URL" if not structured else "text"
            raise ConfigError(
                f"{where}: {{{name}}} is JSON and cannot be part of {place}; make it a "
                f'value of its own ("{{{name}}}")'
            )


def _filler(values: Mapping[str, Any], encode: Callable[[str], str]) -> Callable[[Any], str]:
    def fill(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        name = match.group(1)
        if name not in values:
            raise TemplateError(
                f"the template names {{{name}}}, which the group's alerts do not all have; "
                f"group by that label or route only alerts that carry it"
            )
        return encode(str(values[name]))

    return fill


def render_template(template: Any, values: Mapping[str, Any]) -> Any:
    """``template`` with every name replaced by its value in ``values``.

    Raises
    ------
    TemplateError
        When a name has no value (a label the group's alerts do not share).

    Examples
    --------
    >>> render_template({"run": "mlvigil-{key}", "n": ["{alert_count}"], "a": "{alerts}"},
    ...                 {"key": "k1", "alert_count": 2, "alerts": [{"x": 1}]})
    {'run': 'mlvigil-k1', 'n': ['2'], 'a': [{'x': 1}]}
    """
    if isinstance(template, Mapping):
        return {key: render_template(value, values) for key, value in template.items()}
    if isinstance(template, list):
        return [render_template(value, values) for value in template]
    if not isinstance(template, str):
        return template
    whole = template[1:-1] if template.startswith("{") and template.endswith("}") else None
    if whole in STRUCTURED:
        return values[whole]
    return _FIELD.sub(_filler(values, lambda text: text), template)


def render_url(template: str, values: Mapping[str, Any]) -> str:
    """``template`` with every name replaced by its percent-encoded value.

    Examples
    --------
    >>> render_url("http://airflow/api/v1/dags/retrain_{labels.model}/dagRuns",
    ...            {"labels.model": "credit/risk"})
    'http://airflow/api/v1/dags/retrain_credit%2Frisk/dagRuns'
    """
    return _FIELD.sub(_filler(values, lambda text: quote(text, safe="")), template)
