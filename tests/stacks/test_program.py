"""The stack program under Pulumi mocks, and the project and stack files it reads.

The mocks, the program runner and the config factories are fixtures of conftest.py; they are not
imported from it, since importing conftest a second time would set up a second mocks runtime.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from mocked_cloud import ACCOUNT_ID
from pulumi.automation import ProjectSettings

from app.settings import resource_names
from stacks.settings import StackConfigError, StackSettings, config_keys, parse_settings

REPO_ROOT = Path(__file__).resolve().parents[2]
STACKS = ("dev", "prod")

RunProgram = Callable[[Mapping[str, str]], Any]
ConfigOf = Callable[..., dict[str, str]]


# The program, run under mocks


def test_program_exports_resource_names_of_each_stack_file(
    stack: str, stack_config: dict[str, str], run_program: RunProgram
) -> None:
    expected = resource_names(stack, ACCOUNT_ID)

    run = run_program(stack_config)

    assert run.exports.get("names") == expected.model_dump(), (
        f"stack {stack}: exported names differ from app.settings.resource_names({stack!r})"
    )
    assert run.exports.get("environment") == stack, f"stack {stack}: wrong environment export"
    assert run.exports.get("region") == stack_config["aws:region"], (
        f"stack {stack}: region export is not the stack file's aws:region"
    )


def test_program_runs_of_two_stacks_do_not_leak_into_each_other(
    run_program: RunProgram, config_of: ConfigOf
) -> None:
    prod = run_program(config_of("prod"))
    dev = run_program(config_of("dev"))

    assert dev.exports["names"]["stream"] == "fds-dev-transactions", "dev run kept prod's names"
    assert prod.exports["names"]["stream"] == "fds-prod-transactions", "prod run lost its names"


@pytest.mark.parametrize("key", config_keys())
def test_program_missing_key_raises_error_naming_it(
    key: str, run_program: RunProgram, config_of: ConfigOf
) -> None:
    with pytest.raises(StackConfigError) as caught:
        run_program(config_of("dev", {key: None}))

    assert caught.value.keys == (key,), f"error blames {caught.value.keys}, not {key}"
    assert f"Pulumi config key {key}: is not set" in str(caught.value)
    assert "pulumi config set" in str(caught.value), "error does not say how to fix it"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("fds:environment", "staging"),
        ("aws:region", "Virginia"),
        ("fds:shardCount", "two"),
        ("fds:shardCount", "0"),
        ("fds:retentionHours", "12"),
        ("fds:nodeMinSize", "0"),
        ("fds:spotInstanceTypes", "m5.large"),
        ("fds:spotInstanceTypes", ["m5.large", "M5 Large"]),
        ("fds:alertEmails", ["not-an-address"]),
    ],
)
def test_program_invalid_value_raises_error_naming_key(
    key: str, value: object, run_program: RunProgram, config_of: ConfigOf
) -> None:
    with pytest.raises(StackConfigError) as caught:
        run_program(config_of("dev", {key: value}))

    assert caught.value.keys == (key,), f"{key}={value!r}: error blames {caught.value.keys}"
    assert f"Pulumi config key {key}" in str(caught.value)


def test_program_single_spot_instance_type_is_rejected(
    run_program: RunProgram, config_of: ConfigOf
) -> None:
    with pytest.raises(StackConfigError) as caught:
        run_program(config_of("dev", spotInstanceTypes=["m5.large"]))

    assert caught.value.keys == ("fds:spotInstanceTypes",)
    assert "at least 2 items" in str(caught.value)
    assert "pulumi config set --path 'fds:spotInstanceTypes[1]'" in str(caught.value), (
        "the fix should point at the next free slot of the list"
    )


# The settings model on its own


def test_settings_missing_key_message_tells_the_fix(config_of: ConfigOf) -> None:
    with pytest.raises(StackConfigError) as caught:
        parse_settings(config_of("dev", shardCount=None), stack="dev")

    assert str(caught.value) == (
        "stack dev has unusable config:\n"
        "Pulumi config key fds:shardCount: is not set; "
        "set it with `pulumi config set fds:shardCount 2 --stack dev`"
    )


def test_settings_every_problem_is_reported_at_once(config_of: ConfigOf) -> None:
    with pytest.raises(StackConfigError) as caught:
        parse_settings(config_of("dev", shardCount=None, retentionHours=9000), stack="dev")

    assert caught.value.keys == ("fds:shardCount", "fds:retentionHours")


def test_settings_duplicate_spot_instance_type_is_rejected(config_of: ConfigOf) -> None:
    config = config_of("dev", spotInstanceTypes=["m5.large", "m5.large"])

    with pytest.raises(StackConfigError) as caught:
        parse_settings(config, stack="dev")

    assert caught.value.keys == ("fds:spotInstanceTypes",)


def test_settings_node_sizes_out_of_order_are_rejected(config_of: ConfigOf) -> None:
    with pytest.raises(StackConfigError) as caught:
        parse_settings(config_of("dev", nodeMinSize=3, nodeDesiredSize=2), stack="dev")

    assert caught.value.keys == ("fds:nodeMinSize", "fds:nodeDesiredSize", "fds:nodeMaxSize")
    assert "got 3, 2, 3" in str(caught.value)


def test_settings_prod_without_alert_emails_is_rejected(config_of: ConfigOf) -> None:
    with pytest.raises(StackConfigError) as caught:
        parse_settings(config_of("prod", alertEmails=[]), stack="prod")

    assert caught.value.keys == ("fds:alertEmails",)


def test_settings_unknown_key_is_rejected(config_of: ConfigOf) -> None:
    with pytest.raises(StackConfigError) as caught:
        parse_settings({**config_of("dev"), "fds:shardcount": "2"}, stack="dev")

    assert caught.value.keys == ("fds:shardcount",)


def test_settings_stack_files_give_prod_at_least_dev_capacity(config_of: ConfigOf) -> None:
    dev = parse_settings(config_of("dev"), stack="dev")
    prod = parse_settings(config_of("prod"), stack="prod")

    for field in ("shard_count", "retention_hours", "node_min_size", "node_max_size"):
        assert getattr(prod, field) >= getattr(dev, field), f"prod has less {field} than dev"


# The project and stack files, against the loader and Pulumi's own rules


def load_project_file() -> dict[str, Any]:
    with (REPO_ROOT / "Pulumi.yaml").open(encoding="utf-8") as file:
        return yaml.safe_load(file)


def pulumi_type_of(annotation: Any) -> str:
    """The Pulumi.yaml config type that holds values of a settings field's annotation."""
    if typing.get_origin(annotation) is list:
        return "array"
    if annotation is bool:
        return "boolean"
    if annotation is int:
        return "integer"
    return "string"  # str, and the Literal of environments


