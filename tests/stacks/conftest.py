"""The one Pulumi mocks set-up for every infrastructure test, and a way to run the real program.

``set_mocks`` is global to the process and must be in place before the program is imported, so
it runs here, when pytest loads this file, before any test module imports ``stacks``.
"""

from __future__ import annotations

import json
import os
import runpy
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from mocked_cloud import ACCOUNT_ID, KUBECONFIG, MOCK_ZONES, OIDC_ISSUER, OIDC_PROVIDER_ARN
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.settings import get_root_resource

REPO_ROOT = Path(__file__).resolve().parents[2]
PROGRAM_DIR = REPO_ROOT / "stacks"
BOOTSTRAP_DIR = REPO_ROOT / "bootstrap"
STACKS = ("dev", "prod")

#: The stack name the mocked runtime reports. One set-up serves every scenario, so the prod
#: config also runs under this name; only the fix-it commands in config errors show it.
MOCK_STACK = "dev"


@dataclass(frozen=True)
class ResourceOptionsRecord:
    """The options of a registration that the engine, not the provider, acts on."""

    parent: str
    protect: bool
    ignore_changes: tuple[str, ...]
    dependencies: tuple[str, ...]


@dataclass(frozen=True)
class RegisteredResource:
    """One resource the program registered, as the engine would have received it."""

    type: str
    name: str
    inputs: dict[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict)
    urn: str = ""
    options: ResourceOptionsRecord | None = None


def _arn(type_token: str, name: str, inputs: Mapping[str, Any]) -> str:
    """A plausible ARN for a mocked AWS resource, unique per type and name."""
    service = type_token.split(":")[1].split("/")[0]
    physical = inputs.get("name") or inputs.get("bucket") or name
    if service == "s3":
        return f"arn:aws:s3:::{physical}"
    kind = type_token.rsplit(":", 1)[-1].lower()
    return f"arn:aws:{service}:us-east-1:{ACCOUNT_ID}:{kind}/{physical}"


