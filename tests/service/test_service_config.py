"""mlvigil.yaml: validated on start with messages that point at the bad key."""

from __future__ import annotations

import pytest
import yaml
from service_data import CONFIG

from mlvigil.exceptions import ConfigError
from mlvigil.service.config import parse_service_config


def config_with(**changes: object) -> dict:
    data = yaml.safe_load(CONFIG)
    model = data["models"]["credit"]
    for dotted, value in changes.items():
        *path, last = dotted.split("__")
        target = model
        for key in path:
            target = target[key]
        target[last] = value
    return data


def test_the_example_configuration_resolves_paths_and_types(tmp_path, monkeypatch):
    monkeypatch.delenv("MLVIGIL_STORE", raising=False)
    config = parse_service_config(yaml.safe_load(CONFIG), base_dir=tmp_path)
    credit = config.models["credit"]
    assert config.store == tmp_path / "store/mlvigil.duckdb"
    assert credit.reference_path == tmp_path / "reference.parquet"
    assert credit.window.total_seconds() == 3600
    assert credit.column_types["region"] == "categorical"
    assert credit.performance is not None
    assert credit.performance.baseline == {"accuracy": 0.9}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"windw": "1h"}, "models.credit.windw: unknown key; did you mean 'window'?"),
        ({"window": "soon"}, "models.credit.window: cannot read 'soon' as a duration"),
        ({"schema__features": {}}, "models.credit.schema.features"),
        ({"reference": {"path": "a.csv", "first_windows": 2}}, "exactly one of path"),
        ({"checks__performance__metrics": ["accuracy", "mae"]}, "unknown classification metric"),
        ({"checks__quality": {"completeness": {"colums": {}}}}, "did you mean 'columns'"),
        ({"schema__features": {"label": "numerical"}}, "used for two roles: ['label']"),
    ],
)
def test_bad_settings_name_the_key_and_what_to_do(changes, message):
    with pytest.raises(ConfigError) as error:
        parse_service_config(config_with(**changes), source="mlvigil.yaml")
    assert message in str(error.value)
    assert str(error.value).startswith("mlvigil.yaml")


def test_environment_overrides_store_host_and_port(tmp_path, monkeypatch):
    monkeypatch.setenv("MLVIGIL_STORE", "/var/lib/mlvigil/db.duckdb")
    monkeypatch.setenv("MLVIGIL_HOST", "0.0.0.0")
    monkeypatch.setenv("MLVIGIL_PORT", "9000")
    config = parse_service_config(yaml.safe_load(CONFIG), base_dir=tmp_path)
    assert (str(config.store), config.host, config.port) == (
        "/var/lib/mlvigil/db.duckdb",
        "0.0.0.0",
        9000,
    )
    monkeypatch.setenv("MLVIGIL_PORT", "http")
    with pytest.raises(ConfigError, match="MLVIGIL_PORT='http' is not a port number"):
        parse_service_config(yaml.safe_load(CONFIG), base_dir=tmp_path)


def test_tokens_read_their_secrets_from_the_environment_files_or_the_file_itself(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("SDK_TOKEN", "s" * 20)
    (tmp_path / "oncall.token").write_text("o" * 24 + "\n")
    data = yaml.safe_load(CONFIG) | {
        "security": {
            "tokens": [
                {"name": "sdk", "scopes": ["ingest"], "token_env": "SDK_TOKEN"},
                {"name": "on-call", "scopes": ["read", "admin"], "token_file": "oncall.token"},
                {"name": "ci", "scopes": ["read"], "token": "c" * 16},
            ],
            "trusted_hosts": ["mlvigil.internal"],
        }
    }
    security = parse_service_config(data, base_dir=tmp_path).security
    assert [(t.name, t.secret, sorted(t.scopes)) for t in security.tokens] == [
        ("sdk", "s" * 20, ["ingest"]),
        ("on-call", "o" * 24, ["admin", "read"]),
        ("ci", "c" * 16, ["read"]),
    ]
    assert security.trusted_hosts == ("mlvigil.internal",)
    assert parse_service_config(yaml.safe_load(CONFIG)).security.trusted_hosts == (
        "localhost",
        "127.0.0.1",
        "::1",
    )


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ({"token_env": "MLVIGIL_NO_SUCH_VARIABLE"}, "MLVIGIL_NO_SUCH_VARIABLE is unset or empty"),
        ({"token_file": "missing.token"}, "cannot read token_file"),
        ({"token": "short"}, "at least 16 characters"),
        ({"token": "x" * 16, "token_env": "X"}, "exactly one of token, token_env or token_file"),
    ],
)
def test_a_token_without_a_usable_secret_is_refused_naming_it(tmp_path, token, message):
    data = yaml.safe_load(CONFIG) | {
        "security": {"tokens": [{"name": "sdk", "scopes": ["ingest"], **token}]}
    }
    with pytest.raises(ConfigError) as error:
        parse_service_config(data, source="mlvigil.yaml", base_dir=tmp_path)
    assert message in str(error.value)
    assert str(error.value).startswith("mlvigil.yaml")
