"""The consumer image's registry: an ECR repository that scans each push and ages images out."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.tagging import with_name

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RegistryArgs:
    """The repository's name and how long images stay.

    Attributes:
        repository_name: the ECR repository.
        keep_images: tagged images kept; older ones expire (a rollback needs a few).
        force_delete: let `pulumi destroy` delete the repository with its images (dev).
        tags: tags of the repository.
    """

    repository_name: str
    keep_images: int = 10
    force_delete: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)


class Registry(pulumi.ComponentResource):
    """An ECR repository with scan-on-push, immutable tags and a lifecycle policy."""

    repository_url: pulumi.Output[str]

    def __init__(
        self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("fds:registry:Registry", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        repository = aws.ecr.Repository(
            f"{name}-repository",
            name=args.repository_name,
            # A tag names one image for ever, so the Deployment's tag means what it meant.
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(
                scan_on_push=True
            ),
            encryption_configurations=[
                aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="KMS")
            ],
            force_delete=args.force_delete,
            tags=with_name(args.tags, args.repository_name),
            opts=child,
        )

        aws.ecr.LifecyclePolicy(
            f"{name}-lifecycle",
            repository=repository.name,
            policy=json.dumps(
                {
                    "rules": [
                        {
                            "rulePriority": 1,
                            "description": "Untagged layers of replaced builds go after a day",
                            "selection": {
                                "tagStatus": "untagged",
                                "countType": "sinceImagePushed",
                                "countUnit": "days",
                                "countNumber": 1,
                            },
                            "action": {"type": "expire"},
                        },
                        {
                            "rulePriority": 2,
                            "description": f"Keep the {args.keep_images} newest images",
                            "selection": {
                                "tagStatus": "any",
                                "countType": "imageCountMoreThan",
                                "countNumber": args.keep_images,
                            },
                            "action": {"type": "expire"},
                        },
                    ]
                }
            ),
            opts=child,
        )

        self.repository_url = repository.repository_url
        self.register_outputs({"repositoryUrl": repository.repository_url})
        logger.debug("registry %s declared", args.repository_name)
