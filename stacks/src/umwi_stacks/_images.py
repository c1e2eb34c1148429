"""Image repositories the stack owns (the flow image, the Spark job image): one shape for
both, so what the flows repository guarantees holds for every image the stack runs."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from umwi_stacks._config import StackConfig

#: Images each repository keeps; older ones expire (a deploy pushes one per commit).
KEEP_IMAGES = 30


def image_repository(
    logical_name: str, *, name: str, config: StackConfig, parent: pulumi.Resource
) -> aws.ecr.Repository:
    """An ECR repository with immutable tags (a commit's tag always names the same
    image), scanned on push, keeping the last `KEEP_IMAGES` images."""
    repository = aws.ecr.Repository(
        logical_name,
        name=name,
        image_tag_mutability="IMMUTABLE",
        image_scanning_configuration={"scan_on_push": True},
        encryption_configurations=[{"encryption_type": "AES256"}],
        force_delete=not config.retain_data,
        tags=config.tags,
        opts=pulumi.ResourceOptions(parent=parent, retain_on_delete=config.retain_data),
    )
    aws.ecr.LifecyclePolicy(
        f"{logical_name}-lifecycle",
        repository=repository.name,
        policy=json.dumps(
            {
                "rules": [
                    {
                        "rulePriority": 1,
                        "description": f"keep the last {KEEP_IMAGES} images",
                        "selection": {
                            "tagStatus": "any",
                            "countType": "imageCountMoreThan",
                            "countNumber": KEEP_IMAGES,
                        },
                        "action": {"type": "expire"},
                    }
                ]
            }
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return repository
