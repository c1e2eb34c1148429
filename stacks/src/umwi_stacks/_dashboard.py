"""Dashboard hosting: a private S3 bucket served only through CloudFront."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
from umwi_core.naming import ResourceNames

from umwi_stacks._bucket import SecureBucket
from umwi_stacks._config import StackConfig
from umwi_stacks._policy import Statement

# AWS-managed CloudFront policies (stable ids documented by AWS).
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
SECURITY_HEADERS = "67f7725c-6f97-4210-82d7-5512b31e9d03"


class Dashboard(pulumi.ComponentResource):
    bucket: aws.s3.Bucket
    distribution: aws.cloudfront.Distribution
    url: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        names: ResourceNames,
        config: StackConfig,
        log_bucket: aws.s3.Bucket,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("umwi:stacks:Dashboard", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        access_control = aws.cloudfront.OriginAccessControl(
            "dashboard-oac",
            name=f"{names.prefix}-dashboard",
            description="CloudFront signs every request to the dashboard bucket",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
            opts=child,
        )
        # The bucket policy names the distribution, and the distribution names the
        # bucket: create the distribution from the bucket name alone, then the policy.
        bucket_name = names.dashboard_bucket
        origin_id = "dashboard-bucket"
        self.distribution = aws.cloudfront.Distribution(
            "dashboard-cdn",
            enabled=True,
            comment=f"{names.prefix} dashboard",
            default_root_object="index.html",
            price_class="PriceClass_100",
            http_version="http2and3",
            is_ipv6_enabled=True,
            origins=[
                {
                    "origin_id": origin_id,
                    "domain_name": f"{bucket_name}.s3.{config.region}.amazonaws.com",
                    "origin_access_control_id": access_control.id,
                }
            ],
            default_cache_behavior={
                "target_origin_id": origin_id,
                "viewer_protocol_policy": "redirect-to-https",
                "allowed_methods": ["GET", "HEAD"],
                "cached_methods": ["GET", "HEAD"],
                "compress": True,
                "cache_policy_id": CACHING_OPTIMIZED,
                "response_headers_policy_id": SECURITY_HEADERS,
            },
            restrictions={"geo_restriction": {"restriction_type": "none"}},
            viewer_certificate={"cloudfront_default_certificate": True},
            tags=config.tags,
            opts=child,
        )
        distribution_arn = self.distribution.arn

        def read_through_cloudfront(bucket_arn: pulumi.Output[str]) -> list[Statement]:
            return [
                {
                    "Sid": "CloudFrontReadsDashboard",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudfront.amazonaws.com"},
                    "Action": ["s3:GetObject"],
                    "Resource": [pulumi.Output.concat(bucket_arn, "/*")],
                    "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
                }
            ]

        hosting = SecureBucket(
            "dashboard",
            bucket_name=bucket_name,
            config=config,
            # CloudFront's origin access control reads SSE-S3 objects without a key grant.
            encryption="AES256",
            log_target=log_bucket,
            log_prefix="dashboard/",
            policy_statements=read_through_cloudfront,
            opts=child,
        )
        self.bucket = hosting.bucket
        self.url = pulumi.Output.concat("https://", self.distribution.domain_name)
        self.register_outputs({"url": self.url, "bucket": self.bucket.bucket})
