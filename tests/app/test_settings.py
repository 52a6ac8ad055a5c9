"""Settings from ``FDS_*`` variables (``app.settings``)."""

from __future__ import annotations

import pytest

from app.errors import SettingsValueError
from app.settings import load_settings


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("FDS_METRICS_PORT", "abc", "a valid integer"),
        ("FDS_METRICS_PORT", "99999", "less than or equal to 65535"),
        ("FDS_SHARD_IDS", "notjson", "a JSON list"),
        ("FDS_SHARD_IDS", "[1]", "a valid string"),
        ("FDS_ENVIRONMENT", "bad name!", "'local', 'dev' or 'prod'"),
        ("FDS_REGION", "mars-1", "an AWS region such as us-east-1"),
        ("FDS_POLL_INTERVAL_SECONDS", "inf", "a finite number"),
        ("FDS_BLOCKLIST_REFRESH_SECONDS", "1e12", "less than or equal to 3600"),
        ("FDS_LEASE_SECONDS", "nan", "a finite number"),
        ("FDS_CONSUMER_ID", " ", "a name that is not empty"),
    ],
)
def test_load_settings_a_bad_variable_is_named_with_its_value_and_what_it_should_be(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    # Given one FDS_* variable with a value its setting cannot take
    monkeypatch.setenv(variable, value)

    # When the settings are loaded
    with pytest.raises(SettingsValueError) as raised:
        load_settings()

    # Then the project's error names the variable, its value and what is expected
    message = str(raised.value)
    assert f"{variable}={value!r}" in message, f"variable and value not named: {message}"
    assert expected in message, f"{expected!r} missing from: {message}"
    assert "Fix or unset" in message, f"the fix is not said: {message}"


def test_load_settings_every_bad_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given two bad variables
    monkeypatch.setenv("FDS_METRICS_PORT", "abc")
    monkeypatch.setenv("FDS_LOG_FORMAT", "xml")

    # When the settings are loaded
    with pytest.raises(SettingsValueError) as raised:
        load_settings()

    # Then both are named, so one run shows all there is to fix
    message = str(raised.value)
    assert "FDS_METRICS_PORT='abc'" in message, f"FDS_METRICS_PORT not named: {message}"
    assert "FDS_LOG_FORMAT='xml'" in message, f"FDS_LOG_FORMAT not named: {message}"


def test_load_settings_good_variables_and_overrides_are_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given valid variables
    monkeypatch.setenv("FDS_METRICS_PORT", "0")
    monkeypatch.setenv("FDS_SHARD_IDS", '["shardId-000000000001"]')

    # When the settings are loaded with an override
    settings = load_settings(environment="dev")

    # Then the variables and the override are both applied
    assert settings.metrics_port == 0, f"FDS_METRICS_PORT not read: {settings.metrics_port}"
    assert settings.shard_ids == ["shardId-000000000001"], f"shard ids: {settings.shard_ids}"
    assert settings.environment == "dev", f"override lost: {settings.environment}"


def test_load_settings_a_region_from_aws_region_is_checked_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given no FDS_REGION, and AWS_REGION naming no region
    monkeypatch.delenv("FDS_REGION", raising=False)
    monkeypatch.setenv("AWS_REGION", "mars-1")

    # When / Then the settings refuse it, saying where the region is read from
    with pytest.raises(SettingsValueError, match="else AWS_REGION or AWS_DEFAULT_REGION"):
        load_settings()
