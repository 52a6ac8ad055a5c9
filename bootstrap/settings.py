"""The bootstrap stack's configuration, read once into a typed, validated model."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Annotated, Any

import pulumi
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from components.config_values import decode_json_text
from components.state_backend import StateBackend, parse_backend_url

logger = logging.getLogger(__name__)

#: The project's config namespace; the field aliases below spell it out, as pydantic needs.
NAMESPACE = "fds-bootstrap"

#: An environment or branch name as GitHub's `sub` claim carries it; no wildcards, since each
#: one widens who may assume an administrator role.
ClaimName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._/-]+$")]
PolicyArn = Annotated[
    str, StringConstraints(pattern=r"^arn:aws[a-z-]*:iam::(aws|\d{12}):policy/.+$")
]


class BootstrapConfigError(Exception):
    """The bootstrap stack's config lacks a key or holds a value the program cannot use."""


class BootstrapSettings(BaseModel):
    """Who may assume the CI roles, with what rights, and where the stacks' state is."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", validate_by_alias=True, validate_by_name=True
    )

    repository: str = Field(
        alias="fds-bootstrap:githubRepository",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$",
        description="The GitHub repository, owner/name; its workflows alone get the roles.",
    )
    deploy_environments: list[ClaimName] = Field(
        alias="fds-bootstrap:deployEnvironments",
        description="GitHub environments whose jobs may assume the deploy role.",
    )
    deploy_branches: list[ClaimName] = Field(
        alias="fds-bootstrap:deployBranches",
        description="Branches whose jobs may assume the deploy role without an environment.",
    )
    deploy_policy_arns: list[PolicyArn] = Field(
        alias="fds-bootstrap:deployPolicyArns",
        min_length=1,
        description="Managed policies of the deploy role.",
    )
    preview_policy_arns: list[PolicyArn] = Field(
        alias="fds-bootstrap:previewPolicyArns",
        min_length=1,
        description="Managed policies of the read-only preview role.",
    )
    state_backend: str = Field(
        alias="fds-bootstrap:stateBackend",
        description="The stacks' PULUMI_BACKEND_URL: https://api.pulumi.com or s3://<bucket>.",
    )
    existing_provider_arn: str = Field(
        alias="fds-bootstrap:existingProviderArn",
        pattern=r"^(arn:aws[a-z-]*:iam::\d{12}:oidc-provider/token\.actions\.githubusercontent"
        r"\.com)?$",
        description="The account's GitHub OIDC provider if it exists already; empty creates it.",
    )

    @field_validator(
        "deploy_environments",
        "deploy_branches",
        "deploy_policy_arns",
        "preview_policy_arns",
        mode="before",
    )
    @classmethod
    def _decode_json_list(cls, value: Any) -> Any:
        return decode_json_text(value)

    @field_validator("state_backend")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        parse_backend_url(value)  # its ValueError becomes this key's validation error
        return value

    @property
    def backend(self) -> StateBackend:
        """The parsed state backend."""
        return parse_backend_url(self.state_backend)


def config_keys() -> tuple[str, ...]:
    """Every config key the settings are read from."""
    return tuple(f.alias or name for name, f in BootstrapSettings.model_fields.items())


def parse_settings(raw: Mapping[str, object], stack: str) -> BootstrapSettings:
    """Validate config values, keyed by full config key.

    Raises:
        BootstrapConfigError: listing every missing or invalid key and how to set it.
    """
    try:
        settings = BootstrapSettings.model_validate(dict(raw))
    except ValidationError as error:
        lines = []
        for detail in error.errors():
            key = str(detail["loc"][0]) if detail["loc"] else "?"
            problem = "is not set" if detail["type"] == "missing" else detail["msg"]
            lines.append(
                f"Pulumi config key {key}: {problem}; set it in bootstrap/Pulumi.{stack}.yaml "
                f"or with `pulumi config set {key} <value> --stack {stack}` in bootstrap/"
            )
        raise BootstrapConfigError(
            f"bootstrap stack {stack} has unusable config:\n" + "\n".join(lines)
        ) from error
    if not settings.deploy_environments and not settings.deploy_branches:
        raise BootstrapConfigError(
            f"bootstrap stack {stack}: {NAMESPACE}:deployEnvironments and "
            f"{NAMESPACE}:deployBranches are both empty, so no workflow could deploy; name the "
            "environments the deploy jobs run in (dev, prod)"
        )
    return settings


def load_settings() -> BootstrapSettings:
    """Read the current bootstrap stack's config, once.

    Raises:
        BootstrapConfigError: if a key is missing or invalid.
    """
    config = pulumi.Config(NAMESPACE)
    raw: dict[str, object] = {}
    for key in config_keys():
        value = config.get(key.split(":", 1)[1])
        if value is not None:
            raw[key] = value
    settings = parse_settings(raw, pulumi.get_stack())
    logger.info("bootstrap settings loaded for %s", settings.repository)
    return settings
