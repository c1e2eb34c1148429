"""Least privilege, checked statement by statement on every policy of every stack."""

from __future__ import annotations

import json
from typing import Any

from umwi_core.naming import resource_names

from tests.stacks.stack import Stack, as_list
from tests.stacks.synth import ACCOUNT_ID, REGION

# Actions AWS does not scope to a resource; "*" is the only resource they accept.
ACCOUNT_WIDE = {
    "ecr:GetAuthorizationToken",
    "ecs:RegisterTaskDefinition",
    "ecs:DescribeTaskDefinition",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
}
DATA_SERVICES = ("s3:", "dynamodb:", "sns:")


def _statements(stack: Stack) -> list[tuple[str, dict[str, Any]]]:
    found = [
        (where, statement)
        for where, document in stack.policies()
        for statement in as_list(document["Statement"])
    ]
    assert len(found) > 20, "the policies were not found"
    return found


def test_no_wildcard_action_anywhere(any_variant: Stack) -> None:
    for where, statement in _statements(any_variant):
        actions = as_list(statement["Action"])
        assert "*" not in actions, where
        if statement["Effect"] == "Allow":
            # Not even a service-wide wildcard is granted.
            assert all("*" not in action for action in actions), (where, actions)


def test_wildcard_resources_only_for_account_wide_actions(any_variant: Stack) -> None:
    for where, statement in _statements(any_variant):
        if statement["Effect"] != "Allow" or "Resource" not in statement:
            continue
        resources = as_list(statement["Resource"])
        actions = as_list(statement["Action"])
        if "*" in resources:
            assert resources == ["*"], where
            assert set(actions) <= ACCOUNT_WIDE, (where, actions)
        for action in actions:
            if action.startswith(DATA_SERVICES):
                for resource in resources:
                    assert resource.startswith("arn:aws:"), (where, resource)
                    assert "*" not in resource.split("/")[0], (where, resource)


def test_public_principal_only_in_deny_statements(any_variant: Stack) -> None:
    for where, statement in _statements(any_variant):
        if statement.get("Principal") == "*" or statement.get("Principal") == {"AWS": "*"}:
            assert statement["Effect"] == "Deny", where


def test_service_roles_trust_their_service_for_this_account_only(each_stack: Stack) -> None:
    expected = {
        "api-role": "lambda.amazonaws.com",
        "flows-execution": "ecs-tasks.amazonaws.com",
        "flows-task": "ecs-tasks.amazonaws.com",
        "prefect-worker": "ecs-tasks.amazonaws.com",
    }
    for role in each_stack.all("iam/role:Role"):
        if role["name"] in ("prefect-push", "github-deploy", "github-preview"):
            continue  # federated trusts, tested with their components
        (trust,) = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"]
        assert trust["Principal"] == {"Service": expected[role["name"]]}
        assert trust["Action"] == "sts:AssumeRole"
        assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID}}


def _by_sid(stack: Stack, policy: str) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in stack.role_statements(policy)}


def _arns(stack: Stack) -> dict[str, str]:
    names = resource_names(stack.env, ACCOUNT_ID)
    return {
        "lake": f"arn:aws:s3:::{names.lake_bucket}",
        "ledger": f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{names.ledger_table}",
        "cache": f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{names.cache_table}",
        "topic": names.topic_arn(REGION, ACCOUNT_ID),
        "flows_logs": f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{names.flows_log_group}:*",
        "cluster": f"arn:aws:ecs:{REGION}:{ACCOUNT_ID}:cluster/{names.ecs_cluster}",
    }


def test_api_reads_published_gold_and_uses_its_cache_only(each_stack: Stack) -> None:
    arns = _arns(each_stack)
    statements = _by_sid(each_stack, "api-role-policy")
    assert set(statements) == {
        "WriteOwnLogs",
        "ReadPublishedGold",
        "ListPublishedGold",
        "UseResultCache",
    }
    assert statements["ReadPublishedGold"]["Action"] == ["s3:GetObject"]
    assert statements["ReadPublishedGold"]["Resource"] == [f"{arns['lake']}/lake/gold/*"]
    assert statements["ListPublishedGold"]["Resource"] == [arns["lake"]]
    assert statements["ListPublishedGold"]["Condition"] == {
        "StringLike": {"s3:prefix": ["lake/gold/", "lake/gold/*"]}
    }
    assert statements["UseResultCache"]["Action"] == ["dynamodb:GetItem", "dynamodb:PutItem"]
    assert statements["UseResultCache"]["Resource"] == [arns["cache"]]
    assert statements["WriteOwnLogs"]["Resource"] == [
        f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:/aws/lambda/umwi-{each_stack.env}-api:*"
    ]


def test_flow_tasks_touch_only_the_lake_ledger_and_topic(each_stack: Stack) -> None:
    arns = _arns(each_stack)
    statements = _by_sid(each_stack, "flows-task-policy")
    assert set(statements) == {"ListLake", "ReadWriteLake", "Ledger", "Alerts"}
    assert statements["ListLake"]["Resource"] == [arns["lake"]]
    assert statements["ReadWriteLake"]["Resource"] == [f"{arns['lake']}/lake/*"]
    assert "s3:DeleteBucket" not in statements["ReadWriteLake"]["Action"]
    assert statements["Ledger"]["Resource"] == [arns["ledger"]]
    assert "dynamodb:Scan" not in statements["Ledger"]["Action"]
    assert statements["Alerts"] == {
        "Sid": "Alerts",
        "Effect": "Allow",
        "Action": ["sns:Publish"],
        "Resource": [arns["topic"]],
    }


