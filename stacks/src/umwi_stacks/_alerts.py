"""The SNS topic quality-gate failures are published to, with its e-mail subscribers."""

from __future__ import annotations

import hashlib

import pulumi
import pulumi_aws as aws
from umwi_core.naming import ResourceNames

from umwi_stacks._config import StackConfig
from umwi_stacks._policy import document

SNS_MANAGED_KEY = "alias/aws/sns"


class Alerts(pulumi.ComponentResource):
    topic: aws.sns.Topic

    def __init__(
        self,
        name: str,
        *,
        names: ResourceNames,
        config: StackConfig,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("umwi:stacks:Alerts", name, None, opts)
        self.topic = aws.sns.Topic(
            "alerts",
            name=names.alerts_topic,
            kms_master_key_id=SNS_MANAGED_KEY,
            tags={**config.tags, "Name": names.alerts_topic},
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.sns.TopicPolicy(
            "alerts-policy",
            arn=self.topic.arn,
            # Same-account access comes from IAM policies (the flow task role may
            # publish); the topic itself only refuses anything not sent over TLS.
            policy=document(
                [
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": ["sns:Publish"],
                        "Resource": [self.topic.arn],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ]
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        for email in config.alert_emails:
            # Named by a digest of the address (not its position) so editing the list
            # only touches the changed subscriptions, and no address sits in the URN.
            digest = hashlib.sha256(email.lower().encode()).hexdigest()[:10]
            # Each address must confirm the e-mail AWS sends before it receives alerts.
            aws.sns.TopicSubscription(
                f"alerts-email-{digest}",
                topic=self.topic.arn,
                protocol="email",
                endpoint=email,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({"topicArn": self.topic.arn})
