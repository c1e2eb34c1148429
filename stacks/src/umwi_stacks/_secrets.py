"""Secrets Manager entries for the source tokens and the Prefect API key
(the list is umwi_core.deployment.SECRETS, shared with the flow deployments)."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
from umwi_core.deployment import SECRETS, FlowSecret
from umwi_core.naming import ResourceNames

from umwi_stacks._config import StackConfig


class Secrets(pulumi.ComponentResource):
    """One secret per spec.

    A value is stored only when the stack has it as an encrypted `pulumi config set
    --secret`; otherwise the secret starts empty and is filled out of band with
    `aws secretsmanager put-secret-value`, so the value never passes through Pulumi.
    """

    by_key: dict[str, aws.secretsmanager.Secret]
    specs: tuple[FlowSecret, ...]

    def __init__(
        self,
        name: str,
        *,
        names: ResourceNames,
        config: StackConfig,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("umwi:stacks:Secrets", name, None, opts)
        self.specs = SECRETS
        self.by_key = {}
        for spec in self.specs:
            secret = aws.secretsmanager.Secret(
                f"secret-{spec.key}",
                name=spec.name(names),
                # Dev secrets go at once so the stack can be recreated under the same names.
                recovery_window_in_days=30 if config.retain_data else 0,
                tags={**config.tags, "Name": spec.name(names)},
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=config.retain_data),
            )
            value = config.secret_values.get(spec.key)
            if value is not None:
                aws.secretsmanager.SecretVersion(
                    f"secret-{spec.key}-value",
                    secret_id=secret.id,
                    secret_string=value,
                    opts=pulumi.ResourceOptions(parent=self, retain_on_delete=config.retain_data),
                )
            self.by_key[spec.key] = secret
        self.register_outputs({key: secret.arn for key, secret in self.by_key.items()})
