"""The HTTP API: the FastAPI app on Lambda behind an API Gateway HTTP API."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
from umwi_core.cors import ORIGINS_VARIABLE, CorsPolicy
from umwi_core.naming import ResourceNames

from umwi_stacks._config import StackConfig
from umwi_stacks._policy import allow, assume_role, document

HANDLER = "umwi_api.lambda_handler.handler"
RUNTIME = "python3.12"  # DuckDB 1.5.5 wheels need glibc >= 2.28 (Amazon Linux 2023)
ARCHITECTURE = "x86_64"
# The API only serves published gold: the pointer and the serving copies under it.
GOLD_PREFIX = "lake/gold/"


def _gateway_cors(policy: CorsPolicy) -> aws.apigatewayv2.ApiCorsConfigurationArgsDict:
    configuration = policy.gateway_configuration()
    return {
        "allow_origins": configuration["allow_origins"],
        "allow_methods": configuration["allow_methods"],
        "allow_headers": configuration["allow_headers"],
        "expose_headers": configuration["expose_headers"],
        "max_age": configuration["max_age"],
    }


class Api(pulumi.ComponentResource):
    function: aws.lambda_.Function
    http_api: aws.apigatewayv2.Api
    stage: aws.apigatewayv2.Stage
    url: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        names: ResourceNames,
        config: StackConfig,
        account_id: str,
        lake_bucket: aws.s3.Bucket,
        ledger_table: aws.dynamodb.Table,
        cache_table: aws.dynamodb.Table,
        topic: aws.sns.Topic,
        cors: pulumi.Output[CorsPolicy],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("umwi:stacks:Api", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        log_group = aws.cloudwatch.LogGroup(
            "api-logs",
            # Lambda writes here by convention; creating it ourselves sets the retention.
            name=f"/aws/lambda/{names.api_function}",
            retention_in_days=config.log_retention_days,
            tags=config.tags,
            opts=child,
        )
        role = aws.iam.Role(
            "api-role",
            name=f"{names.api_function}-lambda",
            assume_role_policy=assume_role("lambda.amazonaws.com", account_id),
            tags=config.tags,
            opts=child,
        )
        role_policy = aws.iam.RolePolicy(
            "api-role-policy",
            role=role.id,
            policy=document(
                [
                    allow(
                        "WriteOwnLogs",
                        ["logs:CreateLogStream", "logs:PutLogEvents"],
                        [pulumi.Output.concat(log_group.arn, ":*")],
                    ),
                    allow(
                        "ReadPublishedGold",
                        ["s3:GetObject"],
                        [pulumi.Output.concat(lake_bucket.arn, "/", GOLD_PREFIX, "*")],
                    ),
                    allow(
                        "ListPublishedGold",
                        ["s3:ListBucket"],
                        [lake_bucket.arn],
                        Condition={"StringLike": {"s3:prefix": [GOLD_PREFIX, f"{GOLD_PREFIX}*"]}},
                    ),
                    allow(
                        "UseResultCache",
                        ["dynamodb:GetItem", "dynamodb:PutItem"],
                        [cache_table.arn],
                    ),
                ]
            ),
            opts=child,
        )
        self.function = aws.lambda_.Function(
            "api",
            name=names.api_function,
            role=role.arn,
            runtime=RUNTIME,
            architectures=[ARCHITECTURE],
            handler=HANDLER,
            code=pulumi.FileArchive(str(config.api_bundle)),
            memory_size=config.api_memory_mb,
            # API Gateway gives up after 30 s; a longer Lambda would only burn money.
            timeout=29,
            reserved_concurrent_executions=config.api_reserved_concurrency,
            # Provisioned concurrency needs a published version behind an alias.
            publish=config.api_provisioned_concurrency > 0,
            environment={
                "variables": {
                    "UMWI_ENV": "aws",
                    "UMWI_AWS_REGION": config.region,
                    "UMWI_LAKE_URI": names.lake_uri(),
                    "UMWI_LEDGER_TABLE": ledger_table.name,
                    "UMWI_CACHE_TABLE": cache_table.name,
                    "UMWI_ALERTS_TOPIC_ARN": topic.arn,
                    # The same allow-list as the gateway's (umwi_core.cors).
                    ORIGINS_VARIABLE: cors.apply(lambda p: p.environment()[ORIGINS_VARIABLE]),
                    # The only writable folder on Lambda.
                    "UMWI_STATE_DIR": "/tmp/umwi",  # noqa: S108
                }
            },
            logging_config={"log_format": "Text", "log_group": log_group.name},
            tags=config.tags,
            # The first invocations must already find their permissions in place.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group, role_policy]),
        )
        access_logs = aws.cloudwatch.LogGroup(
            "api-access-logs",
            name=f"/umwi/{config.env}/http-api",
            retention_in_days=config.log_retention_days,
            tags=config.tags,
            opts=child,
        )
        self.http_api = aws.apigatewayv2.Api(
            "http-api",
            name=names.api_gateway,
            protocol_type="HTTP",
            # The gateway answers CORS itself and drops the function's CORS headers.
            cors_configuration=cors.apply(_gateway_cors),
            tags=config.tags,
            opts=child,
        )
        # Prod keeps warm environments (its init already ran: no cold import on a request);
        # SnapStart is not used because the init phase opens the DuckDB store with the
        # init-time credentials, which a snapshot would carry into later restores.
        invoke_arn = self.function.invoke_arn
        qualifier: pulumi.Input[str] | None = None
        if config.api_provisioned_concurrency > 0:
            alias = aws.lambda_.Alias(
                "api-live",
                name="live",
                function_name=self.function.name,
                function_version=self.function.version,
                opts=child,
            )
            aws.lambda_.ProvisionedConcurrencyConfig(
                "api-warm",
                function_name=self.function.name,
                qualifier=alias.name,
                provisioned_concurrent_executions=config.api_provisioned_concurrency,
                opts=child,
            )
            invoke_arn = alias.invoke_arn
            qualifier = alias.name
        integration = aws.apigatewayv2.Integration(
            "http-api-lambda",
            api_id=self.http_api.id,
            integration_type="AWS_PROXY",
            integration_uri=invoke_arn,
            payload_format_version="2.0",
            opts=child,
        )
        aws.apigatewayv2.Route(
            "http-api-default-route",
            api_id=self.http_api.id,
            route_key="$default",
            target=pulumi.Output.concat("integrations/", integration.id),
            opts=child,
        )
        self.stage = aws.apigatewayv2.Stage(
            "http-api-stage",
            api_id=self.http_api.id,
            name="$default",
            auto_deploy=True,
            default_route_settings={
                "throttling_rate_limit": config.api_throttle_rate,
                "throttling_burst_limit": config.api_throttle_burst,
            },
            access_log_settings={
                "destination_arn": access_logs.arn,
                "format": (
                    '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",'
                    '"method":"$context.httpMethod","path":"$context.path",'
                    '"status":"$context.status","latencyMs":"$context.responseLatency"}'
                ),
            },
            tags=config.tags,
            opts=child,
        )
        aws.lambda_.Permission(
            "http-api-invoke",
            action="lambda:InvokeFunction",
            function=self.function.name,
            qualifier=qualifier,
            principal="apigateway.amazonaws.com",
            # Only this API's routes may invoke the function.
            source_arn=pulumi.Output.concat(self.http_api.execution_arn, "/*/*"),
            opts=child,
        )
        self.url = self.stage.invoke_url
        self.register_outputs({"url": self.url, "function": self.function.name})