def test_execution_role_pulls_our_image_and_reads_our_secrets(each_stack: Stack) -> None:
    arns = _arns(each_stack)
    statements = _by_sid(each_stack, "flows-execution-policy")
    assert set(statements) == {"EcrLogin", "PullFlowImage", "ShipLogs", "InjectSecrets"}
    assert statements["PullFlowImage"]["Resource"] == [
        f"arn:aws:ecr:{REGION}:{ACCOUNT_ID}:repository/umwi-{each_stack.env}-flows"
    ]
    assert statements["ShipLogs"]["Resource"] == [arns["flows_logs"]]
    assert sorted(statements["InjectSecrets"]["Resource"]) == sorted(
        each_stack.outputs["secretArns"].values()
    )


def test_prefect_may_only_run_flow_tasks_on_our_cluster(
    dev: Stack, prod: Stack, dev_private: Stack
) -> None:
    for stack, policy in (
        (dev, "prefect-worker-policy"),
        (prod, "prefect-worker-policy"),
        (dev_private, "prefect-push-policy"),
    ):
        arns = _arns(stack)
        statements = _by_sid(stack, policy)
        run = statements["RunFlowTasks"]
        assert run["Action"] == ["ecs:RunTask"]
        assert run["Resource"] == [
            f"arn:aws:ecs:{REGION}:{ACCOUNT_ID}:task-definition/umwi-{stack.env}-flows:*"
        ]
        assert run["Condition"] == {"ArnEquals": {"ecs:cluster": arns["cluster"]}}
        watch = statements["WatchFlowTasks"]
        assert watch["Resource"] == [
            f"arn:aws:ecs:{REGION}:{ACCOUNT_ID}:task/umwi-{stack.env}-flows/*"
        ]
        pass_role = statements["PassFlowRoles"]
        assert sorted(pass_role["Resource"]) == [
            f"arn:aws:iam::{ACCOUNT_ID}:role/umwi-{stack.env}-flows-execution",
            f"arn:aws:iam::{ACCOUNT_ID}:role/umwi-{stack.env}-flows-task",
        ]
        assert pass_role["Condition"] == {
            "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
        }
        assert statements["ReadFlowLogs"]["Resource"] == [arns["flows_logs"]]
        # Prefect never touches data.
        actions = {a for s in statements.values() for a in as_list(s["Action"])}
        assert not {a for a in actions if a.startswith(DATA_SERVICES)}


def test_flow_tasks_list_only_under_the_lake_prefix(each_stack: Stack) -> None:
    """moto ignores s3:prefix conditions (test_iam_enforced.py), so they are pinned here.

    Mutation: drop the Condition of ListLake in _orchestration.py.
    """
    statements = _by_sid(each_stack, "flows-task-policy")
    assert statements["ListLake"]["Action"] == ["s3:ListBucket"]
    assert statements["ListLake"]["Condition"] == {"StringLike": {"s3:prefix": ["lake/", "lake/*"]}}


def test_prefect_tags_describes_and_registers_only_what_it_must(
    dev: Stack, prod: Stack, dev_private: Stack
) -> None:
    """The ECS statements moto checks against "*" only: their real scopes.

    Mutation: give TagOnCreate the resource "*" or drop its ecs:CreateAction condition.
    """
    for stack, policy in (
        (dev, "prefect-worker-policy"),
        (prod, "prefect-worker-policy"),
        (dev_private, "prefect-push-policy"),
    ):
        statements = _by_sid(stack, policy)
        family = f"arn:aws:ecs:{REGION}:{ACCOUNT_ID}:task-definition/umwi-{stack.env}-flows:*"
        task = f"arn:aws:ecs:{REGION}:{ACCOUNT_ID}:task/umwi-{stack.env}-flows/*"
        tag = statements["TagOnCreate"]
        assert tag["Action"] == ["ecs:TagResource"]
        assert tag["Resource"] == [family, task]
        assert tag["Condition"] == {
            "StringEquals": {"ecs:CreateAction": ["RunTask", "RegisterTaskDefinition"]}
        }
        assert statements["DescribeCluster"]["Resource"] == [_arns(stack)["cluster"]]
        assert statements["WatchFlowTasks"]["Condition"] == {
            "ArnEquals": {"ecs:cluster": _arns(stack)["cluster"]}
        }
        assert statements["TaskDefinitions"]["Resource"] == ["*"]
        assert set(statements["TaskDefinitions"]["Action"]) <= ACCOUNT_WIDE


def _renamed(document: str, env: str) -> str:
    return document.replace(f"umwi-{env}", "umwi-<env>").replace(f"/umwi/{env}/", "/umwi/<env>/")


def test_dev_and_prod_roles_differ_only_in_names(
    dev: Stack, prod: Stack, dev_private: Stack
) -> None:
    """test_iam_enforced.py runs the pipeline and the API as the prod roles only; this is
    what makes that proof hold for dev too.

    Mutation: grant the flow task role one more action when `config.retain_data` is false.
    """
    for policy in ("flows-task-policy", "flows-execution-policy", "api-role-policy"):
        dev_document = dev.inputs("iam/rolePolicy:RolePolicy", policy)["policy"]
        prod_document = prod.inputs("iam/rolePolicy:RolePolicy", policy)["policy"]
        assert _renamed(dev_document, "dev") == _renamed(prod_document, "prod"), policy
    # The Prefect side: the worker's role is the same in both; the push pool's role (opt-in)
    # may do what the worker's may, so the worker's IAM-enforced run covers it too.
    worker = dev.inputs("iam/rolePolicy:RolePolicy", "prefect-worker-policy")["policy"]
    prod_worker = prod.inputs("iam/rolePolicy:RolePolicy", "prefect-worker-policy")["policy"]
    assert _renamed(worker, "dev") == _renamed(prod_worker, "prod")
    push = dev_private.inputs("iam/rolePolicy:RolePolicy", "prefect-push-policy")["policy"]
    assert push == worker
