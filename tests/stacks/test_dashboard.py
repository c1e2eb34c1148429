"""Dashboard hosting: the bucket is readable only by its CloudFront distribution."""

from __future__ import annotations

import json

from umwi_core.naming import resource_names

from tests.stacks.stack import Stack
from tests.stacks.synth import ACCOUNT_ID


def test_distribution_serves_the_bucket_over_https_through_oac(each_stack: Stack) -> None:
    names = resource_names(each_stack.env, ACCOUNT_ID)
    distribution = each_stack.inputs("cloudfront/distribution:Distribution", "dashboard-cdn")
    (origin,) = distribution["origins"]
    assert origin["domainName"] == f"{names.dashboard_bucket}.s3.eu-west-1.amazonaws.com"
    assert origin["originAccessControlId"] == "dashboard-oac-id"
    assert "s3OriginConfig" not in origin  # no legacy origin access identity
    behaviour = distribution["defaultCacheBehavior"]
    assert behaviour["viewerProtocolPolicy"] == "redirect-to-https"
    assert behaviour["allowedMethods"] == ["GET", "HEAD"]
    assert distribution["defaultRootObject"] == "index.html"
    oac = each_stack.inputs("cloudfront/originAccessControl:OriginAccessControl", "dashboard-oac")
    assert oac["originAccessControlOriginType"] == "s3"
    assert oac["signingBehavior"] == "always"
    assert oac["signingProtocol"] == "sigv4"


def test_bucket_policy_admits_only_this_distribution(each_stack: Stack) -> None:
    policy = json.loads(
        each_stack.for_bucket("s3/bucketPolicy:BucketPolicy", "dashboard")["policy"]
    )
    (grant,) = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    bucket = resource_names(each_stack.env, ACCOUNT_ID).dashboard_bucket
    assert grant["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert grant["Action"] == ["s3:GetObject"]
    assert grant["Resource"] == [f"arn:aws:s3:::{bucket}/*"]
    assert grant["Condition"] == {
        "StringEquals": {
            "AWS:SourceArn": f"arn:aws:cloudfront::{ACCOUNT_ID}:distribution/E2EXAMPLE"
        }
    }


def test_outputs_name_the_site_and_its_config(each_stack: Stack) -> None:
    outputs = each_stack.outputs
    assert outputs["dashboardUrl"] == "https://d111111abcdef8.cloudfront.net"
    assert outputs["dashboardBucket"] == resource_names(each_stack.env, ACCOUNT_ID).dashboard_bucket
    assert outputs["dashboardDistributionId"] == "dashboard-cdn-id"
    assert outputs["dashboardConfig"] == {"apiUrl": outputs["apiUrl"]}
