"""Run the Pulumi program under `pulumi.runtime.set_mocks`; print what it declared as JSON.

Run as a script, away from the test process, because Pulumi's runtime settings, config
and root stack are process-wide:

    python tests/stacks/synth.py '{"<key>": ["<stack>", {<config overrides>}], ...}'

Variants run one after the other in that process (resetting the root stack, config and
mocks in between), sharing the slow Pulumi imports. Output, per key:
{"resources": [{type, name, custom, inputs, parent, protect, retainOnDelete,
dependencies}], "outputs": {...}}, or {"error": "..."} when the program refuses its config.
"""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path
from typing import Any

import pulumi
import yaml  # type: ignore[import-untyped]
from pulumi.runtime import mocks, settings

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT_ID = "123456789012"
REGION = "eu-west-1"


def _arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT_ID}:{resource}"


def computed_state(typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """What AWS would fill in after create: realistic ARNs/URLs for the type."""
    physical = inputs.get("name") or inputs.get("bucket") or name
    state: dict[str, Any] = {}
    if typ == "aws:s3/bucket:Bucket":
        state["arn"] = f"arn:aws:s3:::{physical}"
        state["bucketRegionalDomainName"] = f"{physical}.s3.{REGION}.amazonaws.com"
    elif typ == "aws:dynamodb/table:Table":
        state["arn"] = _arn("dynamodb", f"table/{physical}")
    elif typ == "aws:sns/topic:Topic":
        state["arn"] = _arn("sns", physical)
    elif typ == "aws:cloudwatch/logGroup:LogGroup":
        state["arn"] = _arn("logs", f"log-group:{physical}")
    elif typ == "aws:iam/role:Role":
        state["arn"] = f"arn:aws:iam::{ACCOUNT_ID}:role/{physical}"
    elif typ == "aws:secretsmanager/secret:Secret":
        state["arn"] = _arn("secretsmanager", f"secret:{physical}-AbCdEf")
    elif typ == "aws:ecr/repository:Repository":
        state["arn"] = _arn("ecr", f"repository/{physical}")
        state["repositoryUrl"] = f"{ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/{physical}"
    elif typ == "aws:ecs/cluster:Cluster":
        state["arn"] = _arn("ecs", f"cluster/{physical}")
    elif typ == "aws:ecs/taskDefinition:TaskDefinition":
        state["arn"] = _arn("ecs", f"task-definition/{inputs.get('family')}:1")
    elif typ == "aws:lambda/function:Function":
        state["arn"] = _arn("lambda", f"function:{physical}")
        state["invokeArn"] = f"arn:aws:apigateway:{REGION}:lambda:path/{state['arn']}"
        state["version"] = "1" if inputs.get("publish") else "$LATEST"
    elif typ == "aws:lambda/alias:Alias":
        function = inputs.get("functionName")
        state["arn"] = _arn("lambda", f"function:{function}:{physical}")
        state["invokeArn"] = f"arn:aws:apigateway:{REGION}:lambda:path/{state['arn']}"
    elif typ == "aws:apigatewayv2/api:Api":
        state["apiEndpoint"] = f"https://abc123.execute-api.{REGION}.amazonaws.com"
        state["executionArn"] = _arn("execute-api", "abc123")
    elif typ == "aws:apigatewayv2/stage:Stage":
        state["invokeUrl"] = f"https://abc123.execute-api.{REGION}.amazonaws.com/"
    elif typ == "aws:emrserverless/application:Application":
        state["arn"] = _arn("emr-serverless", f"/applications/{name}-id")
    elif typ == "aws:cloudfront/distribution:Distribution":
        state["arn"] = f"arn:aws:cloudfront::{ACCOUNT_ID}:distribution/E2EXAMPLE"
        state["domainName"] = "d111111abcdef8.cloudfront.net"
    return state


def plain(value: Any) -> Any:
    """Inputs as JSON: archives become {"fileArchive": path}."""
    if isinstance(value, pulumi.FileArchive):
        return {"fileArchive": value.path}
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[dict[str, Any]] = []

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        state = {**args.inputs, **computed_state(args.typ, args.name, args.inputs)}
        self.resources.append(
            {
                "type": args.typ,
                "name": args.name,
                "custom": bool(args.custom),
                "inputs": plain(args.inputs),
            }
        )
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT_ID,
                "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/ci",
                "userId": "AIDAEXAMPLE",
                "id": ACCOUNT_ID,
            }, []
        raise NotImplementedError(f"the program called an unmocked function {args.token}")


class RecordingMonitor(mocks.MockMonitor):
    """Keeps the resource options the plain mocks do not pass on (protect, retain...)."""

    def __init__(self, recorder: RecordingMocks) -> None:
        super().__init__(recorder)
        self.options: dict[tuple[str, str], dict[str, Any]] = {}

    def RegisterResource(self, request: Any) -> Any:
        self.options[(request.type, request.name)] = {
            "parent": request.parent,
            "protect": bool(request.protect),
            "retainOnDelete": bool(request.retainOnDelete),
            "ignoreChanges": list(request.ignoreChanges),
            "dependencies": list(request.dependencies),
        }
        return super().RegisterResource(request)  # type: ignore[no-untyped-call]


def stack_config(stack: str, overrides: dict[str, Any]) -> dict[str, str]:
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    values = {**(document.get("config") or {}), **overrides}
    # The engine hands structured values to the program as JSON text.
    return {
        key: value if isinstance(value, str) else json.dumps(value)
        for key, value in values.items()
        if value is not None
    }


def synthesize(stack: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """Run the program for `stack`; with the override `"entrypoint": true`, run it the way
    Pulumi does (stacks/__main__.py, outputs through `pulumi.export`)."""
    from umwi_stacks import StackConfigError, build_stack

    overrides = dict(overrides)
    entrypoint = bool(overrides.pop("entrypoint", False))

    # A fresh root stack, config and monitor per variant.
    settings.ROOT.set(None)
    pulumi.runtime.set_all_config(stack_config(stack, overrides))
    recorder = RecordingMocks()
    monitor = RecordingMonitor(recorder)
    pulumi.runtime.set_mocks(recorder, project="umwi", stack=stack, preview=False, monitor=monitor)
    result: dict[str, Any] = {}

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def program() -> pulumi.Output[Any]:
        if entrypoint:
            runpy.run_path(str(ROOT / "stacks" / "__main__.py"), run_name="__main__")
            root = settings.get_root_resource()
            outputs = dict(getattr(root, "outputs", {}))
        else:
            outputs = build_stack(ROOT)
        return pulumi.Output.from_input(outputs).apply(lambda value: result.update(value))

    try:
        program()
    except StackConfigError as error:
        return {"error": str(error)}
    for resource in recorder.resources:
        resource.update(monitor.options.get((resource["type"], resource["name"]), {}))
    return {"resources": recorder.resources, "outputs": result}


if __name__ == "__main__":
    requested: dict[str, list[Any]] = json.loads(sys.argv[1])
    report = {key: synthesize(stack, overrides) for key, (stack, overrides) in requested.items()}
    json.dump(report, sys.stdout, default=str)