def mock_outputs(type_token: str, name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The state a resource would report: its inputs plus the outputs the program reads."""
    state = dict(inputs)
    if type_token == "eks:index:Cluster":
        state.update(
            kubeconfigJson=KUBECONFIG,
            oidcProviderArn=OIDC_PROVIDER_ARN,
            oidcIssuer=OIDC_ISSUER,
        )
    elif type_token.startswith("aws:"):
        state.setdefault("arn", _arn(type_token, name, inputs))
        state.setdefault("name", inputs.get("name") or name)
    if type_token == "aws:kms/key:Key":
        state["keyId"] = f"key-{name}"
    elif type_token == "aws:sqs/queue:Queue":
        state["url"] = f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT_ID}/{state['name']}"
    elif type_token == "aws:ecr/repository:Repository":
        state["repositoryUrl"] = f"{ACCOUNT_ID}.dkr.ecr.us-east-1.amazonaws.com/{state['name']}"
    elif type_token == "aws:s3/bucket:Bucket":
        state.setdefault("bucket", name)
    return state


@dataclass
class RecordingMocks(pulumi.runtime.Mocks):
    """Answers every resource and invoke like a tiny AWS, and records each one."""

    resources: list[RegisteredResource] = field(default_factory=list)
    invokes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    #: Set by the monitor just before it hands a registration to new_resource. Per thread: the
    #: runtime registers resources from a thread pool, several at once.
    pending: threading.local = field(default_factory=threading.local)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        outputs = mock_outputs(args.typ, args.name, args.inputs)
        urn, options = getattr(self.pending, "registration", None) or ("", None)
        self.resources.append(
            RegisteredResource(args.typ, args.name, dict(args.inputs), outputs, urn, options)
        )
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list[tuple[str, str]]]:
        self.invokes.append((args.token, dict(args.args)))
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT_ID,
                "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/deployer",
                "userId": "AIDAEXAMPLE",
                "id": ACCOUNT_ID,
            }, []
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            return {
                "names": list(MOCK_ZONES),
                "zoneIds": [f"use1-az{i}" for i in range(len(MOCK_ZONES))],
                "id": "us-east-1",
            }, []
        return {}, []


class RecordingMonitor(MockMonitor):
    """The stock mock monitor, which also keeps each registration's URN and options."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.recording = mocks

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        self.recording.pending.registration = (
            urn,
            ResourceOptionsRecord(
                parent=request.parent,
                protect=bool(request.protect),
                ignore_changes=tuple(request.ignoreChanges),
                dependencies=tuple(request.dependencies),
            ),
        )
        try:
            return super().RegisterResource(request)
        finally:
            self.recording.pending.registration = None


MOCKS = RecordingMocks()
pulumi.runtime.set_mocks(
    MOCKS, project="fds", stack=MOCK_STACK, preview=False, monitor=RecordingMonitor(MOCKS)
)


@dataclass(frozen=True)
class ProgramRun:
    """What one run of the program did: its resources, invokes and resolved stack outputs."""

    resources: list[RegisteredResource]
    invokes: list[tuple[str, dict[str, Any]]]
    exports: dict[str, Any]


def cli_config(values: Mapping[str, Any]) -> dict[str, str]:
    """Config values in the form the Pulumi CLI hands them to a program: text, objects as JSON."""
    as_text: dict[str, str] = {}
    for key, value in values.items():
        if isinstance(value, bool):
            as_text[key] = "true" if value else "false"
        elif isinstance(value, list | dict):
            as_text[key] = json.dumps(value)
        else:
            as_text[key] = str(value)
    return as_text


def load_stack_file(stack: str) -> dict[str, Any]:
    """The parsed Pulumi.<stack>.yaml of the repository."""
    with (REPO_ROOT / f"Pulumi.{stack}.yaml").open(encoding="utf-8") as file:
        return yaml.safe_load(file)


@pytest.fixture(params=STACKS)
def stack(request: pytest.FixtureRequest) -> str:
    """Each stack that has a settings file in the repository."""
    return str(request.param)


@pytest.fixture
def stack_config(stack: str) -> dict[str, str]:
    """The stack file's config, as the CLI would hand it to the program."""
    return cli_config(load_stack_file(stack)["config"])


@pytest.fixture
def config_of() -> Callable[..., dict[str, str]]:
    """Factory: a stack file's config in CLI form, with keys changed (``None`` removes one).

    Keys are given without the ``fds:`` prefix, or as ``{"aws:region": ...}`` in ``changes``.
    """

    def make(stack: str, changes: Mapping[str, Any] | None = None, **named: Any) -> dict[str, str]:
        config = dict(load_stack_file(stack)["config"])
        for name, value in {**(changes or {}), **named}.items():
            key = name if ":" in name else f"fds:{name}"
            if value is None:
                config.pop(key)
            else:
                config[key] = value
        return cli_config(config)

    return make


@pytest.fixture
def stack_file() -> Callable[[str], dict[str, Any]]:
    """Factory: the parsed Pulumi.<stack>.yaml."""
    return load_stack_file


def _execute(config: Mapping[str, str], program_dir: Path = PROGRAM_DIR) -> ProgramRun:
    """One run of a real entry point under the mocks; the caller has cleared PULUMI_CONFIG*."""
    MOCKS.resources.clear()
    MOCKS.invokes.clear()
    root = get_root_resource()
    assert root is not None, "set_mocks should have created the root stack"
    root.outputs.clear()  # type: ignore[attr-defined]
    pulumi.runtime.set_all_config(dict(config), [])
    exports: dict[str, Any] = {}

    @pulumi.runtime.test
    def program() -> pulumi.Output[None]:
        # The same call the CLI makes: the folder run as __main__.
        runpy.run_path(str(program_dir), run_name="__main__")

        # Returned, so the test runner waits until every output has resolved.
        outputs = pulumi.Output.from_input(dict(root.outputs))  # type: ignore[attr-defined]
        return outputs.apply(exports.update)

    try:
        program()
    finally:
        pulumi.runtime.set_all_config({}, [])
    return ProgramRun(list(MOCKS.resources), list(MOCKS.invokes), exports)


def _clear_config_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # The PULUMI_CONFIG* variables are what pulumi.Config falls back to; without them a key
    # left out of the config table is really missing.
    monkeypatch.delenv("PULUMI_CONFIG", raising=False)
    for name in [n for n in os.environ if n.startswith("PULUMI_CONFIG_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def run_program(
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[[Mapping[str, str]], ProgramRun]]:
    """Run the real entry point, stacks/__main__.py, under the mocks with the given config.

    Config is set with ``set_all_config``, the runtime's own table the ``pulumi.Config`` getters
    read first.
    """
    _clear_config_env(monkeypatch)
    yield _execute


def load_bootstrap_file(stack: str = "ci") -> dict[str, Any]:
    """The parsed bootstrap/Pulumi.<stack>.yaml."""
    with (BOOTSTRAP_DIR / f"Pulumi.{stack}.yaml").open(encoding="utf-8") as file:
        return yaml.safe_load(file)


@pytest.fixture
def run_bootstrap(
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[..., ProgramRun]]:
    """Run the real bootstrap entry point, bootstrap/__main__.py, under the mocks.

    Called with no argument it takes bootstrap/Pulumi.ci.yaml as it is; ``changes`` (keys
    without the ``fds-bootstrap:`` prefix, ``None`` to remove one) alter a copy of it.
    """
    _clear_config_env(monkeypatch)

    def run(changes: Mapping[str, Any] | None = None) -> ProgramRun:
        config = dict(load_bootstrap_file()["config"])
        for name, value in (changes or {}).items():
            key = name if ":" in name else f"fds-bootstrap:{name}"
            if value is None:
                config.pop(key)
            else:
                config[key] = value
        return _execute(cli_config(config), BOOTSTRAP_DIR)

    yield run


@pytest.fixture(scope="session")
def stack_runs() -> dict[str, ProgramRun]:
    """One run of the program per stack file, shared by the tests that only read the record."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        _clear_config_env(monkeypatch)
        return {stack: _execute(cli_config(load_stack_file(stack)["config"])) for stack in STACKS}


@pytest.fixture
def deployed(stack: str, stack_runs: dict[str, ProgramRun]) -> ProgramRun:
    """The record of the program run with each stack file's config."""
    return stack_runs[stack]