def test_project_file_parses_with_pulumi_sdk() -> None:
    project = ProjectSettings.from_dict(load_project_file())

    assert project.name == "fds"
    assert not isinstance(project.runtime, str), "runtime should carry its options"
    assert project.runtime is not None and project.runtime.name == "python"
    assert project.runtime.options == {"toolchain": "pip", "virtualenv": ".venv"}
    assert project.main is not None
    assert (REPO_ROOT / project.main / "__main__.py").is_file(), "main has no __main__.py"


def test_project_file_declares_every_fds_key_the_loader_reads() -> None:
    declared = set(load_project_file()["config"])

    assert declared == {key for key in config_keys() if key.startswith("fds:")}


def test_project_file_config_follows_pulumi_rules() -> None:
    # The checks `pulumi` makes when it loads Pulumi.yaml (Project.Validate in the Go SDK), plus
    # the types the loader expects.
    fields = {field.alias: field for field in StackSettings.model_fields.values()}

    for key, spec in load_project_file()["config"].items():
        assert not {"default", "value"} <= set(spec), f"{key}: both default and value"
        if not key.startswith("fds:"):
            assert "type" not in spec and "default" not in spec, f"{key}: typed, not ours"
            assert "value" in spec, f"{key}: another namespace's key needs a value"
            continue
        assert spec.get("description"), f"{key}: no description"
        assert spec["type"] == pulumi_type_of(fields[key].annotation), (
            f"{key}: declared {spec['type']}, the loader reads {fields[key].annotation}"
        )
        if spec["type"] == "array":
            assert spec.get("items", {}).get("type") == "string", f"{key}: array without items"


@pytest.mark.parametrize("stack", STACKS)
def test_stack_file_sets_exactly_the_keys_the_loader_reads(
    stack: str, stack_file: Callable[[str], dict[str, Any]]
) -> None:
    config = stack_file(stack)["config"]

    assert set(config) == set(config_keys()), f"Pulumi.{stack}.yaml and the loader disagree"
    assert config["fds:environment"] == stack, f"Pulumi.{stack}.yaml names another environment"


@pytest.mark.parametrize("stack", STACKS)
def test_stack_file_values_have_the_declared_types(
    stack: str, stack_file: Callable[[str], dict[str, Any]]
) -> None:
    declared = load_project_file()["config"]
    python_types: dict[str, type] = {
        "string": str,
        "integer": int,
        "boolean": bool,
        "array": list,
    }

    for key, value in stack_file(stack)["config"].items():
        if key not in declared:
            continue
        expected = python_types[declared[key]["type"]]
        assert isinstance(value, expected), f"Pulumi.{stack}.yaml {key}: not {expected.__name__}"
        if isinstance(value, list):
            assert all(isinstance(item, str) for item in value), f"{key}: not all strings"
