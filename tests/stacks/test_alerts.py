"""SNS: the alerts topic is encrypted and e-mails come only from config."""

from __future__ import annotations

import json

from umwi_core.naming import resource_names

from tests.stacks.stack import Stack
from tests.stacks.synth import ACCOUNT_ID, REGION


def test_topic_is_encrypted_and_named(each_stack: Stack) -> None:
    topic = each_stack.inputs("sns/topic:Topic", "alerts")
    names = resource_names(each_stack.env, ACCOUNT_ID)
    assert topic["name"] == names.alerts_topic
    assert topic["kmsMasterKeyId"] == "alias/aws/sns"
    assert each_stack.outputs["alertsTopicArn"] == names.topic_arn(REGION, ACCOUNT_ID)


def test_email_subscriptions_follow_config(dev: Stack, prod: Stack) -> None:
    assert dev.all("sns/topicSubscription:TopicSubscription") == []
    subscriptions = prod.all("sns/topicSubscription:TopicSubscription")
    assert sorted(s["inputs"]["endpoint"] for s in subscriptions) == [
        "data@example.org",
        "ops@example.org",
    ]
    for subscription in subscriptions:
        assert subscription["inputs"]["protocol"] == "email"
        assert subscription["inputs"]["topic"] == prod.outputs["alertsTopicArn"]
        # Logical names must not carry the address (URNs show up in logs and the UI).
        assert "@" not in subscription["name"]


def test_topic_refuses_publishing_without_tls(each_stack: Stack) -> None:
    policy = each_stack.inputs("sns/topicPolicy:TopicPolicy", "alerts-policy")
    assert policy["arn"] == each_stack.outputs["alertsTopicArn"]
    (statement,) = json.loads(policy["policy"])["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Action"] == ["sns:Publish"]
    assert statement["Resource"] == [each_stack.outputs["alertsTopicArn"]]
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
