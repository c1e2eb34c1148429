"""API: Lambda from the bundle, its log group, and the throttled HTTP API in front."""

from __future__ import annotations

from pathlib import Path

import pytest
from umwi_core.settings import load_settings

from tests.stacks.stack import Stack


def test_function_runs_the_bundle_with_the_documented_runtime(
    each_stack: Stack, lambda_bundle: Path
) -> None:
    function = each_stack.inputs("lambda/function:Function", "api")
    assert function["name"] == f"umwi-{each_stack.env}-api"
    assert function["code"] == {"fileArchive": str(lambda_bundle)}
    assert function["runtime"] == "python3.12"
    assert function["architectures"] == ["x86_64"]
    assert function["handler"] == "umwi_api.lambda_handler.handler"
    assert function["timeout"] < 30  # under API Gateway's own limit
    assert function["loggingConfig"]["logGroup"] == f"/aws/lambda/umwi-{each_stack.env}-api"


def test_reserved_concurrency_per_environment(dev: Stack, prod: Stack) -> None:
    assert dev.inputs("lambda/function:Function", "api")["reservedConcurrentExecutions"] == 2
    assert prod.inputs("lambda/function:Function", "api")["reservedConcurrentExecutions"] == 20


def test_function_environment_is_valid_aws_settings(
    each_stack: Stack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    variables = each_stack.inputs("lambda/function:Function", "api")["environment"]["variables"]
    assert variables["UMWI_ENV"] == "aws"
    assert variables["UMWI_LAKE_URI"] == each_stack.outputs["lakeUri"]
    assert variables["UMWI_CACHE_TABLE"] == each_stack.outputs["cacheTable"]
    assert variables["UMWI_LEDGER_TABLE"] == each_stack.outputs["ledgerTable"]
    assert variables["UMWI_ALERTS_TOPIC_ARN"] == each_stack.outputs["alertsTopicArn"]
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.resolved_lake_uri == each_stack.outputs["lakeUri"]
    assert settings.aws_region == "eu-west-1"


def test_log_groups_have_retention(dev: Stack, prod: Stack) -> None:
    for stack, days in ((dev, 7), (prod, 90)):
        groups = stack.all("cloudwatch/logGroup:LogGroup")
        assert {g["inputs"]["name"] for g in groups} == {
            f"/aws/lambda/umwi-{stack.env}-api",
            f"/umwi/{stack.env}/http-api",
            f"/umwi/{stack.env}/flows",
        }
        for group in groups:
            assert group["inputs"]["retentionInDays"] == days, group["name"]


def test_http_api_is_throttled_and_logs_access(dev: Stack, prod: Stack) -> None:
    for stack, rate, burst in ((dev, 5, 10), (prod, 50, 100)):
        stage = stack.inputs("apigatewayv2/stage:Stage", "http-api-stage")
        assert stage["name"] == "$default"
        assert stage["defaultRouteSettings"] == {
            "throttlingRateLimit": rate,
            "throttlingBurstLimit": burst,
        }
        assert stage["accessLogSettings"]["destinationArn"].endswith(
            f":log-group:/umwi/{stack.env}/http-api"
        )
        assert stack.outputs["apiUrl"].startswith("https://")


def test_http_api_proxies_every_route_to_the_function(each_stack: Stack) -> None:
    api = each_stack.inputs("apigatewayv2/api:Api", "http-api")
    assert api["protocolType"] == "HTTP"
    integration = each_stack.inputs("apigatewayv2/integration:Integration", "http-api-lambda")
    assert integration["integrationType"] == "AWS_PROXY"
    assert integration["payloadFormatVersion"] == "2.0"
    target = f":function:umwi-{each_stack.env}-api" + (":live" if each_stack.env == "prod" else "")
    assert integration["integrationUri"].endswith(target)
    route = each_stack.inputs("apigatewayv2/route:Route", "http-api-default-route")
    assert route["routeKey"] == "$default"
    assert route["target"] == "integrations/http-api-lambda-id"


def test_prod_keeps_a_warm_environment_dev_pays_cold_starts(dev: Stack, prod: Stack) -> None:
    """Prod: a published version behind the `live` alias with provisioned concurrency, and
    the API invoking that alias (invoking $LATEST would bypass the warm environment).

    Mutation: point the integration back at `function.invoke_arn` and this fails."""
    function = prod.inputs("lambda/function:Function", "api")
    assert function["publish"] is True
    alias = prod.inputs("lambda/alias:Alias", "api-live")
    assert alias == {"name": "live", "functionName": "umwi-prod-api", "functionVersion": "1"}
    warm = prod.inputs(
        "lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig", "api-warm"
    )
    assert warm["qualifier"] == "live"
    assert 0 < warm["provisionedConcurrentExecutions"] <= function["reservedConcurrentExecutions"]
    permission = prod.inputs("lambda/permission:Permission", "http-api-invoke")
    assert permission["qualifier"] == "live"
    assert dev.inputs("lambda/function:Function", "api")["publish"] is False
    assert dev.all("lambda/alias:Alias") == []
    assert dev.all("provisionedConcurrencyConfig:ProvisionedConcurrencyConfig") == []


def test_only_this_api_may_invoke_the_function(each_stack: Stack) -> None:
    permission = each_stack.inputs("lambda/permission:Permission", "http-api-invoke")
    assert permission["principal"] == "apigateway.amazonaws.com"
    assert permission["action"] == "lambda:InvokeFunction"
    assert permission["sourceArn"].endswith(":abc123/*/*")


DASHBOARD_ORIGIN = "https://d111111abcdef8.cloudfront.net"  # the mocked distribution


def test_gateway_and_function_allow_the_same_origins_dashboard_first(
    dev: Stack, prod: Stack
) -> None:
    """API Gateway answers CORS itself, so its allow-list must be the function's.

    Mutation: drop `dashboard.url` from `cors_policy` in _program.py (or hard-code the
    Lambda's UMWI_API_CORS_ORIGINS to `umwi:corsOrigins`) and this fails."""
    expected = {
        "dev": [DASHBOARD_ORIGIN, "http://localhost:8000", "http://127.0.0.1:8000"],
        "prod": [DASHBOARD_ORIGIN, "https://dashboard.example.org"],
    }
    for stack in (dev, prod):
        gateway = stack.inputs("apigatewayv2/api:Api", "http-api")["corsConfiguration"]
        variables = stack.inputs("lambda/function:Function", "api")["environment"]["variables"]
        assert gateway["allowOrigins"] == expected[stack.env]
        assert variables["UMWI_API_CORS_ORIGINS"].split(",") == gateway["allowOrigins"]
        assert stack.outputs["dashboardUrl"] == DASHBOARD_ORIGIN
        assert "*" not in gateway["allowOrigins"]
        # What web/app.js reads cross-origin.
        assert set(gateway["exposeHeaders"]) == {"X-Total-Count", "ETag", "X-Request-Id"}
        assert gateway["allowMethods"] == ["GET"]
        assert gateway["allowHeaders"] == ["if-none-match"]


def test_gateway_cors_is_the_shared_policy(dev: Stack, prod: Stack) -> None:
    """One function (umwi_core.cors.cors_policy) writes both; the stack adds nothing."""
    from umwi_core.cors import cors_policy

    extras = {
        "dev": ["http://localhost:8000", "http://127.0.0.1:8000"],
        "prod": ["https://dashboard.example.org"],
    }
    for stack in (dev, prod):
        policy = cors_policy(stack.outputs["dashboardUrl"], extras[stack.env])
        gateway = stack.inputs("apigatewayv2/api:Api", "http-api")["corsConfiguration"]
        assert gateway == {
            "allowOrigins": list(policy.origins),
            "allowMethods": list(policy.allowed_methods),
            "allowHeaders": [h.lower() for h in policy.allowed_headers],
            "exposeHeaders": list(policy.exposed_headers),
            "maxAge": policy.max_age_s,
        }
        variables = stack.inputs("lambda/function:Function", "api")["environment"]["variables"]
        assert policy.environment().items() <= variables.items()
